"""What the search already measured (reports/search_trials.csv, typed by
:class:`trainlab.search.results.TrialRow`), reshaped into the numbers the claims' rules read:
claims 3 (context), 6 (context) and 8, plus the train-accuracy history of the search's MLflow
trial runs. Claims 7 and 9 read their stage's model directly (see `assess`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from trainlab.claims.verdict import each_confidence
from trainlab.config.schema import GridConfig
from trainlab.errors import DataError
from trainlab.search.results import TrialRow
from trainlab.stats.intervals import DEFAULT_RESAMPLES, Interval
from trainlab.stats.paired import seed_image_contrast
from trainlab.transfer.results import SCRATCH, CellResult, seed_correctness

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

LECTURE_PENALTIES = ("l2", "l1", "elastic", "dropout")  # the regularizers the lecture lists
RECIPE = ["activation", "regularization", "augmentation", "preprocessing", "seed"]


def finished(trials: Sequence[TrialRow]) -> pd.DataFrame:
    """The COMPLETE trials, recipe axes as text, one row per cell and seed (the latest)."""
    done = pd.DataFrame([t.model_dump() for t in trials if t.state == "COMPLETE"],
                        columns=list(TrialRow.model_fields))
    for name in ("test_acc", "final_train_acc", "gap_acc", "val_acc", "epochs_run",
                 "best_epoch"):
        done[name] = pd.to_numeric(done[name], errors="coerce")
    for name in RECIPE:
        done[name] = done[name].astype(str)
    return done.drop_duplicates(RECIPE, keep="last").reset_index(drop=True)


def preset_pairs(trials: Sequence[TrialRow]) -> dict[str, dict[str, Any]]:
    """Claim 8: per regularization and augmentation preset, paired with `none` on the same
    other axes and seed: gap shrink (gap of none minus the preset's) and test-accuracy change,
    both in points, one value per pair."""
    done = finished(trials)
    out: dict[str, dict[str, Any]] = {}
    for axis, other in (("regularization", "augmentation"), ("augmentation", "regularization")):
        keys = ["activation", other, "preprocessing", "seed"]
        base = done[done[axis] == "none"].set_index(keys)
        for name in sorted(set(done[axis]) - {"none"}):
            part = done[done[axis] == name].set_index(keys)
            shared = part.index.intersection(base.index)
            if not len(shared):
                continue
            label = name if name not in out else f"{axis} {name}"
            out[label] = {
                "axis": axis,
                "pairs": len(shared),
                "shrink": (100 * (base.loc[shared, "gap_acc"]
                                  - part.loc[shared, "gap_acc"])).round(4).tolist(),
                "test_change": (100 * (part.loc[shared, "test_acc"]
                                       - base.loc[shared, "test_acc"])).round(4).tolist(),
                "baseline_gap": (100 * base.loc[shared, "gap_acc"]).round(4).tolist(),
            }
    return out


def untested_penalties(trials: Sequence[TrialRow], grid: GridConfig) -> list[str]:
    """The lecture's regularizers that no finished search trial used (by the grid presets)."""
    covered = set()
    for name in set(finished(trials)["regularization"]):
        preset = grid.regularization.get(name)
        if preset is None:  # a preset no longer in params: trust a name such as `l2`
            covered |= {name} & set(LECTURE_PENALTIES)
            continue
        covered |= {preset.kind} if preset.kind != "none" and preset.strength > 0 else set()
        covered |= {"dropout"} if preset.dropout > 0 else set()
    return [kind for kind in LECTURE_PENALTIES if kind not in covered]


def search_early_stopping(trials: Sequence[TrialRow]) -> dict[str, float]:
    """Claim 6 context: how often the search's validation accuracy peaked before the last
    epoch (its test accuracy is only known at the kept snapshot, not at the last epoch)."""
    done = finished(trials).dropna(subset=["best_epoch", "epochs_run"])
    if done.empty:
        return {}
    before = done["best_epoch"] < done["epochs_run"]  # best_epoch counts from 1 in the CSV
    return {"search share of trials peaking before the last epoch": float(before.mean()),
            "search trials": float(len(done))}


def search_train_curves(client: MlflowClient,
                        trials: Sequence[TrialRow]) -> dict[str, list[float]]:
    """Claim 3 context: mean train accuracy per epoch and activation over the finished search
    trials without regularization and augmentation (all trials when there are none)."""
    done = finished(trials)
    plain = done[(done["regularization"] == "none") & (done["augmentation"] == "none")]
    chosen = plain if len(plain) else done
    curves: dict[str, list[list[float]]] = {}
    for _, trial in chosen.iterrows():
        run_id = trial["run_id"]
        if not isinstance(run_id, str) or not run_id:
            continue
        try:
            history = client.get_metric_history(run_id, "train/acc")
        except Exception:  # a run of another tracking server: context only, skip it
            continue
        values = [m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
        if values:
            curves.setdefault(trial["activation"], []).append(values)
    return {act: _mean_curve(runs) for act, runs in curves.items()}


def _mean_curve(runs: list[list[float]]) -> list[float]:
    """Mean per epoch over runs that reached that epoch."""
    longest = max(len(r) for r in runs)
    return [round(sum(r[e] for r in runs if len(r) > e) / sum(len(r) > e for r in runs), 4)
            for e in range(longest)]


def transfer_differences(cells: Sequence[CellResult],
                         gains: Mapping[str, Mapping[str, float]], confidence: float,
                         resamples: int = DEFAULT_RESAMPLES) -> dict[str, Interval | list[float]]:
    """Claim 9, per `backbone/mode` with two sizes or more: (pretrained minus scratch at the
    smallest size) minus (the same at the largest), in points, with its seed x image interval
    (each cell's seeds resampled on their own, the target test images, which every cell
    scores, jointly: `stats.paired.seed_image_contrast`), each drawn at the Bonferroni share
    of `confidence` over the conditions. Where a cell has no per-image results (an older
    transfer.csv), the one value of that difference instead (no interval)."""
    conditions = {name: [int(size) for size in by_size] for name, by_size in gains.items()
                  if len(by_size) >= 2}
    each = each_confidence(confidence, len(conditions))
    out: dict[str, Interval | list[float]] = {}
    for name, sizes in conditions.items():
        backbone, mode = name.split("/", 1)
        small, large = sizes[0], sizes[-1]
        keys = [(backbone, mode, small), (backbone, SCRATCH, small),
                (backbone, mode, large), (backbone, SCRATCH, large)]
        try:
            sides = [seed_correctness([c for c in cells if (c.backbone, c.mode, c.size) == key])
                     for key in keys]
            band = seed_image_contrast(sides, (1.0, -1.0, -1.0, 1.0), each,
                                       n_resamples=resamples, what=f"claim 9 {name}")
        except (TypeError, ValueError, DataError):  # no per-image results
            by_size = gains[name]
            out[name] = [by_size[str(small)] - by_size[str(large)]]
            continue
        assert band.low is not None and band.high is not None
        out[name] = Interval(100.0 * band.estimate, 100.0 * band.low, 100.0 * band.high,
                             band.confidence, band.n, band.method, seeds=band.seeds)
    return out
