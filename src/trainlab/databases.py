"""Where a database named by a URI lives: local SQLite files, made absolute against the project.

The ground floor (SQLAlchemy's URL parser only): MLflow's tracking (:mod:`trainlab.tracking`),
Optuna's storage (:mod:`trainlab.search.study`) and the report use the same rules.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def sqlite_file(uri: str) -> str | None:
    """The database file of a local SQLite URI (as written, maybe relative); None for any
    other store (a server, PostgreSQL, an in-memory database)."""
    try:
        url = make_url(uri)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database


def project_root() -> Path:
    """Where relative database paths (`sqlite:///mlflow.db`, `sqlite:///optuna.db`) live: the
    DVC project's root when a stage runs under DVC, else the working directory.

    `dvc exp run --temp` and `dvc queue start` run each stage in a temporary copy of the
    project (.dvc/tmp/exps/...) that is deleted afterwards; DVC sets DVC_ROOT to the project
    it came from (the workspace's root for `dvc repro`), so every experiment tracks into the
    project's own databases.
    """
    return Path(os.environ.get("DVC_ROOT") or ".")


def absolute_uri(uri: str) -> str:
    """The URI, with a relative SQLite path made absolute against :func:`project_root`:
    `sqlite:///mlflow.db` names a different database in every working directory, and MLflow
    caches one store (and its open connections) per URI string, so a process that changes
    directory would keep writing to the first one."""
    database = sqlite_file(uri)
    if database is None:
        return uri
    path = Path(database)
    return "sqlite:///" + str((path if path.is_absolute() else project_root() / path).resolve())
