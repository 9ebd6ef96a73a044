"""Where the report's numbers come from: MLflow runs, the stage files and the Optuna study.

A pipeline that has not run every stage yet is a normal state, so each loader returns what
it found or says why it found nothing; none of them creates a database as a side effect of
looking (MLflow and Optuna both create an empty SQLite file when asked about a missing one).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from trainlab.databases import absolute_uri, sqlite_file
from trainlab.stagefile import Model, read_model
from trainlab.tracking import KIND_TAG

# The stage files the report reads, under the inputs folder (`--inputs`, default reports/).
STAGE_FILES = {
    "search": "search.json",
    "search_trials": "search_trials.csv",
    "search_cells": "search_cells.csv",
    "ensemble": "ensemble.json",
    "transfer": "transfer.csv",
    "transfer_summary": "transfer.json",  # its declared headline gain (tl_gain)
    "train": "train.json",
    "claims": "claims.json",
    "leaderboard": "leaderboard.json",
    "replication": "replication.json",  # `trainlab replicate` (optional: no dvc.yaml stage)
}
CURVE_METRICS = {"train/acc": "train_acc", "val/acc": "val_acc",
                 "train/loss": "train_loss", "val/loss": "val_loss"}
CURVE_COLUMNS = ["epoch", "train_acc", "val_acc", "train_loss", "val_loss", "best"]


def missing_sqlite(uri: str) -> str | None:
    """Why a SQLite URI cannot hold anything yet (its file does not exist), else None."""
    database = sqlite_file(uri)
    if database is not None and not Path(database).is_file():
        return f"the database {database!r} of {uri!r} does not exist"
    return None


@dataclass
class ExperimentRuns:
    """Every active run of one MLflow experiment, one row each.

    Columns: run_id, run_name, status, start_time, end_time (ms since the epoch), then
    `metrics.<key>` (the last logged value), `params.<key>` and `tags.<key>`.
    """

    name: str
    uri: str
    runs: pd.DataFrame
    problem: str | None = None  # why there are no runs
    client: MlflowClient | None = field(default=None, repr=False)


def runs_of_kind(runs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The runs tagged with this run kind (`trainlab.tracking.*_KIND`)."""
    return runs[column(runs, f"tags.{KIND_TAG}") == kind]


def column(frame: pd.DataFrame, key: str) -> pd.Series:
    """A column, or an all-missing one of the right length when the frame lacks it."""
    if key in frame.columns:
        return frame[key]
    return pd.Series([None] * len(frame), index=frame.index, dtype="object")


def load_experiment(uri: str, name: str) -> ExperimentRuns:
    """All active runs of experiment `name` at tracking URI `uri` as a DataFrame."""
    empty = pd.DataFrame(columns=["run_id", "run_name", "status", "start_time", "end_time"])
    problem = missing_sqlite(uri)
    if problem:
        return ExperimentRuns(name, uri, empty, problem)
    client = MlflowClient(tracking_uri=absolute_uri(uri))
    experiment = client.get_experiment_by_name(name)
    if experiment is None or experiment.lifecycle_stage == "deleted":
        return ExperimentRuns(name, uri, empty, f"no MLflow experiment named {name!r} at {uri}",
                              client)
    records: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = client.search_runs([experiment.experiment_id], max_results=1000, page_token=token)
        records.extend(_run_record(run) for run in page)
        token = page.token
        if not token:
            break
    runs = pd.DataFrame.from_records(records) if records else empty
    problem = None if records else f"the MLflow experiment {name!r} has no runs"
    return ExperimentRuns(name, uri, runs, problem, client)


def _run_record(run: Any) -> dict[str, Any]:
    info, data = run.info, run.data
    record = {"run_id": info.run_id, "run_name": info.run_name, "status": info.status,
              "start_time": info.start_time, "end_time": info.end_time}
    record |= {f"metrics.{k}": v for k, v in data.metrics.items()}
    record |= {f"params.{k}": v for k, v in data.params.items()}
    record |= {f"tags.{k}": v for k, v in data.tags.items()}
    return record


def read_artifact(experiment: ExperimentRuns, run_id: str, name: str,
                  model: type[Model]) -> tuple[Model | None, str | None]:
    """A stage file logged as artifact `name` of a run, as its model: (value, None) or
    (None, why not)."""
    where = f"the artifact {name} of MLflow run {run_id}"
    if experiment.client is None:
        return None, f"{where} is not reachable"
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = experiment.client.download_artifacts(run_id, name, tmp)
            value, problem = read_model(path, model)
    except Exception as err:  # no such artifact, an unreachable store: the report goes on
        return None, f"{where} is unreadable ({type(err).__name__})"
    return value, problem.replace(str(path), where) if problem else None


def load_curves(experiment: ExperimentRuns, run_id: str) -> pd.DataFrame | None:
    """Per-epoch curves of a run, epochs counted from 1 (see :data:`CURVE_COLUMNS`).

    Reads the run's `curves.csv` artifact; a run without one (pruned, killed) falls back to
    the metric history, one value per epoch in step order. `best` marks the kept snapshot.
    """
    client = experiment.client
    if client is None:
        return None
    curves = _curves_artifact(client, run_id)
    if curves is None:
        curves = _curves_history(client, run_id)
    if curves is None or curves.empty:
        return None
    if "best" not in curves or not curves["best"].any():
        best = curves["val_acc"].idxmax() if curves["val_acc"].notna().any() else None
        curves["best"] = [int(i == best) for i in curves.index]
    return curves.reindex(columns=CURVE_COLUMNS)


def _curves_artifact(client: MlflowClient, run_id: str) -> pd.DataFrame | None:
    # MLflow draws a progress bar per download: one line per run in the stage's log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        if not any(a.path == "curves.csv" for a in client.list_artifacts(run_id)):
            return None
        with tempfile.TemporaryDirectory() as tmp:
            frame = pd.read_csv(client.download_artifacts(run_id, "curves.csv", tmp))
    except Exception as err:  # an unreadable artifact store must not stop the report
        logging.getLogger(__name__).warning("curves.csv of run %s unreadable: %s", run_id, err)
        return None
    frame = frame.rename(columns=CURVE_METRICS)
    frame["epoch"] = frame["epoch"].astype(int) + 1  # the CSV counts epochs from 0
    return frame.reset_index(drop=True)


def _curves_history(client: MlflowClient, run_id: str) -> pd.DataFrame | None:
    series = {}
    for key, name in CURVE_METRICS.items():
        history = client.get_metric_history(run_id, key)
        history = sorted(history, key=lambda m: (m.step, m.timestamp))
        series[name] = pd.Series([m.value for m in history], dtype=float)
    if all(s.empty for s in series.values()):
        return None
    frame = pd.concat(series, axis=1)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    best = client.get_run(run_id).data.metrics.get("best_epoch")
    if best is not None and math.isfinite(best):
        frame["best"] = (frame["epoch"] == int(best) + 1).astype(int)
    return frame
