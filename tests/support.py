"""Helpers several test modules share (importable as `support`: pytest's `pythonpath`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from mlflow.tracking import MlflowClient

from trainlab.tracking import absolute_uri

# The server `make postgres` (scripts/postgres.sh) starts on loopback for the tests.
POSTGRES = "postgresql+psycopg2://trainlab:trainlab@127.0.0.1:5432/trainlab_test"


def postgres_or_skip() -> None:
    try:
        with sqlalchemy.create_engine(POSTGRES).connect():
            pass
    except Exception as err:  # no server, no role: `make postgres` starts one
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(err).__name__})")


def files(root: Path) -> dict[str, str]:
    """sha256 of every file under models/ and reports/, by path."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in ("models", "reports") for path in sorted((root / folder).rglob("*"))
            if path.is_file()}


def runs(params: dict) -> dict[str, Any]:
    """Every MLflow run of the project, by id (read with a fresh client: the database reads)."""
    client = MlflowClient(absolute_uri(params["tracking"]["uri"]))
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    return {r.info.run_id: r for r in client.search_runs([experiment.experiment_id])}
