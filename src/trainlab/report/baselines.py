"""The ensemble and transfer stages' results, as the report's tables and figures show them.

Their files are typed by their writers (:mod:`trainlab.ensemble.summary_file`,
:mod:`trainlab.transfer.results`); this module only lays their fields out. The transfer
cells of an experiment read from MLflow alone (`--compare`) come from its cell runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pydantic import ValidationError

from trainlab.ensemble.summary_file import EnsembleSummary, GainInterval
from trainlab.report.sources import ExperimentRuns, column, runs_of_kind
from trainlab.search.results import BEST_SEED
from trainlab.tracking import TRANSFER_KIND
from trainlab.transfer.results import CellResult, transfer_gains

TRANSFER_COLUMNS = list(CellResult.model_fields)
GAIN_COLUMNS = ["backbone", "mode", "size", "gain_points"]


@dataclass(frozen=True)
class Method:
    """One way to predict with the members: what a reader compares across the methods."""

    label: str
    acc: float  # test accuracy
    gain: GainInterval | None  # over the best single model; None for that model itself
    gain_points: float | None
    ece: float | None  # None: the method names classes, no probabilities (the vote)


def ensemble_methods(summary: EnsembleSummary) -> list[Method]:
    """The best single member (chosen on val) and each combination of the members."""
    best, mean, vote, greedy = (summary.best_single.by_val, summary.ensemble, summary.vote,
                                summary.greedy)
    return [
        Method(BEST_SEED, best.acc, None, None, best.ece),
        Method("mean-probability ensemble", mean.acc, mean.gain_interval, mean.gain_points,
               mean.ece),
        Method("majority vote", vote.acc, vote.gain_interval, vote.gain_points, None),
        Method("greedy selection", greedy.acc, greedy.gain_interval, greedy.gain_points, None),
    ]


def ensemble_scores(summary: EnsembleSummary) -> dict[str, float]:
    """Test accuracy of the best single member (chosen on val) and of each combination."""
    return {method.label: method.acc for method in ensemble_methods(summary)}


def ensemble_members(summary: EnsembleSummary) -> pd.DataFrame:
    """Columns: name ("#rank cell"), val_acc, test_acc; one row per loaded member."""
    rows = [{"name": f"#{m.rank} {m.cell or m.run_id}", "val_acc": m.val_acc,
             "test_acc": m.test_acc} for m in summary.members]
    return pd.DataFrame(rows, columns=["name", "val_acc", "test_acc"])


def transfer_frame(cells: list[CellResult]) -> pd.DataFrame:
    """One row per cell, the columns of transfer.csv."""
    return pd.DataFrame([c.model_dump() for c in cells], columns=TRANSFER_COLUMNS)


def gains_frame(cells: list[CellResult]) -> pd.DataFrame:
    """:func:`trainlab.transfer.results.transfer_gains` as a table (columns GAIN_COLUMNS)."""
    return pd.DataFrame([vars(g) for g in transfer_gains(cells)], columns=GAIN_COLUMNS)


# transfer.csv column -> the cell run's MLflow column (transfer/stage.py `run_cell` logs them)
_FROM_RUNS = {
    "backbone": "tags.transfer.backbone", "mode": "tags.transfer.mode",
    "size": "tags.transfer.size", "seed": "tags.transfer.seed", "test_acc": "metrics.test/acc",
    "final_train_acc": "metrics.final/train_acc", "gap_acc": "metrics.gap/acc",
    "val_acc": "metrics.val/acc_best", "epochs": "metrics.epochs_run",
    "best_epoch": "metrics.best_epoch", "seconds": "metrics.time/seconds",
    "run_id": "run_id", "requested_size": "tags.transfer.requested_size",
}


def transfer_from_runs(experiment: ExperimentRuns) -> list[CellResult] | None:
    """The finished transfer cell runs of the experiment as cells (None: there are none)."""
    runs = runs_of_kind(experiment.runs, TRANSFER_KIND)
    runs = runs[column(runs, "status") == "FINISHED"]
    cells = []
    for _, run in runs.iterrows():
        values = {name: run.get(key) for name, key in _FROM_RUNS.items()}
        try:
            cells.append(CellResult.model_validate(
                {k: None if pd.isna(v) else v for k, v in values.items()}
                | {"test_correct": None}))  # per-image results: in transfer.csv only
        except ValidationError:  # a cell of an older version without every score: left out
            continue
    return cells or None
