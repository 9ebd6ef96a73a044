"""Where each grid cell stands: its seeds' scores with intervals, and the cells that cannot be
told apart from the best (trainlab.stats on the trial rows; no Optuna, MLflow or torch).

- :func:`cell_standings`: per cell, the mean and interval over seeds of validation accuracy,
  test accuracy and the train-test gap (with one seed, the test accuracy's interval is the
  binomial one over the test images: the measurement's own noise), then the set not
  distinguishable from the best (best on validation, paired on the same test images, Holm's
  step-down on the intervals: each cell's printed interval is the one its mark was decided
  with, at its own adjusted level).
- :func:`race_scores`, :func:`race_correct`: per cell, the validation accuracies and
  per-image validation correctness racing decides on (never test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from trainlab.search.results import BestSet, CellStanding, TrialRow
from trainlab.stats.best import not_distinguishable_from_best
from trainlab.stats.intervals import Interval, accuracy_interval, mean_interval


def complete_by_cell(rows: Sequence[TrialRow]) -> dict[str, list[TrialRow]]:
    """COMPLETE rows per cell, cells in order of first appearance, seeds in order."""
    cells: dict[str, list[TrialRow]] = {}
    for row in rows:
        if row.state == "COMPLETE" and row.cell and row.val_acc is not None:
            cells.setdefault(row.cell, []).append(row)
    return {cell: sorted(own, key=lambda r: (r.seed or 0, r.trial)) for cell, own in cells.items()}


def val_accs(own: Sequence[TrialRow]) -> list[float]:
    """The validation accuracies of a cell's rows from :func:`complete_by_cell` (all set)."""
    return [r.val_acc for r in own if r.val_acc is not None]


def race_scores(rows: Sequence[TrialRow]) -> dict[str, list[float]]:
    """cell -> its seeds' validation accuracies (racing must not look at test)."""
    return {cell: val_accs(own) for cell, own in complete_by_cell(rows).items()}


def race_correct(rows: Sequence[TrialRow],
                 correct: Mapping[int, np.ndarray]) -> dict[str, np.ndarray]:
    """cell -> (n_seeds, n_val_images) validation correctness, for the cells whose every
    COMPLETE seed has it (in :func:`race_scores`' seed order); the others race on Welch."""
    return {cell: np.stack([correct[r.trial] for r in own])
            for cell, own in complete_by_cell(rows).items()
            if all(r.trial in correct for r in own)}


def cell_standings(
    rows: Sequence[TrialRow],
    correct: Mapping[int, np.ndarray],
    confidence: float,
    resamples: int,
    raced: Mapping[str, int] | None = None,
    seed: int = 0,
) -> tuple[list[CellStanding], BestSet | None]:
    """Every cell with a COMPLETE trial, best (mean validation accuracy) first.

    Args:
        rows: the search's trial rows (the current configuration's only).
        correct: trial number -> its best snapshot's per-image test correctness; a cell is
            compared with the best only when every one of its trials has one.
        confidence, resamples: of every interval (`stats.confidence`, `stats.resamples`).
        raced: cell -> how many of its seeds racing added.
        seed: seeds the bootstraps, so a rerun reproduces the intervals.
    """
    cells = complete_by_cell(rows)
    if not cells:
        return [], None
    comparable = {cell: own for cell, own in cells.items()
                  if all(r.trial in correct for r in own)}
    best_set = None
    versus = {}
    if comparable:
        best_set = not_distinguishable_from_best(
            {cell: val_accs(own) for cell, own in comparable.items()},
            {cell: np.stack([correct[r.trial] for r in own]) for cell, own in comparable.items()},
            confidence, n_resamples=resamples, seed=seed,
        )
        versus = {row.name: row for row in best_set.rows}
    order = sorted(cells, key=lambda c: (-float(np.mean(val_accs(cells[c]))), c))
    best = best_set.best if best_set else order[0]
    standings = [
        _standing(cell, cells[cell], rank, correct, versus.get(cell), best, confidence,
                  (raced or {}).get(cell, 0))
        for rank, cell in enumerate(order, start=1)
    ]
    if best_set is None:
        return standings, None
    kept = tuple(row.name for row in best_set.rows if not row.distinguishable)
    summary = BestSet(best=best_set.best, cells=kept, compared=len(best_set.rows),
                      method=best_set.method)
    return standings, summary


def _standing(cell: str, own: list[TrialRow], rank: int, correct: Mapping[int, np.ndarray],
              versus, best: str, confidence: float, raced: int) -> CellStanding:
    first = own[0]
    val = mean_interval(val_accs(own), confidence)
    test = _test_interval(own, correct, confidence)
    gaps = [r.gap_acc for r in own if r.gap_acc is not None]
    gap = mean_interval(gaps, confidence) if gaps else None
    diff = versus.difference if versus is not None else None
    return CellStanding(
        cell=cell, activation=first.activation, regularization=first.regularization,
        augmentation=first.augmentation, preprocessing=first.preprocessing, rank=rank,
        seeds=len(own), raced_seeds=raced,
        val_mean=val.estimate, val_low=val.low, val_high=val.high,
        test_mean=test.estimate, test_low=test.low, test_high=test.high,
        test_interval=test.method,
        gap_mean=gap.estimate if gap else None, gap_low=gap.low if gap else None,
        gap_high=gap.high if gap else None,
        vs_best=diff.estimate if diff else None, vs_best_low=diff.low if diff else None,
        vs_best_high=diff.high if diff else None,
        vs_best_confidence=diff.confidence if diff else None,
        p_adjusted=versus.p_adjusted if versus is not None else None,
        best=cell == best,
        in_best_set=None if versus is None else not versus.distinguishable,
    )


def _test_interval(own: list[TrialRow], correct: Mapping[int, np.ndarray],
                   confidence: float) -> Interval:
    """Over seeds (t) with several; with one, the binomial interval over its test images."""
    tests = [r.test_acc for r in own if r.test_acc is not None]
    if len(own) == 1 and own[0].trial in correct:
        return accuracy_interval(correct[own[0].trial], confidence)
    if not tests:
        return Interval(float("nan"), None, None, confidence, 0, "no test accuracy")
    return mean_interval(tests, confidence)
