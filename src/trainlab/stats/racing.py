"""Racing: which cells of the grid deserve another round of seeds.

Input: cell -> its per-seed VALIDATION accuracies, and where the trials stored it, each seed's
per-image VALIDATION correctness (racing decides what to train, so it must not look at test).
The rule, one round at a time:

1. The leader is the cell with the highest mean (a tie goes to the name that sorts first).
2. Each other cell is resolved when the interval of (cell - leader) lies entirely below 0:
   - with per-image validation correctness on both sides, `paired.paired_difference` on the
     validation images: with one seed each the paired image bootstrap (so a cell 20 pp behind
     is resolved in round 1, where seeds alone give no interval at all), with several seeds
     the seed x image bootstrap (both sources of variance);
   - without (trials of an older trainlab), Welch's t-interval of the difference of means
     over seeds (`scipy.stats.ttest_ind(equal_var=False).confidence_interval`): seed s of two
     cells shares nothing that pairs them, and the cells hold unequal numbers of seeds. A
     cell or a leader with one seed then has no variance to go on and stays unresolved.
   The one-seed image bootstrap is blind to seed variation, so it resolves a close cell too
   early more often than its level says (the null simulation in `paired`); racing only spends
   seeds, and the close cells are exactly those it keeps.
3. While some cell is unresolved, the leader and the unresolved cells closest to it in mean
   get a round, at most `max_cells` cells in all (the leader counts: its own seeds narrow every
   comparison). When none is unresolved, the race is over (nothing selected).

The intervals are not adjusted for multiplicity: racing only spends seeds; a cell it drops
early costs a worse guess, and the set not distinguishable from the best is decided later,
on test, with its own adjustment (`best.not_distinguishable_from_best`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

from trainlab.stats.intervals import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    check_confidence,
    finite_values,
    percent,
)
from trainlab.stats.paired import as_correctness, paired_difference


@dataclass(frozen=True)
class RaceCell:
    """One cell's standing against the leader.

    Attributes:
        name: the cell.
        n_seeds: how many validation scores it has.
        mean: its mean validation accuracy.
        gap: mean - leader's mean (<= 0; 0 for the leader).
        low, high: interval of (cell - leader): paired over the validation images, else
            Welch over seeds; None without one (Welch with a one-seed side, or the leader).
        paired: True when the interval is the paired one over validation images.
        resolved: True when the interval lies below 0 (False for the leader).
        selected: True when it gets another round of seeds.
    """

    name: str
    n_seeds: int
    mean: float
    gap: float
    low: float | None
    high: float | None
    resolved: bool
    selected: bool
    paired: bool = False


@dataclass(frozen=True)
class RaceDecision:
    """The cells of one racing round, leader first then by mean; `selected` is the round."""

    leader: str
    cells: tuple[RaceCell, ...]
    confidence: float
    max_cells: int
    method: str

    @property
    def selected(self) -> tuple[str, ...]:
        return tuple(cell.name for cell in self.cells if cell.selected)

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Challengers not yet told apart from the leader (selected or cut by max_cells)."""
        return tuple(c.name for c in self.cells[1:] if not c.resolved)


def welch_interval(
    a: np.ndarray, b: np.ndarray, confidence: float
) -> tuple[float, float] | tuple[None, None]:
    """Welch's t-interval of mean(a) - mean(b); (None, None) when a side has one value."""
    if a.size < 2 or b.size < 2:
        return None, None
    diff = float(np.mean(a) - np.mean(b))
    if np.ptp(a) == 0.0 and np.ptp(b) == 0.0:
        return diff, diff  # no spread on either side: scipy would give NaN
    ci = scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence)
    return float(ci.low), float(ci.high)


def race(
    scores: Mapping[str, Sequence[float]],
    *,
    max_cells: int,
    confidence: float = DEFAULT_CONFIDENCE,
    correct: Mapping[str, np.ndarray] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> RaceDecision:
    """Decide the next racing round (module docstring).

    Args:
        scores: cell -> per-seed validation accuracies (at least one per cell).
        max_cells: most cells (leader included) that get a round; >= 2.
        confidence: the intervals' confidence.
        correct: cell -> per-image validation correctness, (n_seeds, n_val_images), for the
            cells whose every seed stored it; the others (and their leader) use Welch.
        n_resamples, seed: of the paired bootstraps (seeded: a resumed search decides alike).
    """
    confidence = check_confidence(confidence)
    if max_cells < 2:
        raise ValueError(
            f"max_cells must be >= 2 (the leader and at least one challenger), got {max_cells}"
        )
    if not scores:
        raise ValueError("racing needs at least one cell with scores, got none")
    values = {name: finite_values(v, f"validation scores of cell {name!r}")
              for name, v in scores.items()}
    means = {name: float(np.mean(v)) for name, v in values.items()}
    order = sorted(means, key=lambda name: (-means[name], name))
    leader = order[0]
    images = {name: as_correctness(c, f"validation correctness of cell {name!r}")
              for name, c in (correct or {}).items() if name in values}
    standings = []
    for name in order[1:]:
        paired = name in images and leader in images
        low: float | None
        high: float | None
        if paired:
            diff = paired_difference(images[name], images[leader], confidence,
                                     n_resamples=n_resamples, seed=seed)
            low, high = diff.low, diff.high
        else:
            low, high = welch_interval(values[name], values[leader], confidence)
        standings.append((name, low, high, high is not None and high < 0.0, paired))
    unresolved = [name for name, _, _, resolved, _ in standings if not resolved]
    chosen = set(unresolved[: max_cells - 1])  # already ordered closest to the leader first
    if chosen:
        chosen.add(leader)
    cells = [RaceCell(leader, values[leader].size, means[leader], 0.0, None, None, False,
                      leader in chosen)]
    cells += [
        RaceCell(name, values[name].size, means[name], means[name] - means[leader], low, high,
                 resolved, name in chosen, paired)
        for name, low, high, resolved, paired in standings
    ]
    how = {True: "paired over the validation images (image bootstrap with one seed a side, "
                 "seed x image bootstrap with several)",
           False: "Welch t-interval over seeds"}
    used = " or ".join(dict.fromkeys(how[entry[4]] for entry in standings)) or how[bool(images)]
    method = (
        f"leader = highest mean validation accuracy ({leader}); a cell is resolved when the "
        f"{percent(confidence)} interval of (cell - leader), {used}, lies below 0; the leader "
        f"and the closest unresolved cells get a round, at most {max_cells} cells"
    )
    return RaceDecision(leader, tuple(cells), confidence, max_cells, method)
