"""The recipes that cannot be told apart from the best one.

The best recipe is chosen on VALIDATION accuracy only (mean over its seeds; a tie goes to the
name that sorts first), so the test images that judge the comparisons played no part in the
choice and carry no winner's curse. Every other recipe is then compared with the best on the
same test images (`paired.paired_difference` of recipe - best).

Multiplicity: a grid compares dozens of recipes with the best, and at 95% each about 1 in 40
recipes as good as the best would be excluded by chance. The default, Holm's step-down
adjustment of the comparisons' p-values, controls the family-wise error instead: with
probability >= the confidence, no recipe as good as the best is marked distinguishable, so
the unmarked set covers every recipe that could be the best (a confidence set for it). Holm
costs little here: most recipes of a grid are far below the best, with tiny p-values, and each
rejection relaxes the threshold of the next. scipy has no family-wise adjustment (its
`false_discovery_control` controls the false discovery rate, offered as "bh"), so Holm's few
lines are ours. A recipe is distinguishable when BOTH its interval of (recipe - best) lies
below 0 and its adjusted p-value is at most 1 - confidence: the printed interval and the mark
never disagree, and requiring the interval only makes the test stricter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.stats

from trainlab.stats.intervals import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    check_confidence,
    finite_values,
    percent,
)
from trainlab.stats.paired import PairedDifference, as_correctness, paired_difference

MULTIPLICITY = ("holm", "bh", "none")
_ADJUSTMENT_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "unadjusted"}


@dataclass(frozen=True)
class RecipeVsBest:
    """One recipe's comparison with the best.

    Attributes:
        name: the recipe.
        validation: its mean validation accuracy over seeds (what ranked it).
        difference: test accuracy (recipe - best) with its interval; None for the best.
        p_adjusted: the comparison's p-value after the multiplicity adjustment.
        distinguishable: True when the recipe is shown to be below the best.
    """

    name: str
    validation: float
    difference: PairedDifference | None
    p_adjusted: float | None
    distinguishable: bool


@dataclass(frozen=True)
class BestSet:
    """The best recipe and every recipe's comparison with it, best first by validation."""

    best: str
    rows: tuple[RecipeVsBest, ...]
    confidence: float
    multiplicity: str
    method: str

    @property
    def not_distinguishable(self) -> tuple[str, ...]:
        """The recipes that could be the best: the best and every unmarked recipe."""
        return tuple(row.name for row in self.rows if not row.distinguishable)

    def row(self, name: str) -> RecipeVsBest:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no recipe {name!r}; recipes: {[r.name for r in self.rows]}")


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input's order.

    The i-th smallest of m p-values is multiplied by (m - i + 1); a running maximum keeps the
    order, so an adjusted p <= alpha is exactly Holm's rejection at level alpha.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    adjusted = np.empty(m)
    adjusted[order] = scaled
    return adjusted


def adjust(p_values: Sequence[float], multiplicity: str) -> np.ndarray:
    """p-values adjusted by "holm", "bh" (`scipy.stats.false_discovery_control`) or "none"."""
    if multiplicity not in MULTIPLICITY:
        raise ValueError(f"multiplicity must be one of {MULTIPLICITY}, got {multiplicity!r}")
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0 or multiplicity == "none":
        return p
    if multiplicity == "holm":
        return holm(p)
    return scipy.stats.false_discovery_control(p, method="bh")


def not_distinguishable_from_best(
    validation: Mapping[str, float | Sequence[float]],
    test_correct: Mapping[str, Sequence | np.ndarray],
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    multiplicity: Literal["holm", "bh", "none"] = "holm",
    method: Literal["percentile", "basic", "BCa"] = "percentile",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> BestSet:
    """Choose the best recipe on validation and compare every other one with it on test.

    Args:
        validation: recipe -> its validation accuracy, one number or one per seed.
        test_correct: recipe -> per-image test correctness, (n_images,) or
            (n_seeds, n_images); every recipe on the same images. Same recipes as
            `validation`.
        confidence: confidence of each interval and 1 - the family's error level.
        multiplicity: "holm" (default, family-wise), "bh" (false discovery rate), "none".
        method, n_resamples, seed: passed to `paired_difference` (one seed for every
            comparison, so the set is reproducible).

    Returns:
        A `BestSet`; its `method` is the one line the report prints under the table.
    """
    confidence = check_confidence(confidence)
    if multiplicity not in MULTIPLICITY:
        raise ValueError(f"multiplicity must be one of {MULTIPLICITY}, got {multiplicity!r}")
    if set(validation) != set(test_correct) or not validation:
        raise ValueError(
            "validation and test_correct must name the same, non-empty set of recipes: "
            f"only in validation {sorted(set(validation) - set(test_correct))}, "
            f"only in test_correct {sorted(set(test_correct) - set(validation))}"
        )
    val_mean = {
        name: float(np.mean(finite_values(np.atleast_1d(v), f"validation of {name!r}")))
        for name, v in validation.items()
    }
    order = sorted(val_mean, key=lambda name: (-val_mean[name], name))
    best = order[0]
    correct = {
        name: as_correctness(test_correct[name], f"test_correct[{name!r}]") for name in order
    }
    others = order[1:]
    diffs = [
        paired_difference(correct[name], correct[best], confidence, method=method,
                          n_resamples=n_resamples, seed=seed)
        for name in others
    ]
    adjusted = adjust([d.p_value for d in diffs], multiplicity)
    alpha = 1.0 - confidence
    rows = [RecipeVsBest(best, val_mean[best], None, None, False)]
    for name, diff, p_adj in zip(others, diffs, adjusted, strict=True):
        marked = diff.high < 0.0 and float(p_adj) <= alpha
        rows.append(RecipeVsBest(name, val_mean[name], diff, float(p_adj), marked))
    text = _method_text(best, diffs, correct[best].shape[1], confidence, multiplicity)
    return BestSet(best, tuple(rows), confidence, multiplicity, text)


def _method_text(
    best: str, diffs: list[PairedDifference], n_images: int, confidence: float,
    multiplicity: str,
) -> str:
    """One line the report prints: how the best was chosen and how the set was decided."""
    several = any(d.n_seeds_a > 1 or d.n_seeds_b > 1 for d in diffs)
    single = any(d.n_seeds_a == 1 and d.n_seeds_b == 1 for d in diffs)
    tests = []
    if single:
        tests.append("paired bootstrap over images with McNemar's exact test (one seed each)")
    if several:
        tests.append("a seed x image bootstrap (several seeds)")
    how = " and ".join(tests) if tests else "no other recipe"
    return (
        f"best = highest mean validation accuracy ({best}); each of the {len(diffs)} other "
        f"recipes vs the best on the same {n_images} test images by {how}; distinguishable "
        f"when its {percent(confidence)} interval of (recipe - best) lies below 0 and its "
        f"{_ADJUSTMENT_NAMES[multiplicity]} p-value is at most {1 - confidence:.2g}"
    )
