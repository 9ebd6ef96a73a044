"""Intervals of one quantity: a mean over seeds (or pairs) and a classifier's test accuracy.

Every interval states its confidence and its method, and an interval that the data cannot
give (one seed) is reported as missing, never as a zero-width one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.stats

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000  # percentile endpoints move by ~0.06 sd between seeds at 2000 draws
MEAN_METHODS = ("t", "bootstrap")
ACCURACY_METHODS = ("exact", "wilson")


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided interval.

    Attributes:
        estimate: the mean (or accuracy) of the data, always defined.
        low, high: the interval's ends; None when the data cannot give one (n = 1).
        confidence: the interval's confidence level, e.g. 0.95.
        n: how many values (seeds, pairs, images) it rests on.
        method: one line naming the method, printed next to the numbers.
        seeds: for a comparison of trained models, the fewest seeds on a side (1: the
            interval is conditional on the trained models, seed variation left out, and
            `verdict.judge` never decides from it); None where it is not such a comparison.
    """

    estimate: float
    low: float | None
    high: float | None
    confidence: float
    n: int
    method: str
    seeds: int | None = None

    @property
    def defined(self) -> bool:
        return self.low is not None and self.high is not None

    def above(self, threshold: float) -> bool:
        """True when the whole interval lies strictly above `threshold`."""
        return self.low is not None and self.low > threshold

    def below(self, threshold: float) -> bool:
        """True when the whole interval lies strictly below `threshold`."""
        return self.high is not None and self.high < threshold


def check_confidence(confidence: float) -> float:
    """The confidence level as a float, or ValueError naming the allowed range."""
    value = float(confidence)
    if not 0.0 < value < 1.0 or math.isnan(value):
        raise ValueError(
            f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )
    return value


def percent(confidence: float) -> str:
    """A confidence level as the report prints it: 0.95 -> "95%", 0.98333 -> "98.33%"."""
    return f"{confidence * 100:.4g}%"


def finite_values(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    """`values` as a 1-D float64 array; ValueError if empty or holding NaN/inf."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D sequence of numbers, got {values!r}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} must be finite numbers, got {values!r}")
    return array


def mean_interval(
    values: Sequence[float] | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    method: Literal["t", "bootstrap"] = "t",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Mean of `values` (one per seed, or per pair of runs) and its interval.

    `method="t"` (the default): Student's t-interval, `scipy.stats.ttest_1samp(...)
    .confidence_interval`. It is the right default for the 2-20 seeds or pairs trainlab has:
    its t quantile widens the interval when n is small, while a bootstrap of n values draws
    from only n points, has a variance biased by (n - 1) / n and under-covers badly below
    n ~ 10-20. `method="bootstrap"`: scipy's BCa bootstrap interval, for many skewed values.

    One value gives no interval (low = high = None). Identical values give the zero-width
    interval the formula gives (their spread is 0), without scipy's cancellation warning.
    """
    confidence = check_confidence(confidence)
    if method not in MEAN_METHODS:
        raise ValueError(f"mean interval method must be one of {MEAN_METHODS}, got {method!r}")
    array = finite_values(values, "values of a mean interval")
    n = array.size
    mean = float(np.mean(array))
    if n == 1:
        return Interval(mean, None, None, confidence, 1, "one value: no interval")
    if np.ptp(array) == 0.0:
        low = high = mean
    elif method == "t":
        ci = scipy.stats.ttest_1samp(array, 0.0).confidence_interval(confidence)
        low, high = float(ci.low), float(ci.high)
    else:
        result = scipy.stats.bootstrap(
            (array,), np.mean, confidence_level=confidence, method="BCa",
            n_resamples=n_resamples, vectorized=True, rng=np.random.default_rng(seed),
        )
        low, high = (float(result.confidence_interval.low), float(result.confidence_interval.high))
    text = (
        f"t-interval over {n} values" if method == "t"
        else f"BCa bootstrap over {n} values ({n_resamples} resamples, seed {seed})"
    )
    return Interval(mean, low, high, confidence, n, text)


def accuracy(correct: np.ndarray) -> float:
    """Fraction of True entries, computed as count / size.

    The one definition every accuracy and every paired difference uses, so that a paired
    difference equals the difference of the two accuracies exactly (not to rounding).
    """
    array = np.asarray(correct)
    if array.size == 0:
        raise ValueError("accuracy of an empty correctness array is undefined")
    return int(np.count_nonzero(array)) / int(array.size)


def accuracy_interval(
    correct: Sequence[bool] | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    method: Literal["exact", "wilson"] = "exact",
) -> Interval:
    """Test accuracy of ONE classifier on n images, with a binomial interval.

    `scipy.stats.binomtest(k, n).proportion_ci`: "exact" is Clopper-Pearson (never below
    its confidence), "wilson" the Wilson score interval (closer to nominal, narrower).
    Several seeds of a recipe are not n_seeds x n_images independent trials (they share the
    images): pass one classifier, or compare recipes with `paired_difference`.
    """
    confidence = check_confidence(confidence)
    if method not in ACCURACY_METHODS:
        raise ValueError(
            f"accuracy interval method must be one of {ACCURACY_METHODS}, got {method!r}"
        )
    array = np.asarray(correct)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            "accuracy_interval takes one classifier's per-image correctness, shape (n_images,),"
            f" got shape {array.shape}"
        )
    k, n = int(np.count_nonzero(array)), int(array.size)
    ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    name = "Clopper-Pearson exact" if method == "exact" else "Wilson score"
    return Interval(
        accuracy(array), float(ci.low), float(ci.high), confidence, n,
        f"{name} binomial interval on {k}/{n} correct test images",
    )
