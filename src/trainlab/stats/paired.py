"""Two classifiers (or two recipes) compared on the SAME test images.

Input: per-image correctness, bool, shape (n_images,) for one trained model or
(n_seeds, n_images) for a recipe trained with several seeds; both sides score the same images
in the same order. The difference is accuracy(a) - accuracy(b), computed from the one
`intervals.accuracy` so it equals the difference of the two rows' accuracies exactly.

How the interval is drawn:
- One seed on each side: a paired bootstrap over the test images (`scipy.stats.bootstrap` on
  the per-image differences a_i - b_i: one index draw applies to both classifiers, which is
  what pairing means), and McNemar's exact test on the discordant images
  (`scipy.stats.binomtest`). The interval is conditional on the two trained models: it says
  what other test images would do, not what another seed would.
- Several seeds on either side: a two-level (hierarchical) bootstrap. Each replicate
  resamples the seeds of each side independently (seed s of one recipe and seed s of another
  share nothing that pairs them, and racing gives recipes unequal seed counts) and the test
  images jointly (the images pair the two sides). Both sources of variance enter, as
  Bouthillier et al. (MLSys 2021) ask: with ~10,000 images and a few seeds they are of the
  same size (~0.3 pp each on this grid). A t-interval over seeds of per-seed differences would
  need equal, paired seed counts and would drop the image sampling error. scipy's bootstrap
  resamples one axis only, so these draws are our own (a seeded numpy Generator); with one
  seed per side the scheme reduces to the image bootstrap above (a test checks it agrees).
  Like every two-way bootstrap (Owen, "The pigeonhole bootstrap", 2007) it is mildly
  conservative; its seed level is expanded so that 2-3 seeds do not make it too narrow
  (`_seed_weights`). Its p-value is the normal one of the bootstrap standard error (a Wald
  test), which has no resampling floor (2 / n_resamples) for Holm's alpha / m to trip on.
- `method="normal"`, either scheme: estimate -/+ z x the bootstrap standard error, the same
  standard error the p-value uses. For the extreme levels of a multiplicity adjustment: Holm's
  first step over 71 recipes reads the 0.035% quantile, which 2000 resamples put below their
  smallest replicate, so a percentile interval there is set by a handful of draws and the
  resampling seed decides membership (the seed-1 run's best set: 11, 13, 14 or 15 recipes
  under four resampling seeds; with "normal", 14 under each). Every replicate counts for the
  standard error, and the interval agrees with the p-value: it excludes 0 exactly when
  p < 1 - confidence.

A side with one seed where other recipes have several (a grid whose leaders were raced): the
image bootstrap alone would treat that one training as the recipe. `seed_sd`, the seed-to-seed
spread of one training's accuracy pooled over the recipes that have several seeds
(:func:`pooled_seed_sd`), supplies the missing level: each replicate adds a normal draw of sd
`seed_sd` for each one-seed side (a random effect, as in a one-way random-effects model whose
between-seed variance is estimated from the other groups). The interval then covers another
seed of that recipe, so a rerun under another seed agrees with it.

Why seeds matter (a null simulation: two equally good recipes, 10,000 images, 300
experiments, 95%): with one seed each the image bootstrap, blind to seed variation, called
them different 14% of the time at a seed sd of 0.3 pp and 32% at 0.6 pp; with 2, 3 or 5
seeds each the two-level bootstrap did so 1-5% of the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.stats

from trainlab.stats.intervals import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    Interval,
    accuracy,
    check_confidence,
)

BOOTSTRAP_METHODS = ("percentile", "basic", "BCa", "normal")
_CHUNK = 200  # replicates per draw: memory ~ 200 x n_images x 8 bytes (16 MB at 10,000)


@dataclass(frozen=True)
class PairedDifference:
    """accuracy(a) - accuracy(b) on the same test images, with its interval and p-value.

    Attributes:
        estimate: accuracy_a - accuracy_b, exactly.
        low, high: the interval of the difference at `confidence`.
        p_value: two-sided p-value of "no difference" (McNemar exact with one seed each,
            bootstrap Wald test with several).
        accuracy_a, accuracy_b: each side's accuracy (mean over its seeds and images).
        n_images, n_seeds_a, n_seeds_b: what the comparison rests on.
        method: one line naming the interval and the test.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    p_value: float
    accuracy_a: float
    accuracy_b: float
    n_images: int
    n_seeds_a: int
    n_seeds_b: int
    method: str

    @property
    def interval(self) -> Interval:
        """The difference as an `Interval` (for `verdict.judge` and the report), with the
        fewest seeds of a side: one seed each is never decided (`verdict.judge`)."""
        return Interval(
            self.estimate, self.low, self.high, self.confidence, self.n_images, self.method,
            seeds=min(self.n_seeds_a, self.n_seeds_b),
        )


def as_correctness(correct: Sequence | np.ndarray, what: str) -> np.ndarray:
    """Per-image correctness as a bool array (n_seeds, n_images); a 1-D input is one seed.

    Accepts bools or 0/1 numbers; anything else is a ValueError naming `what`.
    """
    array = np.asarray(correct)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.size == 0:
        raise ValueError(
            f"{what} must be per-image correctness of shape (n_images,) or "
            f"(n_seeds, n_images), got shape {np.shape(correct)}"
        )
    if array.dtype != np.bool_:
        if not np.all((array == 0) | (array == 1)):
            raise ValueError(f"{what} must hold only True/False (or 1/0) per image")
        array = array.astype(bool)
    return array


def mcnemar_exact(a: Sequence | np.ndarray, b: Sequence | np.ndarray) -> float:
    """Two-sided exact McNemar p-value of two classifiers on the same images.

    Only the discordant images count: under "equally accurate", the images that a gets right
    and b wrong are Binomial(discordant, 1/2), tested with `scipy.stats.binomtest`. No
    discordant image (identical predictions' correctness) gives p = 1.
    """
    xa, xb = as_correctness(a, "a"), as_correctness(b, "b")
    if xa.shape[0] != 1 or xb.shape[0] != 1 or xa.shape != xb.shape:
        raise ValueError(
            "mcnemar_exact compares two single classifiers on the same images: shapes "
            f"(n_images,) each, got {np.shape(a)} and {np.shape(b)}"
        )
    only_a = int(np.count_nonzero(xa & ~xb))
    only_b = int(np.count_nonzero(~xa & xb))
    if only_a + only_b == 0:
        return 1.0
    return float(scipy.stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired_difference(
    a: Sequence | np.ndarray,
    b: Sequence | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    method: Literal["percentile", "basic", "BCa", "normal"] = "percentile",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    seed_sd: float | None = None,
) -> PairedDifference:
    """Difference in test accuracy a - b on the same images, with a paired interval.

    Args:
        a, b: per-image correctness, (n_images,) or (n_seeds, n_images), same n_images.
        confidence: the interval's confidence level.
        method: scipy's interval method for the one-seed image bootstrap (the two-level
            bootstrap, several seeds, is percentile), or "normal" for either: estimate -/+ z x
            the bootstrap standard error (module docstring; for multiplicity-adjusted levels).
        n_resamples: bootstrap replicates.
        seed: seeds the resampling, so a report recomputes the same interval.
        seed_sd: the pooled seed-to-seed sd of one training's accuracy (a fraction,
            :func:`pooled_seed_sd`); drawn for each side that has one seed (module
            docstring). None or 0: a one-seed side adds no seed variation.

    Returns:
        A `PairedDifference`; see the module docstring for which bootstrap and test it uses.
    """
    confidence = check_confidence(confidence)
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    xa, xb = as_correctness(a, "a"), as_correctness(b, "b")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(
            f"a and b must score the same test images: a has {xa.shape[1]} images, "
            f"b has {xb.shape[1]}"
        )
    acc_a, acc_b = accuracy(xa), accuracy(xb)
    estimate = acc_a - acc_b
    n_images = xa.shape[1]
    if seed_sd is not None and not (np.isfinite(seed_sd) and seed_sd >= 0.0):
        raise ValueError(f"seed_sd must be a finite number >= 0 or None, got {seed_sd!r}")
    # The sd drawn for each side: only a one-seed side lacks its seed level.
    missing = [seed_sd if (seed_sd and x.shape[0] == 1) else 0.0 for x in (xa, xb)]
    if xa.shape[0] == 1 and xb.shape[0] == 1 and not any(missing):
        low, high = _image_bootstrap(xa[0], xb[0], confidence, method, n_resamples, seed)
        p_value = mcnemar_exact(xa[0], xb[0])
        text = (
            f"paired bootstrap over {n_images} test images ({_interval_name(method)}, "
            f"{n_resamples} resamples, seed {seed}) and McNemar's exact test, given the two "
            "trained models (one seed each: seed-to-seed variation not included)"
        )
    else:
        low, high, p_value = _two_level_bootstrap((xa, xb), (1.0, -1.0), estimate, confidence,
                                                  n_resamples, seed, missing,
                                                  normal=method == "normal")
        pooled = (f"; a one-seed side's seed level drawn normal with the pooled seed sd "
                  f"{100 * seed_sd:.2f} pp" if any(missing) and seed_sd else "")
        interval = _interval_name(method if method == "normal" else "percentile")
        text = (
            f"two-level bootstrap: seeds resampled per side ({xa.shape[0]} and {xb.shape[0]}),"
            f" {n_images} test images resampled jointly ({interval}, {n_resamples} resamples,"
            f" seed {seed}){pooled}; p-value from the bootstrap standard error"
        )
    return PairedDifference(
        estimate, low, high, confidence, p_value, acc_a, acc_b, n_images,
        xa.shape[0], xb.shape[0], text,
    )


def _interval_name(method: str) -> str:
    return "normal, from the bootstrap standard error" if method == "normal" else method


def _normal_interval(estimate: float, standard_error: float,
                     confidence: float) -> tuple[float, float]:
    half = float(scipy.stats.norm.ppf(0.5 + confidence / 2)) * standard_error
    return estimate - half, estimate + half


def _image_bootstrap(
    a: np.ndarray, b: np.ndarray, confidence: float, method: str, n_resamples: int, seed: int
) -> tuple[float, float]:
    """scipy's bootstrap interval of mean(a_i - b_i) over images (one model per side)."""
    diff = a.astype(np.int8) - b.astype(np.int8)  # (n_images,) in {-1, 0, 1}
    if np.all(diff == diff[0]):
        # Every resample has the same mean; scipy would warn (and BCa give NaN).
        value = float(diff[0])
        return value, value
    result = scipy.stats.bootstrap(
        (diff,), np.mean, confidence_level=confidence,
        method="percentile" if method == "normal" else method,
        n_resamples=n_resamples, batch=_CHUNK, vectorized=True,
        rng=np.random.default_rng(seed),
    )
    if method == "normal":
        return _normal_interval(float(diff.mean()), float(result.standard_error), confidence)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def seed_image_contrast(
    sides: Sequence[Sequence | np.ndarray],
    weights: Sequence[float],
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    what: str = "contrast",
) -> Interval:
    """sum_k weights[k] * accuracy(sides[k]) on the same test images, with the seed x image
    interval of `paired_difference` (the two-level bootstrap, generalised to k sides).

    One side with weight 1 is a recipe's accuracy over its seeds and the test images (a
    Clopper-Pearson interval would count n_seeds x n_images independent trials); the weights
    (1, -1, -1, 1) are a difference of two gains on the same images (claim 9). Each side's
    seeds are resampled on their own, the images jointly for every side (they pair them).
    `Interval.seeds` is the fewest seeds of a side: one is never decided (`verdict.judge`).
    """
    confidence = check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not sides or len(sides) != len(weights):
        raise ValueError(f"{what}: one weight per side, got {len(sides)} sides and "
                         f"{len(weights)} weights")
    arrays = [as_correctness(side, f"{what} side {k}") for k, side in enumerate(sides)]
    images = {array.shape[1] for array in arrays}
    if len(images) != 1:
        raise ValueError(f"{what}: every side must score the same test images, got "
                         f"{[array.shape[1] for array in arrays]} images")
    estimate = sum(w * accuracy(array) for w, array in zip(weights, arrays, strict=True))
    low, high, _ = _two_level_bootstrap(arrays, weights, estimate, confidence, n_resamples, seed)
    counts = [array.shape[0] for array in arrays]
    text = (f"two-level bootstrap: seeds resampled per side ({', '.join(map(str, counts))}), "
            f"{images.pop()} test images resampled jointly (percentile, {n_resamples} "
            f"resamples, seed {seed})")
    return Interval(float(estimate), low, high, confidence, arrays[0].shape[1], text,
                    seeds=min(counts))


def _two_level_bootstrap(
    sides: Sequence[np.ndarray], weights: Sequence[float], estimate: float, confidence: float,
    n_resamples: int, seed: int, missing_sd: Sequence[float] | None = None,
    *, normal: bool = False,
) -> tuple[float, float, float]:
    """Percentile (or, `normal`, standard-error) interval and Wald p-value of the seed x image
    bootstrap (module docstring) of sum_k weights[k] * accuracy(sides[k]); `sides` are
    (n_seeds_k, n_images) bool arrays.

    Images whose correctness is the same for every seed of every side are interchangeable,
    so drawing n images with replacement is drawing multinomial counts over the distinct
    correctness patterns: the same distribution as index draws, over G patterns instead of
    n images (G is small: most images are right for every seed), ~100x faster at 10,000.
    """
    rng = np.random.default_rng(seed)
    n_images = sides[0].shape[1]
    patterns, counts = np.unique(np.vstack(sides), axis=1, return_counts=True)  # (S, G)
    bounds = np.cumsum([0, *(side.shape[0] for side in sides)])
    by_side = [patterns[a:b].T.astype(np.float64)  # (G, n_seeds_k)
               for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    replicates = np.empty(n_resamples)
    for start in range(0, n_resamples, _CHUNK):
        size = min(_CHUNK, n_resamples - start)
        images = rng.multinomial(n_images, counts / n_images, size=size)  # (size, G)
        # Each seed's accuracy on the resampled images, averaged over resampled seeds.
        total = np.zeros(size)
        for weight, pattern, side in zip(weights, by_side, sides, strict=True):
            total = total + weight * (images @ pattern
                                      * _seed_weights(side.shape[0], size, rng)).sum(1)
        replicates[start : start + size] = total / n_images
        for weight, sd in zip(weights, missing_sd or (), strict=False):
            if sd:  # a one-seed side's seed level, from the pooled spread (module docstring)
                replicates[start : start + size] += weight * rng.normal(0.0, sd, size)
    alpha = 1.0 - confidence
    spread = float(np.std(replicates, ddof=1)) if n_resamples > 1 else 0.0
    if normal:
        low, high = _normal_interval(estimate, spread, confidence)
    else:
        low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    if spread == 0.0:
        p_value = 1.0 if estimate == 0.0 else 0.0
    else:
        p_value = float(2 * scipy.stats.norm.sf(abs(estimate) / spread))
    return float(low), float(high), p_value


def _seed_weights(n_seeds: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, n_seeds) weights of a seed resample; rows sum to 1, one seed always weighs 1.

    A resample's weight of a seed is how often it is drawn / n_seeds. Its deviation from
    1 / n_seeds is scaled by sqrt(n / (n - 1)), so that the seed level's bootstrap variance is
    the unbiased s^2 / n instead of (n - 1) / n of it (Hesterberg's expansion for small
    samples). In the module docstring's null simulation (seed sd 0.6 pp) it brought false
    "different" calls with 2-3 seeds from 9% down to 5%.
    """
    if n_seeds == 1:
        return np.ones((size, 1))
    drawn = rng.integers(0, n_seeds, size=(size, n_seeds))
    share = (drawn[:, :, np.newaxis] == np.arange(n_seeds)).mean(axis=1)
    return 1.0 / n_seeds + np.sqrt(n_seeds / (n_seeds - 1)) * (share - 1.0 / n_seeds)


def pooled_seed_sd(correct: Sequence[np.ndarray]) -> tuple[float | None, int]:
    """The seed-to-seed sd of one training's accuracy, pooled over recipes with several seeds.

    Args:
        correct: per recipe, its per-image correctness (n_seeds, n_images) on the same images.

    Returns:
        (sd as a fraction, how many recipes it pools); (None, 0) when no recipe has two seeds.
        The pooled variance is sum over recipes of sum_s (acc_rs - mean_r)^2 over
        sum_r (n_r - 1): each recipe's spread about its own mean, so the recipes' different
        accuracies do not enter.
    """
    squares, dof, recipes = 0.0, 0, 0
    for x in correct:
        per_seed = np.asarray(x, dtype=np.float64).mean(axis=1)
        if per_seed.size >= 2:
            squares += float(np.sum((per_seed - per_seed.mean()) ** 2))
            dof += per_seed.size - 1
            recipes += 1
    if dof == 0:
        return None, 0
    return float(np.sqrt(squares / dof)), recipes
