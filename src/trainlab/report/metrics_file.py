"""`reports/metrics.json` (the report's numbers, a plain output; DVC's metrics are the stages'
`metrics/*.json`), typed: its one owner.

Numbers only, for `dvc metrics show/diff`: accuracies as fractions, gains in percentage
points. What was not measured (a stage that has not run, a spread over one seed) is left out
of the file, so here every field defaults to None and is written only when set.
"""

from __future__ import annotations

from pathlib import Path

from trainlab.io import write_json
from trainlab.stagefile import StageFile


class Best(StageFile):
    """The best recipe by mean val accuracy: means over its seeds."""

    test_acc: float | None = None
    test_acc_std: float | None = None
    val_acc: float | None = None
    gap_acc: float | None = None
    train_acc: float | None = None
    seeds: int | None = None


class Recipes(StageFile):
    count: int | None = None  # recipes with a finished run
    max_test_acc: float | None = None
    min_gap_acc: float | None = None


class Ensemble(StageFile):
    gain_points: float | None = None
    acc: float | None = None
    best_single_acc: float | None = None


class ReportMetrics(StageFile):
    """reports/metrics.json."""

    trials: dict[str, int]  # total, and one count per state of `report.trials.STATES`
    best: Best | None = None
    recipes: Recipes | None = None
    ensemble: Ensemble | None = None
    # backbone -> mode -> `gain_points_<target size>` -> gain over scratch
    transfer: dict[str, dict[str, dict[str, float]]] | None = None
    wall_seconds: float | None = None


def write_metrics(path: str | Path, metrics: ReportMetrics) -> Path:
    return write_json(path, metrics.model_dump(mode="json", exclude_none=True))
