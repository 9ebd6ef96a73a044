"""The leaderboard's numbers from per-image test results (no I/O, no training).

Every model is scored on the same prepared test images; its accuracy interval is
Clopper-Pearson's, its difference from the best single recipe the paired bootstrap with
McNemar's exact test (:mod:`trainlab.stats`), both at `stats.confidence`. Whether it is
ahead or behind is `trainlab.stats.verdict.judge`'s call (:func:`standing`): with one seed on
a side it is "inconclusive (one seed)", whatever the interval.
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
    Row,
)
from trainlab.stats.intervals import accuracy_interval
from trainlab.stats.paired import PairedDifference, paired_difference
from trainlab.stats.verdict import HOLDS, NOT_HOLDS, judge

RECIPE = "best recipe"  # the curve's name of the best single recipe


@dataclass(frozen=True)
class Entry:
    """A model to place on the leaderboard, with what it got right per test image."""

    name: str
    kind: str  # recipe | ensemble | baseline
    correct: np.ndarray  # (N,) bool, in the prepared test order
    probs: np.ndarray | None  # (N, C); None: it names classes only (the vote)
    train_acc: float | None
    params: int
    train_seconds: float
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
        if entry.correct.shape != reference.correct.shape:
            raise ValueError(f"{entry.name} is scored on {entry.correct.shape[0]} test images, "
                             f"the {BEST_SINGLE} on {reference.correct.shape[0]}")
        acc = accuracy_interval(entry.correct, stats.confidence)
        diff = paired_difference(entry.correct, reference.correct, stats.confidence,
                                 n_resamples=stats.resamples)
        probs = None if entry.probs is None else torch.as_tensor(entry.probs)
        own = REFERENCE if entry is reference else standing(diff)
        rows.append(Row(
            name=entry.name, kind=entry.kind, test_acc=acc.estimate, test_low=acc.low,
            test_high=acc.high, diff_points=100 * diff.estimate, diff_low=100 * diff.low,
            diff_high=100 * diff.high, diff_p=diff.p_value, seeds=diff.n_seeds_a,
            standing=own, train_acc=entry.train_acc,
            gap_acc=None if entry.train_acc is None else entry.train_acc - acc.estimate,
            ece=None if probs is None else expected_calibration_error(probs, target, ece_bins),
            nll=None if probs is None else nll(probs, target), params=entry.params,
            train_seconds=entry.train_seconds, images_per_second=entry.images_per_second,
            run_id=entry.run_id,
        ))
    return sorted(rows, key=lambda row: -row.test_acc)


def standing(diff: PairedDifference) -> str:
    """Ahead, behind, not distinguishable, or one seed: the verdict of its interval vs 0."""
    verdict = judge(diff.interval, 0.0)
    if verdict.one_seed:
        return ONE_SEED
    return {HOLDS: AHEAD, NOT_HOLDS: BEHIND}.get(verdict.status, NOT_DISTINGUISHABLE)


def curve_point(model: str, fraction: float, images: int, correct: np.ndarray,
                train_seconds: float, run_id: str | None, stats: StatsConfig) -> CurvePoint:
    acc = accuracy_interval(correct, stats.confidence)
    return CurvePoint(model=model, fraction=fraction, images=images, test_acc=acc.estimate,
                      test_low=acc.low, test_high=acc.high, train_seconds=train_seconds,
                      run_id=run_id)


def crossover(model: str, sizes: Sequence[int], baseline: Sequence[np.ndarray],
              recipe: Sequence[np.ndarray], stats: StatsConfig) -> Crossover:
    """The baseline against the recipe at each size, paired on the test images.

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
