"""The leaderboard's numbers from per-image test results (no I/O, no training).

Every model is scored on the same prepared test images, per seed (an entry's `correct` is
(n_seeds, N)): its accuracy is the mean over its seeds, with the seed x image interval
(:func:`trainlab.stats.paired.seed_image_contrast`; Clopper-Pearson's for one seed), its
difference from the best single recipe the seed x image paired difference
(:func:`trainlab.stats.paired.paired_difference`: each side's seeds resampled on their own,
the images jointly), both at `stats.confidence`. Whether it is ahead or behind is
`trainlab.stats.verdict.judge`'s call (:func:`standing`): with one seed on a side it is
"inconclusive (one seed)", whatever the interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from trainlab.config.schema import StatsConfig
from trainlab.ensemble.metrics import expected_calibration_error, nll
from trainlab.leaderboard.results import (
    AHEAD,
    BEHIND,
    BEST_SINGLE,
    NOT_DISTINGUISHABLE,
    ONE_SEED,
    REFERENCE,
    Crossover,
    CurvePoint,
    Headline,
    Row,
)
from trainlab.stats.intervals import Interval, accuracy_interval
from trainlab.stats.paired import (
    PairedDifference,
    as_correctness,
    paired_difference,
    seed_image_contrast,
)
from trainlab.stats.verdict import HOLDS, NOT_HOLDS, judge

RECIPE = "best recipe"  # the curve's name of the best single recipe


@dataclass(frozen=True)
class Entry:
    """A model to place on the leaderboard, with what it got right per test image."""

    name: str
    kind: str  # recipe | ensemble | baseline
    correct: np.ndarray  # (N,) or (n_seeds, N) bool, in the prepared test order
    # (N, C) or (n_seeds, N, C): ECE and NLL are the mean over seeds; None: it names classes
    # only (the vote)
    probs: np.ndarray | None
    train_acc: float | None  # mean over seeds
    params: int
    train_seconds: float  # what one model of the row cost to train (a mean over seeds)
    images_per_second: float
    run_id: str | None


def leaderboard_rows(entries: Sequence[Entry], labels: np.ndarray, stats: StatsConfig,
                     ece_bins: int) -> list[Row]:
    """One row per entry, best test accuracy first, each against the entry named BEST_SINGLE.

    Raises:
        ValueError: no BEST_SINGLE entry, or entries scored on different numbers of images.
    """
    reference = next((e for e in entries if e.name == BEST_SINGLE), None)
    if reference is None:
        raise ValueError(f"the leaderboard needs the {BEST_SINGLE!r} entry to compare with")
    target = torch.as_tensor(labels)
    rows = []
    for entry in entries:
        if entry.correct.shape[-1] != reference.correct.shape[-1]:
            raise ValueError(f"{entry.name} is scored on {entry.correct.shape[-1]} test images, "
                             f"the {BEST_SINGLE} on {reference.correct.shape[-1]}")
        acc = accuracy_band(entry.correct, stats)
        diff = paired_difference(entry.correct, reference.correct, stats.confidence,
                                 n_resamples=stats.resamples)
        ece, loss = _calibration(entry.probs, target, ece_bins)
        own = REFERENCE if entry is reference else standing(diff)
        # The reference against itself is 0 exactly: resampling its seeds twice, once a side,
        # would print a spread around a difference that cannot vary.
        low, high = (0.0, 0.0) if entry is reference else (diff.low, diff.high)
        rows.append(Row(
            name=entry.name, kind=entry.kind, test_acc=acc.estimate, test_low=acc.low,
            test_high=acc.high, diff_points=100 * diff.estimate, diff_low=100 * low,
            diff_high=100 * high, diff_p=diff.p_value, seeds=diff.n_seeds_a,
            standing=own, train_acc=entry.train_acc,
            gap_acc=None if entry.train_acc is None else entry.train_acc - acc.estimate,
            ece=ece, nll=loss, params=entry.params,
            train_seconds=entry.train_seconds, images_per_second=entry.images_per_second,
            run_id=entry.run_id,
        ))
    return sorted(rows, key=lambda row: -row.test_acc)


def accuracy_band(correct: np.ndarray, stats: StatsConfig) -> Interval:
    """Test accuracy, mean over seeds and images, with its interval at `stats.confidence`: the
    seed x image bootstrap for several seeds (n_seeds x N are not independent trials: the
    seeds share the images), Clopper-Pearson's exact one for one seed."""
    array = as_correctness(correct, "correct")
    if array.shape[0] == 1:
        return accuracy_interval(array[0], stats.confidence)
    return seed_image_contrast([array], [1.0], stats.confidence, n_resamples=stats.resamples,
                               what="accuracy")


def _calibration(probs: np.ndarray | None, target: torch.Tensor,
                 bins: int) -> tuple[float | None, float | None]:
    """ECE and NLL, the mean over seeds of each seed's (not of the averaged probabilities:
    that would be an ensemble's)."""
    if probs is None:
        return None, None
    per_seed = np.asarray(probs)
    per_seed = per_seed[np.newaxis] if per_seed.ndim == 2 else per_seed
    eces = [expected_calibration_error(torch.as_tensor(p), target, bins) for p in per_seed]
    nlls = [nll(torch.as_tensor(p), target) for p in per_seed]
    return float(np.mean(eces)), float(np.mean(nlls))


def headline(rows: Sequence[Row], model: str) -> Headline | None:
    """The declared baseline's row (`base_vs`) against the best single recipe; None when the
    board has no such row."""
    row = next((r for r in rows if r.name == model), None)
    reference = next((r for r in rows if r.name == BEST_SINGLE), None)
    if row is None or reference is None:
        return None
    return Headline(model=model, diff_points=row.diff_points, diff_low=row.diff_low,
                    diff_high=row.diff_high, seeds=min(row.seeds, reference.seeds),
                    standing=row.standing)


def standing(diff: PairedDifference) -> str:
    """Ahead, behind, not distinguishable, or one seed: the verdict of its interval vs 0."""
    verdict = judge(diff.interval, 0.0)
    if verdict.one_seed:
        return ONE_SEED
    return {HOLDS: AHEAD, NOT_HOLDS: BEHIND}.get(verdict.status, NOT_DISTINGUISHABLE)


def curve_point(model: str, fraction: float, images: int, correct: np.ndarray,
                train_seconds: float, run_id: str | None, stats: StatsConfig) -> CurvePoint:
    """`correct`: (N,) or (n_seeds, N); the point is the mean over seeds (`accuracy_band`)."""
    acc = accuracy_band(correct, stats)
    return CurvePoint(model=model, fraction=fraction, images=images, test_acc=acc.estimate,
                      test_low=acc.low, test_high=acc.high,
                      seeds=as_correctness(correct, "correct").shape[0],
                      train_seconds=train_seconds, run_id=run_id)


def crossover(model: str, sizes: Sequence[int], baseline: Sequence[np.ndarray],
              recipe: Sequence[np.ndarray], stats: StatsConfig) -> Crossover:
    """The baseline against the recipe at each size, paired on the test images: each a
    (N,) or (n_seeds, N) array, so the difference is the seed x image one.

    `ahead_up_to`: the largest size up to which (from the smallest) the baseline is ahead
    (:func:`standing`) at every size; None when it is not ahead at the smallest (or one seed).
    """
    diffs = [paired_difference(b, r, stats.confidence, n_resamples=stats.resamples)
             for b, r in zip(baseline, recipe, strict=True)]
    standings = [standing(diff) for diff in diffs]
    ahead_up_to = None
    for size, where in zip(sizes, standings, strict=True):
        if where != AHEAD:
            break
        ahead_up_to = size
    return Crossover(
        model=model, sizes=tuple(sizes),
        diff_points=tuple(100 * d.estimate for d in diffs),
        diff_low=tuple(100 * d.low for d in diffs), diff_high=tuple(100 * d.high for d in diffs),
        ahead_up_to=ahead_up_to, verdict=crossover_verdict(model, sizes, standings, stats),
        seeds=tuple(min(d.n_seeds_a, d.n_seeds_b) for d in diffs),
    )


def crossover_verdict(model: str, sizes: Sequence[int], standings: Sequence[str],
                      stats: StatsConfig) -> str:
    """One sentence: at which sizes the baseline is ahead, behind, not distinguishable, or
    compared with one seed (never decided)."""
    at = {where: [s for s, w in zip(sizes, standings, strict=True) if w == where]
          for where in (AHEAD, BEHIND, NOT_DISTINGUISHABLE, ONE_SEED)}
    level = f"{stats.confidence:.0%}"

    def listed(values: Sequence[int]) -> str:
        return ", ".join(f"{v:,}" for v in values)

    if len(at[ONE_SEED]) == len(sizes):
        return (f"{model} vs the best recipe: one seed each at every size tried "
                f"({listed(sizes)} labelled images), so not decided: the paired intervals at "
                f"{level} leave out seed-to-seed variation")
    if len(at[AHEAD]) == len(sizes):
        return (f"{model} beats the best recipe at every size tried ({listed(sizes)} labelled "
                f"images; paired intervals above 0 at {level})")
    if len(at[NOT_DISTINGUISHABLE]) == len(sizes):
        return (f"{model} and the best recipe cannot be told apart at any size tried "
                f"({listed(sizes)}; paired intervals at {level} include 0)")
    words = {AHEAD: "ahead at", BEHIND: "behind at", NOT_DISTINGUISHABLE: "not distinguishable at",
             ONE_SEED: "one seed (not decided) at"}
    parts = [f"{words[where]} {listed(at[where])}" for where in words if at[where]]
    return f"{model} vs the best recipe: " + "; ".join(parts) + f" labelled images ({level})"
