"""Racing: which cells of the grid deserve another round of seeds.

Input: cell -> its per-seed VALIDATION accuracies (racing decides what to train, so it must not
look at test). The rule, one round at a time:

1. The leader is the cell with the highest mean (a tie goes to the name that sorts first).
2. Each other cell is resolved when the interval of (cell - leader) lies entirely below 0:
   Welch's t-interval of the difference of means (`scipy.stats.ttest_ind(equal_var=False)
   .confidence_interval`). Welch, not a paired test: seed s of two different cells shares
   nothing that pairs them, and the cells hold unequal numbers of seeds. A cell or a leader
   with one seed has no variance to go on, so its comparisons stay unresolved.
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

from trainlab.stats.intervals import DEFAULT_CONFIDENCE, check_confidence, finite_values, percent


@dataclass(frozen=True)
class RaceCell:
    """One cell's standing against the leader.

    Attributes:
        name: the cell.
        n_seeds: how many validation scores it has.
        mean: its mean validation accuracy.
        gap: mean - leader's mean (<= 0; 0 for the leader).
        low, high: Welch interval of (cell - leader); None without one (a side has 1 seed,
            or this is the leader).
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
) -> RaceDecision:
    """Decide the next racing round (module docstring).

    Args:
        scores: cell -> per-seed validation accuracies (at least one per cell).
        max_cells: most cells (leader included) that get a round; >= 2.
        confidence: the Welch intervals' confidence.
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
    standings = []
    for name in order[1:]:
        low, high = welch_interval(values[name], values[leader], confidence)
        standings.append((name, low, high, high is not None and high < 0.0))
    unresolved = [name for name, _, _, resolved in standings if not resolved]
    chosen = set(unresolved[: max_cells - 1])  # already ordered closest to the leader first
    if chosen:
        chosen.add(leader)
    cells = [RaceCell(leader, values[leader].size, means[leader], 0.0, None, None, False,
                      leader in chosen)]
    cells += [
        RaceCell(name, values[name].size, means[name], means[name] - means[leader], low, high,
                 resolved, name in chosen)
        for name, low, high, resolved in standings
    ]
    method = (
        f"leader = highest mean validation accuracy ({leader}); a cell is resolved when the "
        f"{percent(confidence)} Welch t-interval of (cell - leader) lies below 0; the leader "
        f"and the closest unresolved cells get a round, at most {max_cells} cells"
    )
    return RaceDecision(leader, tuple(cells), confidence, max_cells, method)
