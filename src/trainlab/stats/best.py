"""The recipes that cannot be told apart from the best one.

The best recipe is chosen on VALIDATION accuracy only (mean over its seeds; a tie goes to the
name that sorts first), so the test images that judge the comparisons played no part in the
choice and carry no winner's curse. Every other recipe is then compared with the best on the
same test images (`paired.paired_difference` of recipe - best).

Multiplicity: a grid compares dozens of recipes with the best, and at 95% each about 1 in 40
recipes as good as the best would be excluded by chance. The default, Holm's step-down
procedure, controls the family-wise error instead: with probability >= the confidence, no
recipe as good as the best is marked distinguishable, so the unmarked set covers every recipe
that could be the best (a confidence set for it). Holm costs little here: most recipes of a
grid are far below the best, and each rejection relaxes the level of the next.

One rule, one interval: the step-down runs on the intervals themselves, so the interval
printed beside a recipe is the one its mark was decided with. With r comparisons still open,
each is drawn at confidence 1 - alpha / r; every one that lies below 0 is marked (Holm rejects
all p <= alpha / r of a step together), the others stay open and r shrinks, until a step
marks none. A marked recipe keeps the interval of the step that marked it, an unmarked one
that of the last step: for every row, distinguishable == (its printed interval lies below 0).
(The issue this answers: relu|elastic|none printed -1.19 pp [-2.07, -0.29] at an unadjusted
95% and was still unmarked, Holm-adjusted.) "bh" is the same on Benjamini-Hochberg's step-up:
R marked when R intervals at 1 - R alpha / m lie below 0 (the largest such R), every interval
at that level (Benjamini and Yekutieli's false-coverage-rate intervals).

The intervals are the bootstrap's normal ones (estimate -/+ z x its standard error, `method=
"normal"` of `paired.paired_difference`), not its percentiles: an adjusted level reads a tail
(Holm's first step over 71 recipes, the 0.035% quantile) that 2000 resamples leave nearly
empty, so percentile membership followed the resampling seed (`paired`'s docstring measures
it). The standard error uses every replicate, and the p-value is drawn from the same one, so
with several seeds (or a pooled seed sd) `p_adjusted` <= 1 - confidence exactly when the
recipe is marked (Holm's adjusted p-values are the step-down on those p-values).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
from trainlab.stats.paired import (
    PairedDifference,
    as_correctness,
    paired_difference,
    pooled_seed_sd,
)

MULTIPLICITY = ("holm", "bh", "none")


@dataclass(frozen=True)
class RecipeVsBest:
    """One recipe's comparison with the best.

    Attributes:
        name: the recipe.
        validation: its mean validation accuracy over seeds (what ranked it).
        difference: test accuracy (recipe - best) with its interval at the adjusted level
            its mark was decided at (`difference.confidence`); None for the best.
        p_adjusted: the comparison's p-value after the multiplicity adjustment (information:
            the mark follows the interval).
        distinguishable: True when the recipe is shown to be below the best: exactly when
            `difference.high < 0`.
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
    method: Literal["percentile", "basic", "BCa", "normal"] = "normal",
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
            comparison, so the set is reproducible); "normal" by default (module docstring).

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
    # A grid trains most recipes once and races the leaders: a one-seed recipe's comparison
    # takes its seed level from the raced recipes' spread, so membership does not rest on
    # which seed that one training drew (a rerun under another seed agrees with it).
    seed_sd, pooled_from = pooled_seed_sd(list(correct.values()))

    def compare(name: str, level: float) -> PairedDifference:
        return paired_difference(correct[name], correct[best], level, method=method,
                                 n_resamples=n_resamples, seed=seed, seed_sd=seed_sd)

    diffs = _step(others, compare, 1.0 - confidence, multiplicity)
    adjusted = adjust([diffs[name].p_value for name in others], multiplicity)
    rows = [RecipeVsBest(best, val_mean[best], None, None, False)]
    for name, p_adj in zip(others, adjusted, strict=True):
        diff = diffs[name]
        rows.append(RecipeVsBest(name, val_mean[name], diff, float(p_adj), diff.high < 0.0))
    diff_list = [diffs[name] for name in others]
    text = _method_text(best, diff_list, correct[best].shape[1], confidence, multiplicity,
                        seed_sd, pooled_from, method)
    return BestSet(best, tuple(rows), confidence, multiplicity, text)


def _step(others: Sequence[str], compare: Callable[[str, float], PairedDifference],
          alpha: float, multiplicity: str) -> dict[str, PairedDifference]:
    """name -> its (recipe - best) interval at the level its mark is decided at (module
    docstring): "none" one pass at 1 - alpha; "holm" step-down; "bh" step-up."""
    m = len(others)
    if m == 0:
        return {}
    if multiplicity == "none":
        return {name: compare(name, 1.0 - alpha) for name in others}
    if multiplicity == "holm":
        final: dict[str, PairedDifference] = {}
        open_ = list(others)
        while open_:
            level = 1.0 - alpha / len(open_)
            step = {name: compare(name, level) for name in open_}
            final |= step
            open_ = [name for name in open_ if step[name].high >= 0.0]
            if len(open_) == len(step):  # this step marked none: the rest stay unmarked
                break
        return final
    # Benjamini-Hochberg step-up: the largest R with at least R intervals at 1 - R alpha / m
    # below 0. Their count can only fall as R falls, so R = count converges to it from m.
    rejections = m
    while True:
        step = {name: compare(name, 1.0 - max(rejections, 1) * alpha / m) for name in others}
        below = sum(diff.high < 0.0 for diff in step.values())
        if below >= rejections or rejections == 0:
            return step
        rejections = below


def _method_text(
    best: str, diffs: list[PairedDifference], n_images: int, confidence: float,
    multiplicity: str, seed_sd: float | None = None, pooled_from: int = 0,
    method: str = "normal",
) -> str:
    """One line the report prints: how the best was chosen and how the set was decided."""
    several = any(d.n_seeds_a > 1 or d.n_seeds_b > 1 for d in diffs)
    single = any(d.n_seeds_a == 1 and d.n_seeds_b == 1 for d in diffs)
    tests = []
    if single and seed_sd is None:
        tests.append("paired bootstrap over images with McNemar's exact test (one seed each: "
                     "seed-to-seed variation not included)")
    if several:
        tests.append("a seed x image bootstrap (several seeds)")
    if seed_sd is not None and any(min(d.n_seeds_a, d.n_seeds_b) == 1 for d in diffs):
        tests.append(f"for a one-seed side, a seed x image bootstrap whose seed level is drawn "
                     f"from the seed sd pooled over the {pooled_from} recipes with several "
                     f"seeds ({100 * seed_sd:.2f} pp)")
    how = " and ".join(tests) if tests else "no other recipe"
    if tests and method == "normal":
        how += " (intervals: estimate -/+ z x the bootstrap standard error)"
    alpha = 1 - confidence
    rule = {
        "holm": f"Holm's step-down on the intervals (with r comparisons open, each at "
                f"1 - {alpha:.2g}/r)",
        "bh": f"Benjamini-Hochberg's step-up on the intervals (R marked at 1 - R x {alpha:.2g}"
              f"/{len(diffs)}: false-coverage-rate intervals)",
        "none": f"{percent(confidence)}, unadjusted",
    }[multiplicity]
    return (
        f"best = highest mean validation accuracy ({best}); each of the {len(diffs)} other "
        f"recipes vs the best on the same {n_images} test images by {how}; distinguishable "
        f"when its interval of (recipe - best) lies below 0, each interval at the level its "
        f"mark was decided at, {rule}, so that the family holds at {percent(confidence)}; "
        f"the interval printed is that one"
    )
