"""Intervals of one quantity against hand-computed values and scipy's own functions."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.stats

from trainlab.stats.intervals import Interval, accuracy, accuracy_interval, mean_interval, percent


def test_t_interval_of_1_2_3_4_by_hand():
    # mean 2.5, sd sqrt(5/3), se = sd / 2, t(0.975, df=3) = 3.182446305...
    interval = mean_interval([1, 2, 3, 4])
    half = 3.1824463052837078 * math.sqrt(5 / 3) / 2
    assert interval.estimate == 2.5
    assert interval.low == pytest.approx(2.5 - half, abs=1e-12)
    assert interval.high == pytest.approx(2.5 + half, abs=1e-12)
    assert (interval.low, interval.high) == pytest.approx((0.4457397432394794, 4.554260256760521))
    assert (interval.confidence, interval.n) == (0.95, 4)
    assert interval.method == "t-interval over 4 values"


def test_t_interval_follows_the_confidence_level():
    values = [0.3, 1.1, 0.8, 1.9, 0.2]
    ninety = mean_interval(values, 0.90)
    sd = np.std(values, ddof=1)
    half = scipy.stats.t.ppf(0.95, df=4) * sd / math.sqrt(5)
    assert (ninety.low, ninety.high) == pytest.approx((np.mean(values) - half,
                                                       np.mean(values) + half))
    wider = mean_interval(values, 0.99)
    assert wider.low < ninety.low and wider.high > ninety.high
    assert wider.confidence == 0.99


def test_one_value_gives_no_interval_not_a_fake_one():
    interval = mean_interval([0.87])
    assert interval.estimate == 0.87
    assert interval.low is None and interval.high is None
    assert not interval.defined
    assert not interval.above(0.0) and not interval.below(1.0)
    assert interval.method == "one value: no interval"


def test_identical_values_give_the_zero_width_interval_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        interval = mean_interval([2.0, 2.0, 2.0])
    assert (interval.low, interval.estimate, interval.high) == (2.0, 2.0, 2.0)


def test_bootstrap_mean_interval_is_scipy_bca_and_reproducible():
    values = np.random.default_rng(3).exponential(1.0, size=40)
    first = mean_interval(values, method="bootstrap", n_resamples=1000, seed=7)
    again = mean_interval(values, method="bootstrap", n_resamples=1000, seed=7)
    assert first == again
    expected = scipy.stats.bootstrap(
        (values,), np.mean, method="BCa", n_resamples=1000, rng=np.random.default_rng(7)
    ).confidence_interval
    assert (first.low, first.high) == pytest.approx((expected.low, expected.high))
    assert "BCa bootstrap over 40 values" in first.method


@pytest.mark.parametrize(
    ("values", "confidence", "message"),
    [
        ([], 0.95, "non-empty 1-D"),
        ([1.0, float("nan")], 0.95, "must be finite"),
        ([1.0, 2.0], 1.0, r"confidence must lie strictly between 0 and 1 .* got 1.0"),
        ([1.0, 2.0], 95, "got 95"),
    ],
)
def test_bad_input_is_named(values, confidence, message):
    with pytest.raises(ValueError, match=message):
        mean_interval(values, confidence)


@pytest.mark.parametrize(
    ("correct", "wrong", "method", "low", "high"),
    [
        # Clopper-Pearson's tabulated 95% intervals.
        (3, 7, "exact", 0.06673951117773447, 0.652452850060008),
        (0, 10, "exact", 0.0, 0.30849710781876294),
        (10, 0, "exact", 0.6915028921812371, 1.0),
        (3, 7, "wilson", 0.10779126740630102, 0.6032218525388546),
    ],
)
def test_accuracy_interval_known_values(correct, wrong, method, low, high):
    flags = np.r_[np.ones(correct, bool), np.zeros(wrong, bool)]
    interval = accuracy_interval(flags, method=method)
    assert interval.estimate == correct / (correct + wrong)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-9)
    assert interval.n == correct + wrong
    assert f"{correct}/{correct + wrong} correct" in interval.method


def test_accuracy_interval_refuses_several_seeds():
    with pytest.raises(ValueError, match=r"one classifier's per-image correctness.*\(2, 3\)"):
        accuracy_interval(np.ones((2, 3), bool))


def test_accuracy_is_count_over_size_exactly():
    flags = np.random.default_rng(0).random((3, 997)) < 0.9
    assert accuracy(flags) == int(flags.sum()) / flags.size
    assert accuracy(flags[0]) == int(flags[0].sum()) / 997


def test_interval_sides_are_strict():
    interval = Interval(1.0, 0.0, 2.0, 0.95, 3, "t")
    assert not interval.above(0.0) and interval.above(-0.1)
    assert not interval.below(2.0) and interval.below(2.1)


def test_percent_prints_adjusted_levels():
    assert percent(0.95) == "95%"
    assert percent(1 - 0.05 / 3) == "98.33%"


def test_the_package_imports_only_numpy_and_scipy():
    code = (
        "import sys, trainlab.stats; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'lightning', 'mlflow', 'pandas', 'optuna', 'sklearn'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
