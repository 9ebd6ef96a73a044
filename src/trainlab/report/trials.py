"""The search's trials in one shape, whether they come from MLflow or from search_trials.csv.

A trial row: trial, cell, activation, regularization, augmentation, preprocessing, seed,
state (finished | pruned | failed | killed | running), val_acc, test_acc, final_train_acc,
gap_acc, gap_loss (accuracies as fractions), epochs_run, best_epoch (counted from 1),
max_epochs, seconds, run_id, run_name, fail_reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trainlab.report.sources import ExperimentRuns, column, runs_of_kind
from trainlab.search.results import TrialRow
from trainlab.tracking import FAILURE_TAG, OUTCOME_TAG, PARENT_TAG, SEARCH_KIND

TRIAL_COLUMNS = [
    "trial", "cell", "activation", "regularization", "augmentation", "preprocessing", "seed",
    "state", "val_acc", "test_acc", "final_train_acc", "gap_acc", "gap_loss", "epochs_run",
    "best_epoch", "max_epochs", "seconds", "run_id", "run_name", "fail_reason",
]
RECIPE_AXES = ["activation", "regularization", "augmentation", "preprocessing"]
STATES = ("finished", "pruned", "failed", "killed", "running")
_FROM_OPTUNA = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed",
                "RUNNING": "running", "WAITING": "running"}
_FROM_STATUS = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed",
                "RUNNING": "running", "SCHEDULED": "running"}
# trial column -> MLflow columns, first present wins
_FROM_RUNS = {
    "trial": ["tags.optuna.trial_number"],
    "cell": ["tags.recipe.cell"],
    "activation": ["tags.recipe.activation", "params.model.activation"],
    "regularization": ["tags.recipe.regularization", "params.regularization.kind"],
    "augmentation": ["tags.recipe.augmentation"],
    "preprocessing": ["tags.recipe.preprocessing", "params.data.preprocessing"],
    "seed": ["tags.recipe.seed", "params.seed"],
    "val_acc": ["metrics.val/acc_best", "metrics.val/acc"],
    "test_acc": ["metrics.test/acc"],
    "final_train_acc": ["metrics.final/train_acc"],
    "gap_acc": ["metrics.gap/acc"],
    "gap_loss": ["metrics.gap/loss"],
    "epochs_run": ["metrics.epochs_run"],
    "best_epoch": ["metrics.best_epoch"],
    "max_epochs": ["params.train.epochs"],
    "seconds": ["metrics.time/seconds"],
    "run_name": ["run_name"],
    "fail_reason": [f"tags.{FAILURE_TAG}"],
}
NUMERIC = ["trial", "val_acc", "test_acc", "final_train_acc", "gap_acc", "gap_loss",
           "epochs_run", "best_epoch", "max_epochs", "seconds"]


def _first_present(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    out = column(frame, keys[0])
    for key in keys[1:]:
        out = out.where(out.notna(), column(frame, key))
    return out


def search_runs(experiment: ExperimentRuns, parent_run_id: str | None = None,
                run_ids: set[str] | None = None) -> pd.DataFrame:
    """The trial runs of ONE configuration of the search.

    `run_ids` (the runs search_trials.csv lists: the trials of the current params, some maybe
    trained under an earlier configuration's parent run) picks them exactly. Without it, the
    children of the parent run `parent_run_id` (search.json names it), else of the latest
    search parent: never the runs of other configurations, which have parents of their own.
    Without any search parent, every run tagged `recipe.cell` counts as a trial.
    """
    runs = experiment.runs
    if runs.empty:
        return runs
    parents = runs_of_kind(runs, SEARCH_KIND)
    if run_ids is not None:
        children = runs[runs["run_id"].isin(run_ids)]
    elif parents.empty:
        children = runs[column(runs, "tags.recipe.cell").notna()]
    else:
        named = parents[parents["run_id"] == parent_run_id]
        latest = (named if len(named) else parents.sort_values("start_time")).iloc[-1]
        children = runs[column(runs, f"tags.{PARENT_TAG}") == latest["run_id"]]
    children = children.sort_values("start_time")
    number = column(children, "tags.optuna.trial_number")
    numbered = children[number.notna()].drop_duplicates("tags.optuna.trial_number", keep="last")
    return pd.concat([numbered, children[number.isna()]]).sort_values("start_time")


def trials_from_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Trial rows from MLflow run rows (see :func:`search_runs`)."""
    out = pd.DataFrame({name: _first_present(runs, keys) for name, keys in _FROM_RUNS.items()},
                       index=runs.index)
    out["run_id"] = runs["run_id"]
    state = column(runs, f"tags.{OUTCOME_TAG}").str.lower()
    state = state.where(state.notna(), column(runs, "tags.optuna.state").map(_FROM_OPTUNA))
    out["state"] = state.where(state.notna(), column(runs, "status").map(_FROM_STATUS))
    wall = (pd.to_numeric(runs["end_time"]) - pd.to_numeric(runs["start_time"])) / 1000.0
    out["seconds"] = pd.to_numeric(out["seconds"]).where(out["seconds"].notna(), wall)
    out = _normalise(out)
    out["best_epoch"] = out["best_epoch"] + 1  # MLflow counts epochs from 0, the report from 1
    return out


def trials_from_csv(rows: Sequence[TrialRow]) -> pd.DataFrame:
    """Trial rows from the lines of reports/search_trials.csv (written by the search stage)."""
    frame = pd.DataFrame([row.model_dump() for row in rows], columns=list(TrialRow.model_fields))
    out = frame.reindex(columns=TRIAL_COLUMNS).copy()
    state = out["state"].astype("string")
    upper = state.str.upper()
    out["state"] = upper.map(_FROM_OPTUNA).where(upper.isin(list(_FROM_OPTUNA)), state.str.lower())
    return _normalise(out)


def _normalise(out: pd.DataFrame) -> pd.DataFrame:
    out = out.reindex(columns=TRIAL_COLUMNS)
    for name in NUMERIC:
        out[name] = pd.to_numeric(out[name], errors="coerce")
    for name in ["activation", "regularization", "augmentation", "preprocessing"]:
        out[name] = out[name].astype("string").fillna("")
    parts = out["activation"] + "|" + out["regularization"] + "|" + out["augmentation"]
    cell = out["cell"].astype("string")
    out["cell"] = cell.where(cell.notna() & (cell != ""), parts)
    out["seed"] = out["seed"].astype("string").fillna("")
    out["state"] = out["state"].astype("string").fillna("running")
    out = out.sort_values(["trial", "cell", "seed"], na_position="last")
    return out.reset_index(drop=True)
