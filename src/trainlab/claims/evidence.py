"""What the other stages already measured, reshaped into the numbers the claims' rules read.

- claims 3 (context), 6 (context) and 8 from the search: reports/search_trials.csv, plus the
  train-accuracy history of its MLflow trial runs;
- claim 7 from reports/ensemble.json; claim 9 from reports/transfer.csv.
A missing or unreadable file is not an error: its claim is pending, and the reason says which
stage to run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from trainlab.config import GridConfig
from trainlab.io import finite_number

# The columns each stage file must have (its stage writes more).
REQUIRED = {
    "search": ("state", "activation", "regularization", "augmentation", "seed", "test_acc",
               "gap_acc"),
    "transfer": ("backbone", "mode", "size", "test_acc"),
}
FINISHED = ("COMPLETE", "finished")  # the CSV's Optuna state, or the report's trial state
LECTURE_PENALTIES = ("l2", "l1", "elastic", "dropout")  # the regularizers the lecture lists


def fix(stage: str) -> str:
    """What makes a stage's missing or stale file right (the end of a pending reason)."""
    return f"run `dvc repro {stage}`"


def finished(trials: pd.DataFrame) -> pd.DataFrame:
    """The finished trials, metrics as numbers, recipe axes as text (one row per cell+seed)."""
    done = trials[trials["state"].astype(str).isin(FINISHED)].copy()
    for name in ("test_acc", "final_train_acc", "gap_acc", "val_acc", "epochs_run",
                 "best_epoch"):
        done[name] = pd.to_numeric(done.get(name), errors="coerce")
    for name in ("activation", "regularization", "augmentation", "preprocessing", "seed"):
        done[name] = done.get(name, pd.Series("", index=done.index)).astype(str)
    keys = ["activation", "regularization", "augmentation", "preprocessing", "seed"]
    return done.drop_duplicates(keys, keep="last").reset_index(drop=True)


def preset_pairs(trials: pd.DataFrame) -> dict[str, dict[str, Any]]:
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
            }
    return out


def untested_penalties(trials: pd.DataFrame, grid: GridConfig) -> list[str]:
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


def search_early_stopping(trials: pd.DataFrame) -> dict[str, float]:
    """Claim 6 context: how often the search's validation accuracy peaked before the last
    epoch (its test accuracy is only known at the kept snapshot, not at the last epoch)."""
    done = finished(trials).dropna(subset=["best_epoch", "epochs_run"])
    if done.empty:
        return {}
    before = done["best_epoch"] < done["epochs_run"]  # best_epoch counts from 1 in the CSV
    return {"search share of trials peaking before the last epoch": float(before.mean()),
            "search trials": float(len(done))}


def search_train_curves(client: MlflowClient, trials: pd.DataFrame) -> dict[str, list[float]]:
    """Claim 3 context: mean train accuracy per epoch and activation over the finished search
    trials without regularization and augmentation (all trials when there are none)."""
    done = finished(trials)
    plain = done[(done["regularization"] == "none") & (done["augmentation"] == "none")]
    chosen = plain if len(plain) else done
    curves: dict[str, list[list[float]]] = {}
    for _, trial in chosen.iterrows():
        run_id = trial.get("run_id")
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


def ensemble_numbers(payload: Mapping[str, Any]) -> tuple[float | None, list[float],
                                                           dict[str, float | None]]:
    """Claim 7: (gain in points over the best single model by val, the averaged members'
    test accuracies, headline numbers) from ensemble.json."""
    ens = payload.get("ensemble") or {}
    used = (payload.get("top_k") or {}).get("used")
    members = [m for m in payload.get("members") or [] if isinstance(m, dict)]
    members = members[:used] if isinstance(used, int) else members
    accs = [float(m["test_acc"]) for m in members if finite_number(m.get("test_acc")) is not None]
    best = (payload.get("best_single") or {}).get("by_val") or {}
    numbers = {
        "ensemble test acc": finite_number(ens.get("acc")),
        "best single test acc": finite_number(best.get("acc")),
        "members": float(len(accs)),
        "vote gain pp": finite_number((payload.get("vote") or {}).get("gain_points")),
        "greedy gain pp": finite_number((payload.get("greedy") or {}).get("gain_points")),
    }
    return finite_number(ens.get("gain_points")), accs, numbers


def transfer_gains(transfer: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Claim 9: test-accuracy gain (points) of each pretrained `backbone/mode` over scratch at
    each target size (scratch of the same backbone, else any scratch run of that size),
    sizes smallest first ('all' last)."""
    frame = transfer.copy()
    frame["test_acc"] = pd.to_numeric(frame["test_acc"], errors="coerce")
    frame["size"] = frame["size"].astype(str).str.replace(r"\.0$", "", regex=True)
    means = frame.groupby(["backbone", "mode", "size"])["test_acc"].mean().reset_index()
    scratch = means[means["mode"] == "scratch"]
    gains: dict[str, dict[str, float]] = {}
    for _, row in means[means["mode"] != "scratch"].iterrows():
        same = scratch[(scratch["size"] == row["size"]) & (scratch["backbone"] == row["backbone"])]
        same = same if len(same) else scratch[scratch["size"] == row["size"]]
        if len(same) and math.isfinite(row["test_acc"]):
            gains.setdefault(f"{row['backbone']}/{row['mode']}", {})[row["size"]] = round(
                100 * (row["test_acc"] - same["test_acc"].mean()), 4)
    return {name: dict(sorted(by.items(), key=lambda kv: _size_key(kv[0])))
            for name, by in gains.items()}


def _size_key(size: str) -> float:
    number = finite_number(size)
    return number if number is not None else math.inf
