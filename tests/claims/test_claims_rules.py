"""Each claim's rule on fabricated numbers: supported -> holds, contradicted -> does not hold,
spread across seeds larger than the effect -> inconclusive; the reason quotes the numbers."""

from __future__ import annotations

import pytest

from trainlab.claims import rules
from trainlab.claims.verdict import (
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDS,
    Verdict,
    decide,
)
from trainlab.config import ClaimRules

R = ClaimRules()  # the defaults of params.yaml
K = R.spread_k


# --- the interval rule ------------------------------------------------------------------
def test_decide_compares_mean_and_spread_with_the_threshold():
    assert decide([3.0, 3.2, 2.8], 1.0, 1.0, what="x")[0] == HOLDS
    assert decide([0.1, 0.2, 0.0], 1.0, 1.0, what="x")[0] == NOT_HOLDS
    status, reason, band = decide([3.0, -1.0, 1.5], 1.0, 1.0, what="gain", unit=" pp")
    assert status == INCONCLUSIVE and band.sd == pytest.approx(2.0207, abs=1e-4)
    assert "spread across seeds (1·sd = 2.02) is larger than the effect's distance" in reason
    # k widens the interval: a 2-sd rule turns a holding effect inconclusive
    assert decide([2.0, 2.4, 1.6], 1.5, 2.0, what="x")[0] == INCONCLUSIVE
    assert decide([2.0, 2.4, 1.6], 1.5, 1.0, what="x")[0] == HOLDS


def test_decide_with_one_value_or_none_says_so():
    status, reason, _ = decide([2.0], 1.0, 1.0, what="gain")
    assert status == HOLDS and "one value: no spread measured" in reason
    status, reason, band = decide([float("nan"), None], 1.0, 1.0, what="gain")
    assert (status, band) == (INCONCLUSIVE, None) and "no finite measurement" in reason
    assert decide([0.0, 0.0], 0.0, 1.0, what="gain")[0] == INCONCLUSIVE  # no effect at all


def test_verdict_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="verdict status 'maybe' is not one of"):
        Verdict("maybe", "")


# --- claim 1 ----------------------------------------------------------------------------
def _saturation(relu, sigmoid):
    return rules.saturation({"relu": relu, "sigmoid": sigmoid}, {"sigmoid": [0.3] * len(relu)},
                            {"sigmoid": [0.2] * len(relu)}, R.saturation, K)


def test_saturation_rule():
    held = _saturation([0.5, 0.6, 0.7], [1e-6, 2e-6, 1e-6])
    assert held.status == HOLDS
    assert held.numbers["orders relu over sigmoid"] == pytest.approx(5.63, abs=0.05)
    assert "30.0% of outputs saturated" in held.reason and "≥ 2.00 orders" in held.reason
    # sigmoid passes the gradient as well as relu: the claim does not hold here
    assert _saturation([0.5, 0.6, 0.7], [0.4, 0.5, 0.9]).status == NOT_HOLDS
    # 5, 1 and 2 orders over three seeds: the spread straddles the 2-order threshold
    assert _saturation([1.0, 1.0, 1.0], [1e-5, 1e-1, 1e-2]).status == INCONCLUSIVE
    # a gradient that underflowed to zero vanished completely (counted as 30 orders)
    assert _saturation([0.5, 0.5], [0.0, 0.0]).status == HOLDS
    missing = rules.saturation({"relu": [1.0]}, {}, {}, R.saturation, K)
    assert missing.status == INCONCLUSIVE and "sigmoid" in missing.reason


# --- claim 2 ----------------------------------------------------------------------------
def test_zero_centred_rule():
    sig = [[0.50, 0.52, 0.49], [0.51, 0.50, 0.50]]
    assert rules.zero_centred({"sigmoid": sig, "tanh": [[0.01, -0.02, 0.0]] * 2},
                              R.zero_centred, K).status == HOLDS
    off = rules.zero_centred({"sigmoid": sig, "tanh": [[0.45, 0.40, 0.5]] * 2},
                             R.zero_centred, K)
    assert off.status == NOT_HOLDS and "tanh's outputs are not zero-centred" in off.reason
    spread = rules.zero_centred({"sigmoid": [[0.6], [0.0], [0.3]], "tanh": [[0.0]] * 3},
                                R.zero_centred, K)
    assert spread.status == INCONCLUSIVE


# --- claim 3 ----------------------------------------------------------------------------
def _curve(reach: float | None, epochs: int = 4, per_epoch: int = 4):
    """Train accuracy 0.5 until epoch `reach`, then 0.9 (None: never reaches 0.85)."""
    points = []
    for i in range(1, epochs * per_epoch + 1):
        epoch = i / per_epoch
        points.append((epoch, epoch * 2.0, 0.9 if reach is not None and epoch >= reach else 0.5))
    return points


def _convergence(**reach):
    curves = {act: [_curve(r) for r in seeds] for act, seeds in reach.items()}
    return rules.convergence(curves, 4, R.convergence, K)


def test_convergence_rule():
    held = _convergence(relu=[0.5, 0.5, 0.75], tanh=[2.0, 2.0, 3.0], sigmoid=[3.0, 3.5, 4.0])
    assert held.status == HOLDS
    assert held.numbers["epochs to 0.85 relu"] == pytest.approx(0.5833, abs=1e-3)
    assert held.numbers["seconds to 0.85 tanh"] == pytest.approx(4.6667, abs=1e-3)
    assert held.numbers["lecture speedup"] == 6.0
    same = _convergence(relu=[1.0, 1.0, 1.25], tanh=[1.0, 1.25, 1.25], sigmoid=[3.0, 3.0, 3.0])
    assert same.status == NOT_HOLDS and "tanh: speedup of relu = 1.08x" in same.reason
    spread = _convergence(relu=[1.0, 0.5, 1.0], tanh=[1.0, 2.0, 3.0])
    assert spread.status == INCONCLUSIVE and "spread across seeds" in spread.reason


def test_convergence_never_reached():
    # sigmoid never reaches the threshold in 4 epochs: 1.6x is only a lower bound
    censored = _convergence(relu=[2.5, 2.5], sigmoid=[None, None])
    assert censored.status == INCONCLUSIVE and "a lower bound" in censored.reason
    assert _convergence(relu=[1.0, 1.0], sigmoid=[None, None]).status == HOLDS  # >= 4x
    stuck = _convergence(relu=[None, None], tanh=[1.0, 1.0])
    assert stuck.status == INCONCLUSIVE and "relu never reached" in stuck.reason


# --- claim 4 ----------------------------------------------------------------------------
def test_dead_units_rule():
    quiet = {0.001: [0.0, 0.0], 0.1: [0.0, 0.0]}
    held = rules.dead_units({"relu": {0.001: [0.0, 0.01], 0.1: [0.4, 0.5]}, "leaky_relu": quiet,
                             "elu": quiet}, R.dead_units, K)
    assert held.status == HOLDS and held.numbers["worst lr for relu"] == 0.1
    alive = rules.dead_units({"relu": {0.001: [0.0, 0.0], 0.1: [0.01, 0.02]}, "elu": quiet},
                             R.dead_units, K)
    assert alive.status == NOT_HOLDS
    elu = rules.dead_units({"relu": {0.1: [0.4, 0.5]}, "elu": {0.1: [0.3, 0.3]}},
                           R.dead_units, K)
    assert elu.status == NOT_HOLDS and "elu units died too (30.0% at lr 0.1 > 2%)" in elu.reason
    spread = rules.dead_units({"relu": {0.1: [0.0, 0.3]}}, R.dead_units, K)
    assert spread.status == INCONCLUSIVE
    diverged = rules.dead_units({"relu": {0.1: [0.5, None], 1.0: [None, None]}}, R.dead_units, K)
    assert "3 run(s) diverged and are left out" in diverged.reason


# --- claim 5 ----------------------------------------------------------------------------
def test_preprocessing_rule():
    none = [0.80, 0.81, 0.80]
    better = {"none": none, "channel_mean": [0.82, 0.83, 0.82],
              "channel_standardize": [0.83, 0.84, 0.83]}
    held = rules.preprocessing(better, R.preprocessing, K)
    assert held.status == HOLDS
    assert held.numbers["gain channel_standardize pp"] == pytest.approx(3.0)
    worse = better | {"mean_image": [0.79, 0.80, 0.79]}
    assert rules.preprocessing(worse, R.preprocessing, K).status == NOT_HOLDS
    noisy = {"none": none, "channel_standardize": [0.83, 0.79, 0.81]}
    assert rules.preprocessing(noisy, R.preprocessing, K).status == INCONCLUSIVE


# --- claim 6 ----------------------------------------------------------------------------
def test_early_stopping_rule():
    val = [0.70, 0.80, 0.85, 0.83, 0.82]
    held = rules.early_stopping([(val, [0.69, 0.79, 0.84, 0.83, 0.83])] * 3,
                                R.early_stopping, K)
    assert held.status == HOLDS and held.numbers["best val epoch"] == 3
    assert held.numbers["gain pp"] == pytest.approx(1.0)
    worse = rules.early_stopping([(val, [0.69, 0.79, 0.82, 0.83, 0.84])] * 3,
                                 R.early_stopping, K)
    assert worse.status == NOT_HOLDS
    rising = rules.early_stopping([([0.7, 0.8, 0.9], [0.7, 0.8, 0.9])] * 2, R.early_stopping, K)
    assert rising.status == INCONCLUSIVE and "peaked at the last epoch in all 2" in rising.reason
    noisy = rules.early_stopping([(val, [0, 0, 0.86, 0, 0.84]), (val, [0, 0, 0.82, 0, 0.84]),
                                  (val, [0, 0, 0.845, 0, 0.84])], R.early_stopping, K)
    assert noisy.status == INCONCLUSIVE


# --- claim 7 ----------------------------------------------------------------------------
def test_ensemble_rule():
    members = [0.900, 0.905, 0.895]
    held = rules.ensemble(2.5, members, R.ensemble, K)
    assert held.status == HOLDS and held.numbers["member sd pp"] == pytest.approx(0.5)
    assert "sd over 3 members' test accuracies" in held.reason
    assert rules.ensemble(-0.3, members, R.ensemble, K).status == NOT_HOLDS
    spread = rules.ensemble(1.2, [0.88, 0.90, 0.92], R.ensemble, K)
    assert spread.status == INCONCLUSIVE and "lecture: about 2 pp" in spread.rule


# --- claim 8 ----------------------------------------------------------------------------
def _preset(axis, shrink, cost=(-0.5,)):
    return {"axis": axis, "shrink": list(shrink), "test_change": list(cost)}


def test_regularization_rule():
    held = rules.regularization({"l2": _preset("regularization", [1.0, 1.2, 0.9]),
                                 "flip_crop": _preset("augmentation", [2.0, 2.5, 1.8])},
                                ["l1"], R.regularization, K)
    assert held.status == HOLDS and "not in the grid, untested: l1" in held.reason
    assert held.numbers["test change l2 pp"] == pytest.approx(-0.5)
    widens = rules.regularization({"l2": _preset("regularization", [1.0, 1.2, 0.9]),
                                   "dropout": _preset("regularization", [-1.0, -1.5, -0.8])},
                                  [], R.regularization, K)
    assert widens.status == NOT_HOLDS and "dropout: gap shrink = -1.10 pp" in widens.reason
    noisy = rules.regularization({"l2": _preset("regularization", [3.0, -2.0, 0.5])}, [],
                                 R.regularization, K)
    assert noisy.status == INCONCLUSIVE
    assert rules.regularization({}, [], R.regularization, K).status == INCONCLUSIVE


# --- claim 9 ----------------------------------------------------------------------------
def test_transfer_rule():
    held = rules.transfer({"source/linear_probe": {"100": 15.0, "1000": 3.0},
                           "source/finetune": {"100": 12.0, "1000": 4.0}}, R.transfer, K)
    assert held.status == HOLDS and held.numbers["mean gain at smallest pp"] == 13.5
    grows = rules.transfer({"a/finetune": {"100": 1.0, "1000": 8.0},
                            "a/linear_probe": {"100": 2.0, "1000": 6.0}}, R.transfer, K)
    assert grows.status == NOT_HOLDS
    hurts = rules.transfer({"a/finetune": {"100": -5.0, "1000": -9.0}}, R.transfer, K)
    assert hurts.status == NOT_HOLDS and "does not beat scratch" in hurts.reason
    mixed = rules.transfer({"a/finetune": {"100": 12.0, "1000": 2.0},
                            "b/finetune": {"100": 1.0, "1000": 10.0}}, R.transfer, K)
    assert mixed.status == INCONCLUSIVE
    one = rules.transfer({"a/finetune": {"100": 12.0}}, R.transfer, K)
    assert one.status == INCONCLUSIVE and "two or more target sizes" in one.reason
