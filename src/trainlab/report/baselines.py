"""What the ensemble and transfer stages produced, read defensively.

The report must show whatever those stages wrote, so keys are recognised by what they name
(`vote` and `acc`, `gain`, `ece` ...) rather than by one exact spelling, and every scalar of
ensemble.json is also listed as it is. Accuracies become fractions: a value above 1 is read
as a percentage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainlab.io import finite_number, flatten
from trainlab.report.sources import ExperimentRuns, column, runs_of_kind
from trainlab.tracking import TRANSFER_KIND

TRANSFER_COLUMNS = ["backbone", "mode", "size", "test_acc", "final_train_acc", "gap_acc",
                    "val_acc", "epochs", "seconds", "run_id"]


def _accuracy(value: Any) -> float | None:
    number = finite_number(value)
    return None if number is None else (number / 100.0 if number > 1.0 else number)


def _find(flat: dict[str, Any], need: tuple[str, ...], avoid: tuple[str, ...] = (),
          exact: tuple[str, ...] = ()) -> Any:
    """The value under one of the `exact` keys, else under the first key that names every
    word of `need` and none of `avoid` (case-insensitive); only numbers count."""
    for key in exact:
        if finite_number(flat.get(key)) is not None:
            return flat[key]
    for key, value in flat.items():
        low = key.lower()
        if all(w in low for w in need) and not any(w in low for w in avoid) and \
                finite_number(value) is not None:
            return value
    return None


@dataclass
class EnsembleView:
    members: pd.DataFrame  # name, val_acc, test_acc
    scores: dict[str, float]  # label -> test accuracy (fraction)
    gain_points: float | None = None  # ensemble minus best single model, percentage points
    ece_single: float | None = None
    ece_ensemble: float | None = None
    disagreement: float | None = None
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # every scalar, as written


# The best single model is the one chosen on validation (what one would deploy alone), so
# keys about the best-by-test member (`by_test`) are only listed, never used as the baseline.
_SINGLE = ("best_single.by_val.acc", "best_single/acc", "best_single.acc", "best_single_acc")
_ENSEMBLE = ("ensemble.acc", "ensemble/acc", "ensemble.test_acc", "ensemble_acc")
_GAIN = ("ensemble.gain_points", "ensemble/gain_points", "gain_points")
_NOT_SINGLE = ("val", "ece", "gain", "nll", "by_test")


def ensemble_view(payload: Any) -> EnsembleView:
    """Recognise members, accuracies, gain, ECE and disagreement in ensemble.json (or in the
    ensemble run's MLflow metrics, keyed like `ensemble/acc`)."""
    flat = flatten(payload, scalars_only=True)
    members = _members(payload)
    best_single = _accuracy(_find(flat, ("single", "acc"), _NOT_SINGLE, _SINGLE)
                            or _find(flat, ("best", "acc"), (*_NOT_SINGLE, "ensemble")))
    if best_single is None and not members.empty:
        best_single = members.sort_values("val_acc", na_position="first")["test_acc"].iloc[-1]
    skip = ("vote", "greedy", "single", "best", "member", "gain", "val", "ece", "disagree",
            "nll")
    scores = {
        "best single model": best_single,
        "mean-probability ensemble": _accuracy(_find(flat, ("acc",), skip, _ENSEMBLE)),
        "majority vote": _accuracy(_find(flat, ("vote", "acc"), ("val", "gain"))),
        "greedy selection": _accuracy(_find(flat, ("greedy", "acc"), ("val", "gain"))),
    }
    scores = {k: v for k, v in scores.items() if v is not None}
    gain = finite_number(_find(flat, ("gain",), ("vote", "greedy", "by_test", "best_test"), _GAIN))
    if gain is None and {"best single model", "mean-probability ensemble"} <= scores.keys():
        gain = 100.0 * (scores["mean-probability ensemble"] - scores["best single model"])
    notes = payload.get("notes") if isinstance(payload, dict) else None
    return EnsembleView(
        members=members,
        scores=scores,
        gain_points=gain,
        ece_single=finite_number(_find(flat, ("ece", "single"), ("by_test",),
                                 ("best_single.by_val.ece", "best_single/ece"))),
        ece_ensemble=finite_number(_find(flat, ("ece", "ensemble"), ("single", "member"))),
        disagreement=finite_number(_find(flat, ("disagree",))),
        notes=[str(n) for n in notes] if isinstance(notes, list) else [],
        values=flat,
    )


def _members(payload: Any) -> pd.DataFrame:
    found = None
    if isinstance(payload, dict):
        for key, value in payload.items():
            if "member" in key.lower() and isinstance(value, list):
                found = value
                break
    rows = []
    for i, member in enumerate(found or []):
        flat = flatten(member, scalars_only=True)
        name = next((str(flat[k]) for k in ("name", "cell", "run_name", "label", "run_id")
                     if flat.get(k) not in (None, "")), f"member {i + 1}")
        if "rank" in flat:
            name = f"#{flat['rank']} {name}"
        rows.append({
            "name": name,
            "val_acc": _accuracy(_find(flat, ("val", "acc"), ("manifest",), ("val_acc",))),
            "test_acc": _accuracy(_find(flat, ("test", "acc"), ("manifest",), ("test_acc",))
                                  or _find(flat, ("acc",), ("val", "manifest"))),
        })
    return pd.DataFrame(rows, columns=["name", "val_acc", "test_acc"])


def transfer_from_json(payload: Any) -> pd.DataFrame | None:
    """The first list of result rows in transfer.json (or the file itself when it is a list)."""
    rows = payload if isinstance(payload, list) else None
    if isinstance(payload, dict):
        rows = next((v for v in payload.values()
                     if isinstance(v, list) and v and isinstance(v[0], dict)), None)
    if not rows:
        return None
    return normalise_transfer(pd.DataFrame(rows))


def transfer_from_runs(experiment: ExperimentRuns) -> pd.DataFrame | None:
    """Transfer rows from the MLflow runs of transfer cells."""
    runs = experiment.runs
    runs = runs_of_kind(runs, TRANSFER_KIND)
    if runs.empty:
        return None
    frame = pd.DataFrame({
        "backbone": column(runs, "tags.transfer.backbone"),
        "mode": column(runs, "tags.transfer.mode"),
        "size": column(runs, "tags.transfer.size"),
        "test_acc": column(runs, "metrics.test/acc"),
        "final_train_acc": column(runs, "metrics.final/train_acc"),
        "gap_acc": column(runs, "metrics.gap/acc"),
        "val_acc": column(runs, "metrics.val/acc_best"),
        "epochs": column(runs, "metrics.epochs_run"),
        "seconds": column(runs, "metrics.time/seconds"),
        "run_id": runs["run_id"],
    })
    return normalise_transfer(frame)


def normalise_transfer(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=TRANSFER_COLUMNS).copy()
    for name in ["test_acc", "final_train_acc", "gap_acc", "val_acc"]:
        values = pd.to_numeric(out[name], errors="coerce")
        out[name] = values.where(values.isna() | (values <= 1.0), values / 100.0)
    for name in ["epochs", "seconds"]:
        out[name] = pd.to_numeric(out[name], errors="coerce")
    out["backbone"] = out["backbone"].astype("string").fillna("")
    out["mode"] = out["mode"].astype("string").fillna("")
    out["size"] = out["size"].astype("string").str.replace(r"\.0$", "", regex=True).fillna("all")
    return out


def size_order(size: str) -> float:
    """Sort key and x position of a target size: numbers as they are, 'all' last."""
    number = finite_number(size)
    return number if number is not None else math.inf


def transfer_gains(transfer: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy of each pretrained mode minus training from scratch at the same size.

    Scratch rows of the same backbone are the baseline; when the scratch runs carry another
    backbone label (e.g. the scratch network's own name), all scratch rows of that size are.
    Columns: backbone, mode, size, gain_points.
    """
    means = transfer.groupby(["backbone", "mode", "size"], sort=False)["test_acc"].mean()
    means = means.reset_index()
    scratch = means[means["mode"] == "scratch"]
    rows = []
    for _, row in means[means["mode"] != "scratch"].iterrows():
        same = scratch[(scratch["size"] == row["size"]) & (scratch["backbone"] == row["backbone"])]
        if same.empty:
            same = scratch[scratch["size"] == row["size"]]
        if not same.empty and not np.isnan(row["test_acc"]):
            rows.append({"backbone": row["backbone"], "mode": row["mode"], "size": row["size"],
                         "gain_points": 100.0 * (row["test_acc"] - same["test_acc"].mean())})
    frame = pd.DataFrame(rows, columns=["backbone", "mode", "size", "gain_points"])
    key = frame["size"].map(size_order)
    return frame.assign(_k=key).sort_values(["backbone", "mode", "_k"]).drop(columns="_k")
