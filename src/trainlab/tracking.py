"""MLflow: experiments, runs that always end with a final status, params and artifacts.

A run is opened by :func:`tracked_run`, which guarantees the run ends FINISHED, FAILED
(with the reason as a tag) or KILLED (Ctrl-C, SIGTERM), never left RUNNING by trainlab
itself. A `kill -9` cannot be caught; the search marks such runs KILLED when it resumes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.time import get_current_time_millis

from trainlab.config.schema import TrackingConfig
from trainlab.databases import absolute_uri, sqlite_file
from trainlab.errors import ConfigError

PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI groups nested runs by
CONFIG_TAG = "trainlab.config_id"  # a search parent run's configuration (search_hash)
RECIPE_TAG = "trainlab.recipe_hash"  # a trial run's recipe, data and budget (recipe_hash)
OUTCOME_TAG = "trainlab.outcome"  # finished | pruned | failed | killed
FAILURE_TAG = "trainlab.failure"  # the reason of a failed run, one line
MAX_PARAM_LENGTH = 6000  # MLflow's limit on one param value
# What the MLflow UI (3.x) reads an experiment's kind from (the UI's own tag, no Python constant):
# model training opens on the runs table, not the GenAI overview of traces.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

# What a run is, in the tag KIND_TAG: the report and the tests find each stage's runs by it.
KIND_TAG = "trainlab.kind"
TRAIN_KIND = "train"  # the train stage's one recipe
SEARCH_KIND = "search"  # a search's parent run
SEARCH_TRIAL_KIND = "search_trial"  # one trial of it
ENSEMBLE_KIND = "ensemble"
TRANSFER_KIND = "transfer"  # one transfer cell (what the report collects)
TRANSFER_STAGE_KIND = "transfer-stage"  # the transfer stage's parent run
TRANSFER_SOURCE_KIND = "transfer-source"  # the pretraining of the `source` backbone
CLAIMS_KIND = "claims"
LEADERBOARD_KIND = "leaderboard"  # the leaderboard stage's run (the leaderboard as metrics)
BASELINE_KIND = "baseline"  # a pretrained baseline trained on the main task
RECIPE_FRACTION_KIND = "recipe_fraction"  # the best recipe on a fraction of the train split


def client_for(cfg: TrackingConfig) -> MlflowClient:
    use_wal(cfg.uri)
    return MlflowClient(tracking_uri=absolute_uri(cfg.uri))


def use_wal(uri: str) -> None:
    """Switch a local SQLite tracking database to write-ahead logging (once; it persists).

    MLflow commits several times per logged batch; in SQLite's default rollback-journal mode
    each commit costs ~3 fsyncs (~14 ms on the project's machines), in WAL mode one (~1 ms),
    with the same durability. Several processes on one machine (search workers) share a WAL
    database as before; like SQLite's locking itself, WAL needs a local file system. Other
    URIs (a tracking server, PostgreSQL) are left alone.
    """
    database = sqlite_file(uri)
    if database is None:
        return
    with contextlib.suppress(sqlite3.Error):  # best effort: MLflow works in either mode
        connection = sqlite3.connect(database, timeout=60)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()


# (tracking URI, experiment name) -> id, found once per process: a search asks for it every
# trial, and each lookup is a database round trip (~20 ms on the project's machines).
_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}
# run id -> artifact URI of the runs `tracked_run` has open: MLflow's log_artifacts would
# fetch the run (a get_run round trip) only to learn it, and create_run already returned it.
_ARTIFACT_URIS: dict[str, str] = {}


def experiment_id(client: MlflowClient, name: str) -> str:
    """Get or create the experiment; safe when two workers create it at once."""
    key = (absolute_uri(client.tracking_uri), name)
    if key not in _EXPERIMENT_IDS:
        _EXPERIMENT_IDS[key] = _get_or_create_experiment(client, name)
    return _EXPERIMENT_IDS[key]


def forget_experiment(client: MlflowClient, name: str) -> None:
    """Drop a cached id (the experiment was deleted, or its database replaced, meanwhile)."""
    _EXPERIMENT_IDS.pop((absolute_uri(client.tracking_uri), name), None)


def artifact_root(uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: for a local SQLite database, `mlruns/` beside
    the database file (what MLflow's default, `./mlruns` in the working directory, gives for
    the project's own `sqlite:///mlflow.db`); None, MLflow's default, for other stores.

    A database elsewhere (a benchmark's or a test's temporary one) thus never writes
    checkpoints into the directory a command happens to run in.
    """
    database = sqlite_file(uri)
    if database is None:
        return None
    # One folder per experiment, named for it (its id is only known once it is created);
    # two names that clean up alike share a folder harmlessly: each run has its own.
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment).strip("._") or "experiment"
    return (Path(database).resolve().parent / "mlruns" / folder).as_uri()


def _get_or_create_experiment(client: MlflowClient, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise ConfigError(
                f"tracking.experiment = {name!r} is a deleted MLflow experiment; restore it "
                "(mlflow experiments restore) or choose another name"
            )
        # An experiment made before trainlab set the kind gets it; a kind a user chose in
        # the UI is theirs to keep.
        if EXPERIMENT_KIND_TAG not in found.tags:
            client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_root(
            client.tracking_uri, name), tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    except MlflowException:
        found = client.get_experiment_by_name(name)  # another worker won the race
        if found is None:
            raise
        return found.experiment_id


@contextlib.contextmanager
def tracked_run(
    client: MlflowClient,
    experiment: str,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> Iterator[str]:
    """Create a run, yield its id, and end it with a status that tells what happened."""
    all_tags = run_tags(tags)
    if parent_run_id:
        all_tags[PARENT_TAG] = parent_run_id
    # A Ctrl-C between the run's INSERT and create_run returning would leave a RUNNING run
    # nobody ends: the signal waits until the run id is known and the run can end KILLED.
    with HeldSignals(deliver_on_exit=False) as held:
        try:
            run = client.create_run(experiment_id(client, experiment), run_name=run_name,
                                    tags=all_tags)
        except MlflowException:  # a cached experiment id gone stale: look it up once more
            forget_experiment(client, experiment)
            run = client.create_run(experiment_id(client, experiment), run_name=run_name,
                                    tags=all_tags)
    run_id = run.info.run_id
    _ARTIFACT_URIS[run_id] = run.info.artifact_uri
    try:
        with ending(client, run_id):
            held.deliver()
            yield run_id
    finally:
        _ARTIFACT_URIS.pop(run_id, None)


@contextlib.contextmanager
def ending(client: MlflowClient, run_id: str) -> Iterator[str]:
    """End an open run with the block: FINISHED, FAILED with the reason as a tag, or KILLED
    (Ctrl-C, SIGTERM, an exit)."""
    try:
        yield run_id
    except (KeyboardInterrupt, SystemExit):
        end_run(client, run_id, "KILLED", "killed")
        raise
    except BaseException as err:
        end_run(client, run_id, "FAILED", "failed", reason=f"{type(err).__name__}: {err}")
        raise
    else:
        end_run(client, run_id, "FINISHED", "finished")


def run_tags(tags: Mapping[str, str] | None = None) -> dict[str, str]:
    """`tags` over the context tags `mlflow.start_run` sets (MLflow's own registry of run
    context providers): mlflow.user, mlflow.source.name and .type, the git commit, branch and
    repository of the entry script. The UI's User, Source and Version columns show them.

    A given tag wins: provenance's commit (of the working directory) stands, also where
    MLflow finds none (`trainlab` in an ignored `.venv/bin` is outside the repository for it).
    The first call costs ~0.5 s (GitPython's import and git lookups, then cached by the
    registry for the process), later ones ~2 ms.
    """
    return resolve_tags(dvc_tags() | dict(tags or {}))


def dvc_tags() -> dict[str, str]:
    """The DVC experiment a run belongs to (set by `dvc exp run`, also with --temp and
    --queue): its name and the commit it started from; none outside an experiment."""
    names = {"DVC_EXP_NAME": "dvc.exp_name", "DVC_EXP_BASELINE_REV": "dvc.exp_baseline_rev"}
    return {tag: os.environ[env] for env, tag in names.items() if os.environ.get(env)}


class HeldSignals:
    """Hold SIGINT and SIGTERM during a few database writes that must not be cut in half;
    leaving the block (or `deliver()`, with `deliver_on_exit=False`) sends the held ones to
    the usual handlers.

    Only the main thread receives signals, so elsewhere this holds nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, deliver_on_exit: bool = True) -> None:
        self.deliver_on_exit = deliver_on_exit
        self.held: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> HeldSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._hold)
        return self

    def _hold(self, signum: int, frame: Any) -> None:
        self.held.append(signum)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        if exc[0] is None and self.deliver_on_exit:
            self.deliver()

    def deliver(self) -> None:
        """Re-send what arrived while held (to the handlers restored on leaving the block)."""
        held, self.held = self.held, []
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


def end_run(
    client: MlflowClient, run_id: str, status: str, outcome: str, reason: str | None = None
) -> None:
    """Set the outcome tag and the terminal status (best effort: never masks the real error).

    A Ctrl-C arriving meanwhile is held until the status is written, then delivered.
    """
    with HeldSignals():
        with contextlib.suppress(Exception):
            client.set_tag(run_id, OUTCOME_TAG, outcome)
            if reason:
                client.set_tag(run_id, FAILURE_TAG, reason.splitlines()[0][:5000])
        with contextlib.suppress(Exception):
            client.set_terminated(run_id,
                                  status=RunStatus.to_string(RunStatus.from_string(status)))


def log_params(client: MlflowClient, run_id: str, params: Mapping[str, Any]) -> None:
    """Log params in batches of 100 (MLflow's limit per request)."""
    items = [
        Param(key, json.dumps(value) if isinstance(value, list | tuple | dict) else str(value))
        for key, value in params.items()
    ]
    items = [Param(p.key, p.value[:MAX_PARAM_LENGTH]) for p in items]
    for start in range(0, len(items), 100):
        client.log_batch(run_id, params=items[start : start + 100], synchronous=True)


def log_metrics(
    client: MlflowClient, run_id: str, metrics: Mapping[str, float], step: int = 0
) -> None:
    """Log many metrics in one request."""
    now = get_current_time_millis()
    items = [Metric(key, float(value), now, step) for key, value in metrics.items()]
    for start in range(0, len(items), 1000):
        client.log_batch(run_id, metrics=items[start : start + 1000], synchronous=True)


def log_artifacts(
    client: MlflowClient, run_id: str, texts: Mapping[str, str],
    files: Mapping[str, str | Path] | None = None,
) -> None:
    """Log text artifacts (name -> content) and files (artifact path -> local file) in one
    upload: one artifact-store operation instead of one per file."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in texts.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        for name, source in (files or {}).items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)  # no copy of a large checkpoint into the temp folder
            except OSError:  # another file system, or links not supported
                shutil.copyfile(source, target)
        if run_id in _ARTIFACT_URIS:
            repository = get_artifact_repository(_ARTIFACT_URIS[run_id], client.tracking_uri)
            repository.log_artifacts(str(root))
        else:
            client.log_artifacts(run_id, str(root))
