"""Gather everything one experiment's report needs, noting each stage that has not run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trainlab.claims.results import ClaimsFile
from trainlab.ensemble.summary_file import ARTIFACT, EnsembleSummary
from trainlab.leaderboard.results import LeaderboardFile
from trainlab.replication.results import COMMAND, Replication
from trainlab.report import baselines, sources, tables, trials
from trainlab.report.study import StudyView, load_study
from trainlab.search.results import CellStanding, SearchSummary, TrialRow
from trainlab.stagefile import read_model, read_rows
from trainlab.tracking import ENSEMBLE_KIND, SEARCH_KIND
from trainlab.training.results import TrainSummary
from trainlab.transfer.results import CellResult, TransferSummary


@dataclass
class Stage:
    """Where a stage's results came from, or why there are none."""

    name: str
    source: str = ""  # e.g. "MLflow experiment 'trainlab'" or "reports/ensemble.json"
    problem: str = ""  # why there is nothing (empty when found)
    file: str = ""  # the stage file its results were read from ("": none, e.g. MLflow)
    how: str = ""  # the command that makes it, where that is not `dvc repro <name>`

    @property
    def ran(self) -> bool:
        return not self.problem

    @property
    def command(self) -> str:
        return self.how or f"dvc repro {self.name}"


@dataclass
class ReportInputs:
    experiment: sources.ExperimentRuns
    trials: pd.DataFrame
    table: pd.DataFrame
    stages: dict[str, Stage]
    search: SearchSummary | None = None
    train: TrainSummary | None = None
    ensemble: EnsembleSummary | None = None
    transfer: list[CellResult] | None = None
    transfer_summary: TransferSummary | None = None  # transfer.json: the declared headline
    study: StudyView | None = None
    health: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: list[tuple[tables.CurvePick, pd.DataFrame]] = field(default_factory=list)
    claims: ClaimsFile | None = None
    cells: list[CellStanding] = field(default_factory=list)  # search_cells.csv: intervals
    leaderboard: LeaderboardFile | None = None
    replication: Replication | None = None  # `trainlab replicate`; None: none made (yet)

    @property
    def search_parent(self) -> pd.Series | None:
        runs = self.experiment.runs
        parents = sources.runs_of_kind(runs, SEARCH_KIND)
        parent_run_id = self.search.parent_run_id if self.search else None
        named = parents[parents["run_id"] == parent_run_id]
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
    summary, _ = _read(inputs, "search", SearchSummary)
    trial_rows, search = _trials(runs, inputs, summary.parent_run_id if summary else None)
    train, _ = _read(inputs, "train", TrainSummary)
    cells, _ = _read_rows(inputs, "search_cells", CellStanding)
    table = tables.with_standings(tables.recipe_table(trial_rows), cells or [])
    found = ReportInputs(runs, trial_rows, table, {"search": search}, search=summary,
                         train=train, cells=cells or [])
    found.ensemble, found.stages["ensemble"] = _ensemble(runs, inputs)
    found.transfer, found.stages["transfer"] = _transfer(runs, inputs)
    found.transfer_summary, _ = _read(inputs, "transfer_summary", TransferSummary)
    found.claims, found.stages["claims"] = _claims(inputs)
    found.leaderboard, found.stages["leaderboard"] = _leaderboard(inputs)
    found.replication, replication = _replication(inputs)
    if replication is not None:  # optional: a project without one misses no stage
        found.stages["replication"] = replication
    if storage and study_name:
        numbers = set(found.trials["trial"].dropna().astype(int)) if not trial_rows.empty \
            else None
        found.study = load_study(storage, study_name, numbers)
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


def _read(inputs: Path | None, key: str, model):
    """A stage file as its model: (value, None) or (None, why not)."""
    if inputs is None:
        return None, "stage files not read"
    return read_model(inputs / sources.STAGE_FILES[key], model)


def _read_rows(inputs: Path | None, key: str, row):
    if inputs is None:
        return None, "stage files not read"
    return read_rows(inputs / sources.STAGE_FILES[key], row)


def _trials(runs: sources.ExperimentRuns, inputs: Path | None,
            parent: str | None) -> tuple[pd.DataFrame, Stage]:
    """The trials of the configuration the search last ran: the runs its search_trials.csv
    lists (never another configuration's, even under the same study), else its parent's."""
    rows, csv_problem = _read_rows(inputs, "search_trials", TrialRow)
    run_ids = {row.run_id for row in rows if row.run_id} if rows else None
    child_runs = trials.search_runs(runs, parent, run_ids)
    if not child_runs.empty:
        source = f"MLflow experiment {runs.name!r} ({len(child_runs)} trial runs)"
        return trials.trials_from_runs(child_runs), Stage("search", source)
    if inputs is not None and rows is not None:
        return trials.trials_from_csv(rows), Stage("search", str(inputs / "search_trials.csv"))
    why = runs.problem or f"the MLflow experiment {runs.name!r} has no search trial runs"
    return trials.trials_from_csv([]), Stage("search", problem=f"{why}; {csv_problem}")


def _ensemble(runs: sources.ExperimentRuns, inputs: Path | None):
    summary, problem = _read(inputs, "ensemble", EnsembleSummary)
    if inputs is not None and summary is not None:
        path = str(inputs / sources.STAGE_FILES["ensemble"])
        return summary, Stage("ensemble", path, file=path)
    found = sources.runs_of_kind(runs.runs, ENSEMBLE_KIND)
    if not found.empty:  # the stage ran but its file is gone (or not read): its run's copy
        run_id = found.sort_values("start_time").iloc[-1]["run_id"]
        summary, run_problem = sources.read_artifact(runs, run_id, ARTIFACT, EnsembleSummary)
        if summary is not None:
            return summary, Stage("ensemble", f"MLflow run {run_id} ({problem})")
        problem = f"{problem}; {run_problem}"
    return None, Stage("ensemble", problem=problem or "")


def _claims(inputs: Path | None):
    claims, problem = _read(inputs, "claims", ClaimsFile)
    if inputs is not None and claims is not None:
        return claims, Stage("claims", str(inputs / "claims.json"))
    return None, Stage("claims", problem=problem or "")


def _leaderboard(inputs: Path | None):
    board, problem = _read(inputs, "leaderboard", LeaderboardFile)
    if inputs is not None and board is not None:
        return board, Stage("leaderboard", str(inputs / "leaderboard.json"))
    return None, Stage("leaderboard", problem=problem or "")


def _replication(inputs: Path | None):
    """reports/replication.json if `trainlab replicate` wrote one. Its absence is no missing
    stage (a replication is optional), so only a file that is there but unreadable is."""
    replication, problem = _read(inputs, "replication", Replication)
    if inputs is None or not (inputs / sources.STAGE_FILES["replication"]).exists():
        return None, None
    if replication is not None:
        return replication, Stage("replicate", str(inputs / "replication.json"), how=COMMAND)
    return None, Stage("replicate", problem=problem or "", how=COMMAND)


def _transfer(runs: sources.ExperimentRuns, inputs: Path | None):
    cells, problem = _read_rows(inputs, "transfer", CellResult)
    if inputs is not None and cells is not None:
        return cells, Stage("transfer", str(inputs / "transfer.csv"))
    cells = baselines.transfer_from_runs(runs)
    if cells is not None:
        return cells, Stage("transfer", f"MLflow experiment {runs.name!r} (transfer runs)")
    return None, Stage("transfer", problem=f"{problem}; MLflow has no transfer runs")
