"""Gather everything one experiment's report needs, noting each stage that has not run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab.io import read_csv, read_json
from trainlab.report import baselines, sources, tables, trials
from trainlab.report.study import StudyView, load_study
from trainlab.tracking import ENSEMBLE_KIND, SEARCH_KIND


@dataclass
class Stage:
    """Where a stage's results came from, or why there are none."""

    name: str
    source: str = ""  # e.g. "MLflow experiment 'trainlab'" or "reports/ensemble.json"
    problem: str = ""  # why there is nothing (empty when found)

    @property
    def ran(self) -> bool:
        return not self.problem

    @property
    def command(self) -> str:
        return f"dvc repro {self.name}"


@dataclass
class ReportInputs:
    experiment: sources.ExperimentRuns
    trials: pd.DataFrame
    table: pd.DataFrame
    stages: dict[str, Stage]
    search_json: dict[str, Any] | None = None
    train_json: dict[str, Any] | None = None
    ensemble: baselines.EnsembleView | None = None
    transfer: pd.DataFrame | None = None
    study: StudyView | None = None
    health: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: list[tuple[tables.CurvePick, pd.DataFrame]] = field(default_factory=list)
    claims: dict[str, Any] | None = None  # claims.json of the claims stage

    @property
    def search_parent(self) -> pd.Series | None:
        runs = self.experiment.runs
        parents = sources.runs_of_kind(runs, SEARCH_KIND)
        named = parents[parents["run_id"] == (self.search_json or {}).get("parent_run_id")]
        parents = named if len(named) else parents.sort_values("start_time")
        return None if parents.empty else parents.iloc[-1]


def gather(
    uri: str,
    experiment: str,
    inputs: str | Path | None,
    storage: str | None = None,
    study_name: str | None = None,
    curves: int | None = 4,
) -> ReportInputs:
    """Read the MLflow experiment, the stage files under `inputs` and the Optuna study.

    Args:
        inputs: the folder of the stage files (reports/); None reads MLflow only (used to
            compare experiments, whose stage files are not in this workspace).
        curves: learning curves to load besides the best and the worst; None loads none.
    """
    inputs = Path(inputs) if inputs is not None else None
    runs = sources.load_experiment(uri, experiment)
    search_json, _ = _read_json(inputs, "search")
    search_json = search_json if isinstance(search_json, dict) else None
    parent = str((search_json or {}).get("parent_run_id") or "") or None
    trial_rows, search = _trials(runs, inputs, parent)
    train_json, _ = _read_json(inputs, "train")
    table = tables.recipe_table(trial_rows)
    found = ReportInputs(runs, trial_rows, table, {"search": search},
                         search_json=search_json,
                         train_json=train_json if isinstance(train_json, dict) else None)
    found.ensemble, found.stages["ensemble"] = _ensemble(runs, inputs)
    found.transfer, found.stages["transfer"] = _transfer(runs, inputs)
    found.claims, found.stages["claims"] = _claims(inputs)
    if storage and study_name:
        found.study = load_study(storage, study_name)
        found.stages["study"] = Stage("search", f"Optuna study {study_name!r} in {storage}",
                                      found.study.problem or "")
    if not runs.runs.empty:
        found.health = tables.activation_health(trial_rows, runs.runs)
    if not runs.runs.empty and curves is not None:
        for pick in tables.curve_picks(trial_rows, table, curves):
            frame = sources.load_curves(runs, pick.run_id)
            if frame is not None:
                found.curves.append((pick, frame))
    return found


def _read_csv(inputs: Path | None, key: str):
    if inputs is None:
        return None, "stage files not read"
    return read_csv(inputs / sources.STAGE_FILES[key])


def _read_json(inputs: Path | None, key: str):
    if inputs is None:
        return None, "stage files not read"
    return read_json(inputs / sources.STAGE_FILES[key])


def _trials(runs: sources.ExperimentRuns, inputs: Path | None,
            parent: str | None) -> tuple[pd.DataFrame, Stage]:
    child_runs = trials.search_runs(runs, parent)
    if not child_runs.empty:
        source = f"MLflow experiment {runs.name!r} ({len(child_runs)} trial runs)"
        return trials.trials_from_runs(child_runs), Stage("search", source)
    csv, csv_problem = _read_csv(inputs, "search_trials")
    if csv is not None and not csv.empty:
        return trials.trials_from_csv(csv), Stage("search", str(inputs / "search_trials.csv"))
    why = runs.problem or f"the MLflow experiment {runs.name!r} has no search trial runs"
    empty = trials.trials_from_csv(pd.DataFrame(columns=trials.TRIAL_COLUMNS))
    return empty, Stage("search", problem=f"{why}; {csv_problem or 'search_trials.csv is empty'}")


def _ensemble(runs: sources.ExperimentRuns, inputs: Path | None):
    payload, problem = _read_json(inputs, "ensemble")
    if payload is not None:
        return baselines.ensemble_view(payload), Stage("ensemble", str(inputs / "ensemble.json"))
    frame = runs.runs
    found = sources.runs_of_kind(frame, ENSEMBLE_KIND)
    if not found.empty:  # the stage ran but its file is gone: show what MLflow kept
        run = found.sort_values("start_time").iloc[-1]
        metrics = {k.removeprefix("metrics."): v for k, v in run.items()
                   if k.startswith("metrics.") and pd.notna(v)}
        return baselines.ensemble_view(metrics), Stage(
            "ensemble", f"MLflow run {run['run_id']} ({problem})")
    return None, Stage("ensemble", problem=problem or "")


def _claims(inputs: Path | None):
    payload, problem = _read_json(inputs, "claims")
    if isinstance(payload, dict) and isinstance(payload.get("claims"), dict):
        return payload, Stage("claims", str(inputs / "claims.json"))
    return None, Stage("claims", problem=problem or f"{inputs / 'claims.json'} holds no claims")


def _transfer(runs: sources.ExperimentRuns, inputs: Path | None):
    csv, csv_problem = _read_csv(inputs, "transfer_csv")
    if csv is not None and not csv.empty:
        return baselines.normalise_transfer(csv), Stage("transfer", str(inputs / "transfer.csv"))
    payload, json_problem = _read_json(inputs, "transfer")
    frame = baselines.transfer_from_json(payload) if payload is not None else None
    if frame is not None:
        return frame, Stage("transfer", str(inputs / "transfer.json"))
    frame = baselines.transfer_from_runs(runs)
    if frame is not None:
        return frame, Stage("transfer", f"MLflow experiment {runs.name!r} (transfer runs)")
    problem = f"{csv_problem}; {json_problem or 'transfer.json holds no result rows'}"
    return None, Stage("transfer", problem=f"{problem}; MLflow has no transfer runs")
