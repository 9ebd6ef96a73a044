"""Stage files for tests, built through their models (importable as `stagefiles`).

Every fabricated stage file goes through the model its stage writes, so a fixture can never
drift from the real shape: a renamed field fails here first. Each builder takes the numbers
a test cares about and fills the rest with plausible values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trainlab.claims.catalogue import CLAIMS, Claim
from trainlab.claims.results import ClaimsFile
from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, PENDING, STATUSES
from trainlab.ensemble import summary_file as ens
from trainlab.search.results import Manifest, Member, Recipe, SearchSummary, TrialCounts, TrialRow
from trainlab.training.results import TrainSummary
from trainlab.transfer.results import CellResult


def trial_row(trial: int, activation: str, regularization: str, augmentation: str, seed: int,
              state: str = "COMPLETE", **fields: Any) -> TrialRow:
    """A search_trials.csv line; unset scores are None (a trial that never scored)."""
    values = dict.fromkeys(TrialRow.model_fields) | {
        "trial": trial, "cell": f"{activation}|{regularization}|{augmentation}",
        "activation": activation, "regularization": regularization,
        "augmentation": augmentation, "preprocessing": "channel_standardize", "seed": seed,
        "state": state}
    return TrialRow(**values | fields)


def search_summary(best: TrialRow | None, counts: Mapping[str, int], **fields: Any
                   ) -> SearchSummary:
    """search.json with `best` as the best trial and `counts` of trials by state."""
    tally = dict.fromkeys(TrialCounts.model_fields, 0) | dict(counts)
    values = {"best": best.recipe() if best else None,
              "best_val_acc": best.val_acc if best else None,
              "best_test_acc": best.test_acc if best else None,
              "trials": TrialCounts(**tally), "study": "grid-study", "sampler": "grid",
              "n_cells": 12, "n_trials_expected": tally["total"], "wall_seconds": 60.0,
              "train_seconds": 50.0, "parent_run_id": "parent", "config_id": "0123456789ab",
              "confidence": 0.95, "best_set": None, "race": None,
              "best_gap_acc": best.gap_acc if best else None}
    return SearchSummary(**values | fields)


def member(rank: int, run_id: str, checkpoint: str, val_acc: float, **fields: Any) -> Member:
    """A manifest member; its recipe fields default to None (unknown)."""
    values = dict.fromkeys(Recipe.model_fields) | {"trial": rank * 10, "cell": "relu|none|none"}
    return Member(**values | {"rank": rank, "run_id": run_id, "checkpoint": checkpoint,
                              "val_acc": val_acc} | fields)


def manifest(members: Sequence[Member], study: str = "s", parent_run_id: str = "p") -> Manifest:
    return Manifest(study=study, parent_run_id=parent_run_id, requested_top_k=len(members),
                    members=tuple(members))


def ensemble_summary(members: Sequence[Mapping[str, Any]], gain_points: float, *,
                     vote_gain: float = 0.1, greedy_gain: float = 0.2, ece: float = 0.021,
                     disagreement: float = 0.061, notes: Sequence[str] = (),
                     study: str = "grid-study", seeds: int = 1) -> ens.EnsembleSummary:
    """ensemble.json over `members` (dicts with run_id, val_acc, test_acc; optionally trial,
    cell, ece), all averaged; the ensemble scores `gain_points` over the best member by val."""
    scores = tuple(ens.MemberScore(
        rank=rank, run_id=m["run_id"], trial=m.get("trial"), cell=m.get("cell"),
        checkpoint=f"models/search/rank{rank}.ckpt", val_acc=m["val_acc"],
        test_acc=m["test_acc"], nll=0.3, ece=m.get("ece", 0.04), manifest_val_acc=None,
        manifest_test_acc=None) for rank, m in enumerate(members, start=1))
    by_val = min(scores, key=lambda s: (-s.val_acc, s.rank))
    by_test = min(scores, key=lambda s: (-s.test_acc, s.rank))

    def single(s: ens.MemberScore, ece_: float) -> ens.Single:
        return ens.Single(rank=s.rank, run_id=s.run_id, val_acc=s.val_acc, acc=s.test_acc,
                      nll=s.nll, ece=ece_)

    acc = by_val.test_acc + gain_points / 100

    def around(points: float, half: float = 0.6) -> ens.GainInterval:
        return ens.GainInterval(low_points=points - half, high_points=points + half,
                                confidence=0.95, p_value=0.04, method="paired bootstrap",
                                seeds=seeds)

    return ens.EnsembleSummary(
        members=scores, top_k=ens.Used(requested=5, used=len(scores)),
        greedy_pool=ens.Used(requested=5, used=len(scores)), notes=tuple(notes),
        ensemble=ens.MeanEnsemble(acc=acc, val_acc=by_val.val_acc + 0.005, nll=0.25, ece=ece,
                              gain_points=gain_points, gain_interval=around(gain_points),
                              gain_points_vs_best_test=100 * (acc - by_test.test_acc),
                              members=tuple(s.run_id for s in scores)),
        best_single=ens.BestSingle(by_val=single(by_val, 0.043), by_test=single(by_test, 0.05)),
        vote=ens.Vote(acc=by_val.test_acc + vote_gain / 100, gain_points=vote_gain,
                      gain_interval=around(vote_gain)),
        greedy=ens.Greedy(acc=by_val.test_acc + greedy_gain / 100, val_acc=0.95, val_nll=0.2,
                      nll=0.26, gain_points=greedy_gain, gain_interval=around(greedy_gain),
                      criterion="val accuracy",
                      stopped="no_improvement", steps=2,
                      selection=(ens.Pick(rank=1, run_id=scores[0].run_id, count=2),)),
        diversity=ens.Diversity(disagreement=disagreement, members=len(scores)),
        study=study, search_parent_run_id="parent",
        data=ens.DataInfo(dataset="fashion_mnist", fingerprint="fp-1234", val_size=2000,
                      test_size=10000),
        mlflow_run_id="ensemble-run")


def cell(backbone: str, mode: str, size: int, test_acc: float, **fields: Any) -> CellResult:
    """A transfer.csv line: train accuracy 0.99, 5 epochs, 3 s unless given."""
    values = {"backbone": backbone, "mode": mode, "size": size, "test_acc": test_acc,
              "final_train_acc": 0.99, "gap_acc": 0.99 - test_acc, "val_acc": test_acc,
              "epochs": 5, "best_epoch": 4, "seconds": 3.0, "run_id": "x",
              "requested_size": str(size), "test_correct": None}
    return CellResult(**values | fields)


def train_summary(test_acc: float = 0.871, gap_acc: float = 0.05,
                  run_id: str | None = "abc") -> TrainSummary:
    return TrainSummary(test_acc=test_acc, test_loss=0.4, final_train_acc=test_acc + gap_acc,
                        final_train_loss=0.3, gap_acc=gap_acc, gap_loss=0.1, val_acc_best=0.88,
                        epochs_run=8, best_epoch=6, seconds=12.5, run_id=run_id)


def band(mean: Sequence[float | None], sd: float = 0.1) -> dict[str, Any]:
    return {"mean": list(mean), "sd": [sd] * len(mean)}


# Each claim's details as its stage writes them (claims 7-9: None while pending).
DETAILS: dict[str, Any] = {
    "saturation": {"seeds": 2, "grad_norm": {
        "sigmoid": {"init": band([1e-6, 1e-4, 1e-2, 0.5]), "trained": band([1e-6, 1e-4, 1e-2,
                                                                              0.5])},
        "relu": {"init": band([1.0] * 4, 0.0), "trained": band([1.2, 1.1, 1.0, 2.0])}}},
    "zero_centred": {"layer_mean": {"sigmoid": band([0.5, 0.5], 0.01),
                                    "tanh": band([0.0, 0.01], 0.01)}},
    "convergence": {"threshold": 0.9, "mean_curve": {"relu": [0.8, 0.92], "tanh": [0.7, 0.85]},
                    "epochs": [0.5, 1.0]},
    "dying_relu": {"by_lr": [
        {"activation": a, "lr": lr, "runs": 2, "diverged": int(lr > 0.05 and a == "relu"),
         "dead_mean": d * scale, "dead_sd": 0.05, "inactive_mean": d * scale + 0.1}
        for a, scale in (("relu", 1.0), ("elu", 0.2))
        for lr, d in ((0.001, 0.0), (0.01, 0.2), (0.1, 0.5))]},
    "preprocessing": {"test_acc": {"none": [0.80, 0.81], "channel_standardize": [0.84, 0.85]}},
    "early_stopping": {"val_acc": [[0.7, 0.8, 0.78]], "test_acc": [[0.69, 0.79, 0.76]]},
    "ensemble": {"member_test_acc": [0.9, 0.89, 0.88]},
    "regularization": {"presets": {"l2": {"axis": "regularization", "pairs": 2,
                                          "shrink": [3.0, 3.1], "test_change": [0.1, 0.0],
                                          "baseline_gap": [6.0, 6.2]}}},
    "transfer": {"gain_points": {"source/linear_probe": {"100": 9.0, "1000": 2.0}}},
}


# One condition of a claim: its effect with an interval, and a cost beside it.
CONDITION = {"effect": 1.5, "low": 0.6, "high": 2.4, "n": 3, "method": "t-interval over 3 values",
             "status": HOLDS, "reason": "the condition's reason", "cost": -0.4, "cost_low": -1.0,
             "cost_high": 0.2}


def claims_file(statuses: Mapping[str, str] | None = None,
                entry: Callable[[Claim], Mapping[str, Any]] | None = None) -> ClaimsFile:
    """claims.json with every claim (status `holds` unless `statuses` says otherwise);
    `entry(claim)` overrides fields of a claim's entry."""
    entries = {}
    for claim in CLAIMS:
        status = (statuses or {}).get(claim.key, HOLDS)
        entries[claim.key] = {
            "number": claim.number, "claim": claim.statement, "experiment": "the experiment",
            "status": status, "reason": "the reason", "rule": "the rule",
            "confidence": 0.95, "conditions": {"the condition": CONDITION | {
                "status": status if status != PENDING else INCONCLUSIVE}},
            "numbers": {"gain pp": 1.0}, "context": {}, "details": DETAILS[claim.key],
        } | dict(entry(claim) if entry else {})
    tally = [entry["status"] for entry in entries.values()]
    return ClaimsFile.model_validate({
        "claims": entries,
        "summary": {s.replace(" ", "_"): tally.count(s) for s in STATUSES},
        "seconds": {"total": 95.5, "gradient": 10.0, "convergence": 20.0, "preprocessing": 30.0,
                    "dead_units": 15.0, "early_stopping": 20.0},
        "seeds": [0, 1, 2],
        "data": {"dataset": "digits", "fingerprint": "fp", "preprocessing": "none"},
        "experiments": {"seeds": 3}, "rules": {},
        "evidence": {"search_trials": "reports/search_trials.csv",
                     "ensemble": "reports/ensemble.json", "transfer": "reports/transfer.csv"},
        "mlflow_run_id": "claims-run",
    })
