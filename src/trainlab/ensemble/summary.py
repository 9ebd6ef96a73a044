"""The ensemble report from cached predictions: members, combinations, gains (no I/O)."""

from __future__ import annotations

from typing import Any

import torch

from trainlab.config import EnsembleConfig
from trainlab.ensemble.combine import greedy_select, majority_vote, mean_probs
from trainlab.ensemble.manifest import Member
from trainlab.ensemble.metrics import disagreement, expected_calibration_error, nll
from trainlab.ensemble.predict import Predictions
from trainlab.models.scoring import accuracy

CRITERIA = {  # how greedy selection scored a mixture, in words for the report
    "accuracy": "val accuracy of the averaged probabilities, ties by val NLL",
    "nll": "val NLL of the averaged probabilities",
}


def summarize(preds: Predictions, cfg: EnsembleConfig, manifest_size: int) -> dict[str, Any]:
    """The stage's report from cached predictions (no I/O): members, combinations, gains.

    Single-model baselines are the best of the top-k members by val accuracy (what one
    would deploy without an ensemble) and, for reference, by test accuracy.
    """
    top_k = min(cfg.top_k, manifest_size)
    pool = min(cfg.greedy_pool, manifest_size)
    val, test, y_val, y_test = preds.val, preds.test, preds.val_labels, preds.test_labels
    members = [
        _member_row(m, val[i], test[i], y_val, y_test, cfg.ece_bins)
        for i, m in enumerate(preds.members)
    ]
    best_val = min(range(top_k), key=lambda i: (-members[i]["val_acc"], i))
    best_test = min(range(top_k), key=lambda i: (-members[i]["test_acc"], i))
    best_acc = members[best_val]["test_acc"]

    ensemble = mean_probs(test[:top_k])
    ens_acc = accuracy(ensemble, y_test)
    vote_acc = (majority_vote(test[:top_k]) == y_test).double().mean().item()
    greedy = greedy_select(val[:pool], y_val, cfg.greedy_steps, cfg.greedy_metric)
    greedy_probs = mean_probs(test[:pool], torch.tensor(greedy.counts))
    greedy_acc = accuracy(greedy_probs, y_test)
    notes = [
        f"ensemble.{key} = {asked} but the manifest lists {manifest_size} member(s); used all"
        for key, asked in (("top_k", cfg.top_k), ("greedy_pool", cfg.greedy_pool))
        if asked > manifest_size
    ]
    return {
        "members": members,
        "top_k": {"requested": cfg.top_k, "used": top_k},
        "greedy_pool": {"requested": cfg.greedy_pool, "used": pool},
        "notes": notes + _manifest_mismatches(members, len(y_val), len(y_test)),
        "ensemble": {
            "acc": ens_acc,
            "val_acc": accuracy(mean_probs(val[:top_k]), y_val),
            "nll": nll(ensemble, y_test),
            "ece": expected_calibration_error(ensemble, y_test, cfg.ece_bins),
            "gain_points": _points(ens_acc, best_acc),
            "gain_points_vs_best_test": _points(ens_acc, members[best_test]["test_acc"]),
            "members": [m.run_id for m in preds.members[:top_k]],
        },
        "best_single": {
            "by_val": _best_row(members[best_val]),
            "by_test": _best_row(members[best_test]),
        },
        "vote": {"acc": vote_acc, "gain_points": _points(vote_acc, best_acc)},
        "greedy": {
            "acc": greedy_acc,
            "val_acc": greedy.val_acc,
            "val_nll": greedy.val_nll,
            "nll": nll(greedy_probs, y_test),
            "gain_points": _points(greedy_acc, best_acc),
            "criterion": CRITERIA[cfg.greedy_metric],
            "stopped": greedy.stopped,
            "steps": len(greedy.picks),
            "selection": [
                {"rank": preds.members[i].rank, "run_id": preds.members[i].run_id, "count": c}
                for i, c in enumerate(greedy.counts)
                if c
            ],
        },
        "diversity": {"disagreement": disagreement(test[:top_k]), "members": top_k},
    }


def _member_row(
    member: Member,
    val: torch.Tensor,
    test: torch.Tensor,
    y_val: torch.Tensor,
    y_test: torch.Tensor,
    bins: int,
) -> dict[str, Any]:
    return {
        "rank": member.rank,
        "run_id": member.run_id,
        "trial": member.trial,
        "cell": member.cell,
        "checkpoint": member.checkpoint,
        "val_acc": accuracy(val, y_val),
        "test_acc": accuracy(test, y_test),
        "nll": nll(test, y_test),
        "ece": expected_calibration_error(test, y_test, bins),
        "manifest_val_acc": member.val_acc,
        "manifest_test_acc": member.test_acc,
    }


def _best_row(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("rank", "run_id", "val_acc", "test_acc", "nll", "ece")
    return {"acc" if key == "test_acc" else key: row[key] for key in keys}


def _points(acc: float, baseline: float) -> float:
    """Accuracy difference in percentage points."""
    return 100.0 * (acc - baseline)


def _manifest_mismatches(members: list[dict[str, Any]], n_val: int, n_test: int) -> list[str]:
    """Members whose recomputed accuracy differs from the manifest's by a sample or more."""
    notes = []
    for row in members:
        for split, size in (("val", n_val), ("test", n_test)):
            recorded = row[f"manifest_{split}_acc"]
            if recorded is not None and abs(recorded - row[f"{split}_acc"]) >= 0.5 / size:
                notes.append(
                    f"rank {row['rank']}: {split} accuracy {row[f'{split}_acc']:.4f} here, "
                    f"{recorded:.4f} in the manifest (other data or device numerics?)"
                )
    return notes
