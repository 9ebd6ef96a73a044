"""Paired comparisons on the same test images: identity, McNemar, bootstraps, calibration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from trainlab.stats.intervals import accuracy, accuracy_interval
from trainlab.stats.paired import (
    _two_level_bootstrap,
    mcnemar_exact,
    paired_difference,
    pooled_seed_sd,
    seed_image_contrast,
)


def _table(both: int, only_a: int, only_b: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    """Correctness of a and b on images laid out as a 2x2 McNemar table."""
    a = np.r_[np.ones(both + only_a, bool), np.zeros(only_b + neither, bool)]
    b = np.r_[np.ones(both, bool), np.zeros(only_a, bool), np.ones(only_b, bool),
              np.zeros(neither, bool)]
    return a, b


def test_mcnemar_exact_on_a_known_table():
    # 1 vs 9 discordant images: p = 2 * P(Bin(10, 1/2) <= 1) = 2 * 11 / 1024.
    a, b = _table(both=15, only_a=1, only_b=9, neither=5)
    assert mcnemar_exact(a, b) == pytest.approx(22 / 1024, rel=1e-12)
    assert mcnemar_exact(b, a) == pytest.approx(22 / 1024, rel=1e-12)
    assert mcnemar_exact(*_table(10, 4, 4, 2)) == 1.0
    assert mcnemar_exact(a, a) == 1.0  # no discordant image


def test_point_estimate_is_the_difference_of_the_accuracies_exactly():
    rng = np.random.default_rng(1)
    single_a, single_b = rng.random(1003) < 0.88, rng.random(1003) < 0.86
    diff = paired_difference(single_a, single_b, n_resamples=200)
    rows = accuracy_interval(single_a).estimate - accuracy_interval(single_b).estimate
    assert diff.estimate == rows  # exact, as the leaderboard shows them
    assert diff.estimate == single_a.sum() / 1003 - single_b.sum() / 1003
    seeds_a, seeds_b = rng.random((3, 1003)) < 0.88, rng.random((5, 1003)) < 0.86
    diff = paired_difference(seeds_a, seeds_b, n_resamples=200)
    assert diff.estimate == accuracy(seeds_a) - accuracy(seeds_b)
    assert (diff.accuracy_a, diff.accuracy_b) == (accuracy(seeds_a), accuracy(seeds_b))
    assert (diff.n_images, diff.n_seeds_a, diff.n_seeds_b) == (1003, 3, 5)


def test_one_seed_interval_is_scipys_paired_bootstrap():
    a, b = _table(both=300, only_a=40, only_b=22, neither=38)
    diff = paired_difference(a, b, 0.9, n_resamples=3000, seed=5)
    assert diff.estimate == pytest.approx(18 / 400)
    assert diff.p_value == scipy.stats.binomtest(40, 62, 0.5).pvalue
    # scipy's own paired form, with its own draws: the same interval up to Monte Carlo noise.
    ci = scipy.stats.bootstrap(
        (a, b), lambda x, y, axis: x.mean(axis) - y.mean(axis), paired=True,
        vectorized=True, confidence_level=0.9, method="percentile", n_resamples=3000,
        rng=np.random.default_rng(99),
    ).confidence_interval
    assert diff.low == pytest.approx(ci.low, abs=0.004)
    assert diff.high == pytest.approx(ci.high, abs=0.004)
    assert diff.low < diff.estimate < diff.high and diff.confidence == 0.9
    assert "McNemar" in diff.method and "400 test images" in diff.method


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(2)
    a, b = rng.random((2, 500)) < 0.8, rng.random((3, 500)) < 0.8
    assert paired_difference(a, b, seed=3) == paired_difference(a, b, seed=3)
    assert paired_difference(a[0], b[0], seed=3) == paired_difference(a[0], b[0], seed=3)
    assert paired_difference(a, b, seed=3).low != paired_difference(a, b, seed=4).low


def test_identical_classifiers_differ_by_exactly_zero():
    a = np.random.default_rng(0).random(200) < 0.7
    for method in ("percentile", "BCa"):
        diff = paired_difference(a, a.copy(), method=method)
        assert (diff.low, diff.estimate, diff.high, diff.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_two_level_bootstrap_reduces_to_the_image_bootstrap_with_one_seed():
    a, b = _table(both=3000, only_a=420, only_b=300, neither=280)
    diff = paired_difference(a, b, n_resamples=4000)
    low, high, p_value = _two_level_bootstrap((a[None], b[None]), (1.0, -1.0), diff.estimate,
                                              0.95, 4000, 0)
    assert low == pytest.approx(diff.low, abs=0.002)
    assert high == pytest.approx(diff.high, abs=0.002)
    assert p_value == pytest.approx(diff.p_value, rel=0.5)  # Wald vs exact, p ~ 1e-5


def test_seed_variance_widens_the_interval():
    rng = np.random.default_rng(4)
    base = rng.random(2000) < 0.85
    steady = np.tile(base, (4, 1))  # four seeds that agree on every image
    # Four seeds of very different quality: 70% .. 95% of the images right.
    shaky = np.stack([rng.random(2000) < q for q in (0.70, 0.78, 0.87, 0.95)])
    reference = rng.random(2000) < 0.83
    calm = paired_difference(steady, reference)
    one = paired_difference(base, reference)
    assert calm.high - calm.low == pytest.approx(one.high - one.low, rel=0.15)
    spread = paired_difference(shaky, reference)
    assert spread.high - spread.low > 2 * (one.high - one.low)
    assert "two-level bootstrap" in spread.method


def _null_recipes(rng, n_seeds: int, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Two recipes with the same skill: shared image difficulty, seed-to-seed wobble."""
    difficulty = rng.beta(8, 2, size=n_images)  # mean accuracy ~0.8
    def recipe():
        wobble = rng.normal(0.0, 0.01, size=(n_seeds, 1))
        return rng.random((n_seeds, n_images)) < np.clip(difficulty + wobble, 0, 1)
    return recipe(), recipe()


@pytest.mark.parametrize("n_seeds", [1, 3])
def test_null_difference_is_called_real_at_most_about_alpha(n_seeds):
    rng = np.random.default_rng(2024)
    excluded = 0
    for experiment in range(200):
        a, b = _null_recipes(rng, n_seeds, 300)
        diff = paired_difference(a, b, n_resamples=400, seed=experiment)
        excluded += diff.low > 0 or diff.high < 0
    assert excluded / 200 <= 2 * 0.05


def test_mismatched_images_and_bad_values_are_named():
    with pytest.raises(ValueError, match="a has 3 images, b has 4"):
        paired_difference([1, 0, 1], [1, 0, 1, 1])
    with pytest.raises(ValueError, match=r"b must hold only True/False \(or 1/0\)"):
        paired_difference([1, 0, 1], [1, 2, 1])
    with pytest.raises(ValueError, match=r"shape \(n_images,\) or \(n_seeds, n_images\)"):
        paired_difference(np.ones((2, 2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="bootstrap method must be one of"):
        paired_difference([1, 0], [0, 1], method="bc")


def test_seed_variation_widens_the_seed_x_image_interval_beyond_the_image_only_one():
    # Five seeds a side whose accuracies differ (78-92%, as recipes' seeds can at a short
    # budget), on 5,000 shared images: the image bootstrap of one seed pair cannot see that
    # spread, the seed x image bootstrap includes it.
    rng = np.random.default_rng(7)
    hard = rng.random(5000)  # per-image difficulty, shared by every model (pairs them)
    a = np.stack([hard < acc for acc in (0.78, 0.82, 0.85, 0.88, 0.92)])
    b = np.stack([hard < acc for acc in (0.80, 0.83, 0.84, 0.87, 0.90)])
    image_only = paired_difference(a[0], b[0], n_resamples=1000)
    seed_x_image = paired_difference(a, b, n_resamples=1000)
    width = lambda d: d.high - d.low  # noqa: E731
    assert seed_x_image.n_seeds_a == seed_x_image.n_seeds_b == 5
    assert width(seed_x_image) > 3 * width(image_only)
    # With identical seeds (no seed variation) the two levels agree with the image bootstrap.
    same = paired_difference(np.stack([a[0]] * 5), np.stack([b[0]] * 5), n_resamples=1000)
    assert width(same) == pytest.approx(width(image_only), rel=0.25)


def test_pooled_seed_sd_by_hand_ignores_recipes_with_one_seed():
    # Per-seed accuracies 0.5, 0.7 (mean 0.6) and 0.2, 0.2, 0.5 (mean 0.3) on 10 images:
    # squares 0.02 + (0.01 + 0.01 + 0.04), dof 1 + 2.
    a = np.zeros((2, 10), bool)
    a[0, :5] = True
    a[1, :7] = True
    b = np.zeros((3, 10), bool)
    b[0, :2] = b[1, :2] = b[2, :5] = True
    one = np.ones((1, 10), bool)  # a one-seed recipe: no spread of its own to pool
    sd, recipes = pooled_seed_sd([a, one, b])
    assert recipes == 2
    assert sd == pytest.approx(np.sqrt((0.02 + 0.06) / 3))
    assert pooled_seed_sd([one, one]) == (None, 0)


def test_seed_sd_widens_a_one_seed_comparison_and_covers_another_seed():
    rng = np.random.default_rng(5)
    a, b = rng.random(4000) < 0.86, rng.random(4000) < 0.85
    alone = paired_difference(a, b, n_resamples=1000)
    pooled = paired_difference(a, b, n_resamples=1000, seed_sd=0.006)
    assert pooled.estimate == alone.estimate
    # Both sides lack their seed level: sd sqrt(2) x 0.6 pp is added to the image spread.
    assert pooled.high - pooled.low > 1.3 * (alone.high - alone.low)
    assert "pooled seed sd 0.60 pp" in pooled.method
    # A side with several seeds keeps its own seed level: nothing is drawn for it.
    several = rng.random((3, 4000)) < 0.86
    both = paired_difference(several, b, n_resamples=1000, seed_sd=0.006)
    own = paired_difference(several, b, n_resamples=1000)
    assert both.high - both.low > own.high - own.low
    with pytest.raises(ValueError, match="seed_sd"):
        paired_difference(a, b, seed_sd=-0.01)


def test_a_two_sided_contrast_is_the_paired_difference_and_one_side_an_accuracy():
    rng = np.random.default_rng(7)
    a = np.stack([rng.random(500) < q for q in (0.80, 0.85, 0.90)])
    b = np.stack([rng.random(500) < q for q in (0.75, 0.78)])
    diff = paired_difference(a, b, n_resamples=1000, seed=3)
    band = seed_image_contrast([a, b], [1.0, -1.0], n_resamples=1000, seed=3)
    assert (band.estimate, band.low, band.high, band.seeds) == (
        diff.estimate, diff.low, diff.high, 2)
    acc = seed_image_contrast([a], [1.0], n_resamples=1000)
    assert acc.estimate == pytest.approx(a.mean()) and acc.low < acc.estimate < acc.high
    with pytest.raises(ValueError, match="one weight per side"):
        seed_image_contrast([a, b], [1.0])
    with pytest.raises(ValueError, match="same test images"):
        seed_image_contrast([a, b[:, :-1]], [1.0, -1.0])


@pytest.mark.parametrize("n_seeds", [1, 3])
def test_normal_interval_is_the_estimate_plus_minus_z_standard_errors(n_seeds):
    rng = np.random.default_rng(11)
    a, b = rng.random((n_seeds, 3000)) < 0.86, rng.random((n_seeds, 3000)) < 0.84
    at_95 = paired_difference(a, b, 0.95, method="normal", n_resamples=1000, seed=2)
    at_99 = paired_difference(a, b, 0.99, method="normal", n_resamples=1000, seed=2)
    # Symmetric about the estimate, and the same standard error at both levels.
    for diff in (at_95, at_99):
        assert diff.estimate - diff.low == pytest.approx(diff.high - diff.estimate)
    se_95 = (at_95.high - at_95.low) / (2 * scipy.stats.norm.ppf(0.975))
    se_99 = (at_99.high - at_99.low) / (2 * scipy.stats.norm.ppf(0.995))
    assert se_95 == pytest.approx(se_99)
    assert "standard error" in at_95.method
    if n_seeds > 1:  # the Wald p-value from the same standard error: 0 outside exactly then
        level = 1 - at_95.p_value
        edge = paired_difference(a, b, level, method="normal", n_resamples=1000, seed=2)
        assert min(abs(edge.low), abs(edge.high)) == pytest.approx(0.0, abs=1e-12)
