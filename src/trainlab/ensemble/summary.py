"""The ensemble report from cached predictions: members, combinations, gains (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from trainlab.config.schema import EnsembleConfig, StatsConfig
from trainlab.ensemble.combine import greedy_select, majority_vote, mean_probs
from trainlab.ensemble.metrics import disagreement, expected_calibration_error, nll
from trainlab.ensemble.predict import Predictions
from trainlab.ensemble.summary_file import (
    SEED_KEY,
    BestSingle,
    Combined,
    DataInfo,
    Diversity,
    EnsembleSummary,
    GainInterval,
    Greedy,
    MeanEnsemble,
    MemberScore,
    OverSeeds,
    Pick,
    SeedDraw,
    Single,
    Used,
    Vote,
)
from trainlab.models.scoring import accuracy
from trainlab.search.results import Manifest, Member
from trainlab.stats.paired import paired_difference

CRITERIA = {  # how greedy selection scored a mixture, in words for the report
    "accuracy": "val accuracy of the averaged probabilities, ties by val NLL",
    "nll": "val NLL of the averaged probabilities",
}


def summarize(
    preds: Predictions,
    cfg: EnsembleConfig,
    manifest: Manifest,
    dataset: str,
    fingerprint: str,
    notes: Sequence[str] = (),
    stats: StatsConfig | None = None,
) -> EnsembleSummary:
    """The stage's report from cached predictions (no I/O): members, combinations, gains.

    Single-model baselines are the best of the top-k members by val accuracy (what one
    would deploy without an ensemble) and, for reference, by test accuracy. `notes` go after
    the report's own. Every gain carries its interval at `stats.confidence`: paired on the
    same test images (trainlab.stats.paired: bootstrap over images, McNemar's exact test),
    the sampling error of the gain itself, not the spread of the members' accuracies.
    """
    stats = stats or StatsConfig()
    manifest_size = len(manifest.members)
    top_k = min(cfg.top_k, manifest_size)
    pool = min(cfg.greedy_pool, manifest_size)
    val, test, y_val, y_test = preds.val, preds.test, preds.val_labels, preds.test_labels
    members = [
        _member_row(m, val[i], test[i], y_val, y_test, cfg.ece_bins)
        for i, m in enumerate(preds.members)
    ]
    best_val = min(range(top_k), key=lambda i: (-members[i].val_acc, i))
    best_test = min(range(top_k), key=lambda i: (-members[i].test_acc, i))
    best_acc = members[best_val].test_acc

    ensemble = mean_probs(test[:top_k])
    ens_acc = accuracy(ensemble, y_test)
    vote_acc = (majority_vote(test[:top_k]) == y_test).double().mean().item()
    greedy = greedy_select(val[:pool], y_val, cfg.greedy_steps, cfg.greedy_metric)
    greedy_probs = mean_probs(test[:pool], torch.tensor(greedy.counts))
    greedy_acc = accuracy(greedy_probs, y_test)
    best_correct = _correct(test[best_val], y_test)

    def gain(combined: torch.Tensor) -> GainInterval:
        return _gain_interval(_correct(combined, y_test), best_correct, stats)

    capped = [
        f"ensemble.{key} = {asked} but the manifest lists {manifest_size} member(s); used all"
        for key, asked in (("top_k", cfg.top_k), ("greedy_pool", cfg.greedy_pool))
        if asked > manifest_size
    ]
    return EnsembleSummary(
        members=tuple(members),
        top_k=Used(requested=cfg.top_k, used=top_k),
        greedy_pool=Used(requested=cfg.greedy_pool, used=pool),
        notes=(*capped, *_manifest_mismatches(members, len(y_val), len(y_test)), *notes),
        ensemble=MeanEnsemble(
            acc=ens_acc,
            val_acc=accuracy(mean_probs(val[:top_k]), y_val),
            nll=nll(ensemble, y_test),
            ece=expected_calibration_error(ensemble, y_test, cfg.ece_bins),
            gain_points=_points(ens_acc, best_acc),
            gain_interval=gain(ensemble),
            gain_points_vs_best_test=_points(ens_acc, members[best_test].test_acc),
            members=tuple(m.run_id for m in preds.members[:top_k]),
        ),
        best_single=BestSingle(by_val=_single(members[best_val]),
                               by_test=_single(members[best_test])),
        vote=Vote(acc=vote_acc, gain_points=_points(vote_acc, best_acc),
                  gain_interval=gain(majority_vote(test[:top_k]))),
        greedy=Greedy(
            acc=greedy_acc,
            val_acc=greedy.val_acc,
            val_nll=greedy.val_nll,
            nll=nll(greedy_probs, y_test),
            gain_points=_points(greedy_acc, best_acc),
            gain_interval=gain(greedy_probs),
            criterion=CRITERIA[cfg.greedy_metric],
            stopped=greedy.stopped,
            steps=len(greedy.picks),
            selection=tuple(
                Pick(rank=preds.members[i].rank, run_id=preds.members[i].run_id, count=c)
                for i, c in enumerate(greedy.counts)
                if c
            ),
        ),
        diversity=Diversity(disagreement=disagreement(test[:top_k]), members=top_k),
        study=manifest.study,
        search_parent_run_id=manifest.parent_run_id,
        data=DataInfo(dataset=dataset, fingerprint=fingerprint, val_size=len(y_val),
                      test_size=len(y_test)),
        mlflow_run_id=None,
    )


def over_seeds(draws: dict[int, Predictions], cfg: EnsembleConfig,
               stats: StatsConfig) -> OverSeeds:
    """The per-seed ensembles (seed -> the top cells' trials at that seed, the best cell
    first), each against the best cell at the same seed, and their gains over the seeds.

    Each gain's interval is `paired_difference` of the combinations' correctness (n_seeds,
    n_images) against the best cell's (n_seeds, n_images): the seed x image bootstrap, so its
    `seeds` is the number of seeds. Greedy selection works per seed among that seed's members
    (`ensemble.greedy_pool` applies to the one draw of the ranked checkpoints only).
    """
    if not draws:
        raise ValueError("over_seeds needs at least one seed's ensemble")
    rows: list[SeedDraw] = []
    correct: dict[str, list[np.ndarray]] = {"best": [], "mean": [], "vote": [], "greedy": []}
    for seed, preds in sorted(draws.items()):
        test, y_test = preds.test, preds.test_labels
        greedy = greedy_select(preds.val, preds.val_labels, cfg.greedy_steps, cfg.greedy_metric)
        combined = {
            "best": test[0],  # rank 1: the best cell's trial at this seed
            "mean": mean_probs(test),
            "vote": majority_vote(test),
            "greedy": mean_probs(test, torch.tensor(greedy.counts)),
        }
        for name, predicted in combined.items():
            correct[name].append(_correct(predicted, y_test))
        rows.append(SeedDraw(
            seed=seed, members=tuple(m.run_id for m in preds.members),
            best_acc=float(correct["best"][-1].mean()), mean_acc=float(correct["mean"][-1].mean()),
            vote_acc=float(correct["vote"][-1].mean()),
            greedy_acc=float(correct["greedy"][-1].mean()),
            greedy_picks=tuple(Pick(rank=preds.members[i].rank, run_id=preds.members[i].run_id,
                                    count=c) for i, c in enumerate(greedy.counts) if c),
        ))
    best = np.stack(correct["best"])

    def combine(name: str) -> Combined:
        mine = np.stack(correct[name])
        interval = _gain_interval(mine, best, stats)
        acc = float(mine.mean())
        return Combined(acc=acc, gain_points=_points(acc, float(best.mean())),
                        gain_interval=interval)

    first = draws[min(draws)].members
    return OverSeeds(
        cells=tuple(m.cell or "" for m in first), best_cell=first[0].cell or "",
        best_recipe_acc=float(best.mean()), draws=tuple(rows),
        mean=combine("mean"), vote=combine("vote"), greedy=combine("greedy"),
        method=(f"one ensemble per seed ({len(rows)}: {[r.seed for r in rows]}) of the top "
                f"{len(first)} cells' trials at that seed, each against the best cell's trial "
                "at the same seed; gains averaged over the seeds"),
    )


def test_predictions(preds: Predictions, summary: EnsembleSummary) -> dict[str, np.ndarray]:
    """What the summary scored on the test split, per combination: the best single member's,
    the mean's and greedy selection's probabilities (N, C), the vote's classes (N,). For the
    leaderboard (trainlab.probabilities), which scores them beside the baselines."""
    ranks = [m.rank for m in preds.members]
    test, top_k = preds.test, summary.top_k.used
    counts = torch.zeros(len(ranks))
    for pick in summary.greedy.selection:
        counts[ranks.index(pick.rank)] = pick.count
    pool = summary.greedy_pool.used
    return {
        "best_single": test[ranks.index(summary.best_single.by_val.rank)].numpy(),
        "mean": mean_probs(test[:top_k]).numpy(),
        "vote": majority_vote(test[:top_k]).numpy(),
        "greedy": mean_probs(test[:pool], counts[:pool]).numpy(),
    }


def seed_test_predictions(draws: dict[int, Predictions],
                          seeded: OverSeeds) -> dict[str, np.ndarray]:
    """What `over_seeds` scored on the test split, per seed and combination (the best cell's,
    the mean's and greedy selection's probabilities (N, C), the vote's classes (N,)) under
    SEED_KEY: the leaderboard's ensemble rows are these, over the seeds, beside the best
    recipe's seeds."""
    out = {}
    for draw in seeded.draws:
        preds = draws[draw.seed]
        run_ids = [m.run_id for m in preds.members]
        counts = torch.zeros(len(run_ids))
        for pick in draw.greedy_picks:
            counts[run_ids.index(pick.run_id)] = pick.count
        combined = {"best": preds.test[0],  # rank 1: the best cell's trial at this seed
                    "mean": mean_probs(preds.test), "vote": majority_vote(preds.test),
                    "greedy": mean_probs(preds.test, counts)}
        for combination, values in combined.items():
            out[SEED_KEY.format(combination=combination, seed=draw.seed)] = values.numpy()
    return out


def _correct(predicted: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Per-image correctness of probabilities (N, C) or predicted classes (N,)."""
    classes = predicted.argmax(dim=1) if predicted.ndim == 2 else predicted
    return (classes == labels).cpu().numpy()


def _gain_interval(combined: np.ndarray, best: np.ndarray, stats: StatsConfig) -> GainInterval:
    diff = paired_difference(combined, best, stats.confidence, n_resamples=stats.resamples)
    return GainInterval(low_points=100 * diff.low, high_points=100 * diff.high,
                        confidence=diff.confidence, p_value=diff.p_value, method=diff.method,
                        seeds=min(diff.n_seeds_a, diff.n_seeds_b))


def _member_row(
    member: Member,
    val: torch.Tensor,
    test: torch.Tensor,
    y_val: torch.Tensor,
    y_test: torch.Tensor,
    bins: int,
) -> MemberScore:
    return MemberScore(
        rank=member.rank,
        run_id=member.run_id,
        trial=member.trial,
        cell=member.cell,
        checkpoint=member.checkpoint,
        val_acc=accuracy(val, y_val),
        test_acc=accuracy(test, y_test),
        nll=nll(test, y_test),
        ece=expected_calibration_error(test, y_test, bins),
        manifest_val_acc=member.val_acc,
        manifest_test_acc=member.test_acc,
    )


def _single(row: MemberScore) -> Single:
    return Single(rank=row.rank, run_id=row.run_id, val_acc=row.val_acc, acc=row.test_acc,
                  nll=row.nll, ece=row.ece)


def _points(acc: float, baseline: float) -> float:
    """Accuracy difference in percentage points."""
    return 100.0 * (acc - baseline)


def _manifest_mismatches(members: list[MemberScore], n_val: int, n_test: int) -> list[str]:
    """Members whose recomputed accuracy differs from the manifest's by a sample or more."""
    notes = []
    for row in members:
        for split, size, here, recorded in (
            ("val", n_val, row.val_acc, row.manifest_val_acc),
            ("test", n_test, row.test_acc, row.manifest_test_acc),
        ):
            if recorded is not None and abs(recorded - here) >= 0.5 / size:
                notes.append(
                    f"rank {row.rank}: {split} accuracy {here:.4f} here, "
                    f"{recorded:.4f} in the manifest (other data or device numerics?)"
                )
    return notes
