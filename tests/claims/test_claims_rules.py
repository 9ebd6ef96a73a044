"""Each claim's rule on fabricated numbers: its interval at the stated confidence above the
threshold -> holds, below -> does not hold, straddling (or one value) -> inconclusive; per
condition where the claim has conditions; the reason quotes the numbers."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.claims import rules
from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS, Verdict
from trainlab.config.claims import ClaimRules
from trainlab.stats.intervals import Interval

R = ClaimRules()  # the defaults of params.yaml
C = 0.95  # stats.confidence


def test_verdict_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="verdict status 'maybe' is not one of"):
        Verdict("maybe", "")


# --- seeds and noise, through a claim's rule --------------------------------------------
def test_a_clear_effect_goes_from_inconclusive_to_holds_as_seeds_are_added():
    # Preprocessing gains 2 pp (threshold 0.5 pp) with 1 pp of seed-to-seed noise.
    rng = np.random.default_rng(0)
    statuses = []
    for seeds in (1, 2, 8):
        none = 0.80 + rng.normal(0, 0.005, seeds)
        better = none + 0.02 + rng.normal(0, 0.01, seeds)
        verdict = rules.preprocessing({"none": list(none), "channel_mean": list(better)},
                                      R.preprocessing, C)
        statuses.append(verdict.status)
    assert statuses[0] == INCONCLUSIVE  # one seed: no interval, never a verdict
    assert statuses[-1] == HOLDS


def test_a_null_effect_never_holds():
    rng = np.random.default_rng(1)
    held = 0
    for _ in range(200):
        none = 0.80 + rng.normal(0, 0.01, 5)
        same = 0.80 + rng.normal(0, 0.01, 5)  # no effect at all
        verdict = rules.preprocessing({"none": list(none), "channel_mean": list(same)},
                                      R.preprocessing, C)
        held += verdict.status == HOLDS
    assert held <= 2  # the threshold is 0.5 pp above 0: a null effect practically never holds


# --- claim 1 ----------------------------------------------------------------------------
def _saturation(relu, sigmoid):
    return rules.saturation({"relu": relu, "sigmoid": sigmoid}, {"sigmoid": [0.3] * len(relu)},
                            {"sigmoid": [0.2] * len(relu)}, R.saturation, C)


def test_saturation_rule():
    held = _saturation([0.5, 0.6, 0.7], [1e-6, 2e-6, 1e-6])
    assert held.status == HOLDS and held.confidence == C
    assert held.numbers["orders relu over sigmoid"] == pytest.approx(5.63, abs=0.05)
    assert "30.0% of outputs saturated" in held.reason and "95% interval" in held.reason
    (condition,) = held.conditions.values()
    assert condition.low > 2.0 and condition.n == 3
    assert _saturation([0.5, 0.6, 0.7], [0.4, 0.5, 0.9]).status == NOT_HOLDS
    assert _saturation([1.0, 1.0, 1.0], [1e-5, 1e-1, 1e-2]).status == INCONCLUSIVE
    missing = rules.saturation({"relu": [1.0]}, {}, {}, R.saturation, C)
    assert missing.status == INCONCLUSIVE and "sigmoid" in missing.reason


# --- claim 2 ----------------------------------------------------------------------------
def test_zero_centred_rule():
    sig = [[0.50, 0.52, 0.49], [0.51, 0.50, 0.50], [0.5, 0.51, 0.5]]
    assert rules.zero_centred({"sigmoid": sig, "tanh": [[0.01, -0.02, 0.0]] * 3},
                              R.zero_centred, C).status == HOLDS
    off = rules.zero_centred({"sigmoid": sig, "tanh": [[0.45, 0.40, 0.5]] * 3},
                             R.zero_centred, C)
    assert off.status == NOT_HOLDS and "tanh's outputs are not zero-centred" in off.reason
    spread = rules.zero_centred({"sigmoid": [[0.6], [0.0], [0.3]], "tanh": [[0.0]] * 3},
                                R.zero_centred, C)
    assert spread.status == INCONCLUSIVE


# --- claim 3: per activation ------------------------------------------------------------
def _curve(reach: float | None, epochs: int = 4, per_epoch: int = 4):
    """Train accuracy 0.5 until epoch `reach`, then 0.9 (None: never reaches 0.85)."""
    return [(i / per_epoch, i / per_epoch * 2.0,
             0.9 if reach is not None and i / per_epoch >= reach else 0.5)
            for i in range(1, epochs * per_epoch + 1)]


def _convergence(**reach):
    curves = {act: [_curve(r) for r in seeds] for act, seeds in reach.items()}
    return rules.convergence(curves, 4, R.convergence, C)


def test_convergence_is_judged_per_activation():
    held = _convergence(relu=[0.5, 0.5, 0.5, 0.5], tanh=[2.0, 2.0, 2.25, 2.0],
                        sigmoid=[3.0, 3.25, 3.0, 3.0])
    assert held.status == HOLDS and set(held.conditions) == {"tanh", "sigmoid"}
    assert held.numbers["lecture speedup"] == 6.0
    assert "rule 'all'" in held.rule and "Bonferroni" in held.rule
    same = _convergence(relu=[1.0, 1.0, 1.0], tanh=[1.0, 1.0, 1.25], sigmoid=[3.0, 3.0, 3.25])
    assert same.status == NOT_HOLDS
    assert same.conditions["tanh"].status == NOT_HOLDS
    assert same.conditions["sigmoid"].status == HOLDS


def test_convergence_never_reached_is_a_lower_bound_that_cannot_refute():
    censored = _convergence(relu=[2.5, 2.5, 2.5], sigmoid=[None, None, None])
    assert censored.status == INCONCLUSIVE and "a lower bound" in censored.reason
    stuck = _convergence(relu=[None, None], tanh=[1.0, 1.0])
    assert stuck.status == INCONCLUSIVE and "relu never reached" in stuck.reason


# --- claim 4 ----------------------------------------------------------------------------
def test_dead_units_rule():
    quiet = {0.001: [0.0, 0.0, 0.0], 0.1: [0.0, 0.0, 0.0]}
    held = rules.dead_units({"relu": {0.001: [0.0, 0.01, 0.0], 0.1: [0.4, 0.5, 0.45]},
                             "leaky_relu": quiet, "elu": quiet}, R.dead_units, C)
    assert held.status == HOLDS and held.numbers["worst lr for relu"] == 0.1
    elu = rules.dead_units({"relu": {0.1: [0.4, 0.5, 0.45]}, "elu": {0.1: [0.3, 0.3, 0.3]}},
                           R.dead_units, C)
    assert elu.status == NOT_HOLDS and "elu units died too (30.0% at lr 0.1 > 2%)" in elu.reason
    assert rules.dead_units({"relu": {0.1: [0.0, 0.3]}}, R.dead_units, C).status == INCONCLUSIVE
    diverged = rules.dead_units({"relu": {0.1: [0.5, None], 1.0: [None, None]}}, R.dead_units, C)
    assert "3 run(s) diverged and are left out" in diverged.reason


# --- claim 5: per mode ------------------------------------------------------------------
def test_preprocessing_is_judged_per_mode():
    none = [0.80, 0.81, 0.80, 0.805]
    better = {"none": none, "channel_mean": [0.82, 0.83, 0.821, 0.826],
              "channel_standardize": [0.83, 0.84, 0.83, 0.836]}
    held = rules.preprocessing(better, R.preprocessing, C)
    assert held.status == HOLDS and set(held.conditions) == {"channel_mean",
                                                             "channel_standardize"}
    assert held.conditions["channel_standardize"].effect == pytest.approx(3.025)
    worse = better | {"mean_image": [0.79, 0.80, 0.79, 0.795]}
    out = rules.preprocessing(worse, R.preprocessing, C)
    assert out.status == NOT_HOLDS and out.conditions["mean_image"].status == NOT_HOLDS


# --- claim 6 ----------------------------------------------------------------------------
def test_early_stopping_rule():
    val = [0.70, 0.80, 0.85, 0.83, 0.82]
    held = rules.early_stopping([(val, [0.69, 0.79, 0.84, 0.83, 0.83]),
                                 (val, [0.69, 0.79, 0.845, 0.83, 0.83]),
                                 (val, [0.69, 0.79, 0.842, 0.83, 0.83])], R.early_stopping, C)
    assert held.status == HOLDS and held.numbers["best val epoch"] == 3
    rising = rules.early_stopping([([0.7, 0.8, 0.9], [0.7, 0.8, 0.9])] * 2, R.early_stopping, C)
    assert rising.status == INCONCLUSIVE and "peaked at the last epoch in all 2" in rising.reason


# --- claim 7: the gain's own interval ---------------------------------------------------
def test_ensemble_is_judged_by_its_paired_interval():
    band = Interval(2.5, 1.6, 3.4, C, 10_000, "paired bootstrap over 10000 test images")
    held = rules.ensemble(band, R.ensemble, C)
    assert held.status == HOLDS
    assert "seed x image bootstrap interval over the seeds and the same test images" in held.rule
    near = rules.ensemble(Interval(1.2, 0.5, 1.9, C, 10_000, "x"), R.ensemble, C)
    assert near.status == INCONCLUSIVE
    assert rules.ensemble(Interval(0.3, -0.2, 0.8, C, 10_000, "x"), R.ensemble,
                          C).status == NOT_HOLDS
    # One ensemble against one trained model: the same interval, never decided.
    once = rules.ensemble(Interval(2.5, 1.6, 3.4, C, 10_000, "x", seeds=1), R.ensemble, C)
    assert once.status == INCONCLUSIVE and "one seed" in once.reason
    assert once.conditions["mean-probability ensemble"].status == INCONCLUSIVE


# --- claim 8: per preset, the cost beside, and a gap worth shrinking -----------------------
def _preset(axis, shrink, cost=(-0.5, -0.6, -0.4), gap=(6.0, 6.5, 5.5)):
    return {"axis": axis, "shrink": list(shrink), "test_change": list(cost),
            "baseline_gap": list(gap)}


def test_regularization_is_judged_per_preset_with_its_cost():
    held = rules.regularization({"l2": _preset("regularization", [1.5, 1.7, 1.6]),
                                 "flip_crop": _preset("augmentation", [2.0, 2.5, 1.8],
                                                      cost=(-5.0, -6.0, -5.5))},
                                ["l1"], R.regularization, C)
    assert held.status == HOLDS and "not in the grid, untested: l1" in held.reason
    flip = held.conditions["flip_crop"]
    assert flip.status == HOLDS and flip.cost == pytest.approx(-5.5)
    assert flip.cost_high < 0  # the accuracy it costs, with its interval, beside the effect
    widens = rules.regularization({"l2": _preset("regularization", [1.0, 1.2, 0.9]),
                                   "dropout": _preset("regularization", [-1.0, -1.5, -0.8])},
                                  [], R.regularization, C)
    assert widens.status == NOT_HOLDS and widens.conditions["dropout"].status == NOT_HOLDS


def test_a_baseline_without_a_gap_makes_the_gap_claim_inconclusive():
    flat = rules.regularization({"l2": _preset("regularization", [0.1, -0.1, 0.0],
                                               gap=(0.8, 1.2, 1.0))}, [], R.regularization, C)
    assert flat.status == INCONCLUSIVE
    assert "no gap worth shrinking" in flat.reason and "1.00 pp" in flat.reason


# --- claim 9: per backbone x mode, per test image ----------------------------------------
def nested(n: int, accuracy: float) -> np.ndarray:
    """Right on the first round(accuracy * n) images: better models' sets include worse
    ones' (the hard images are hard for every model), as real classifiers roughly do."""
    out = np.zeros(n, dtype=bool)
    out[: round(accuracy * n)] = True
    return out


def image_differences(pre_small, scr_small, pre_large, scr_large, n=2000):
    cells = [nested(n, a).astype(float) for a in (pre_small, scr_small, pre_large, scr_large)]
    return list(100 * ((cells[0] - cells[1]) - (cells[2] - cells[3])))


def test_transfer_holds_for_the_imagenet_backbone_on_the_issues_numbers():
    # EfficientNet: +8.1 pp over scratch at 100 images (probe and fine-tune both 90.00%),
    # +4.05 (probe) and +6.45 (fine-tune) at 1,000; the in-domain `source` probe -16.65 pp.
    diffs = {
        "efficientnet_lite0/linear_probe": image_differences(0.9000, 0.8190, 0.9285, 0.8880),
        "efficientnet_lite0/finetune": image_differences(0.9000, 0.8190, 0.9525, 0.8880),
        "source/linear_probe": image_differences(0.7225, 0.8890, 0.7570, 0.9235),
    }
    gains = {"efficientnet_lite0/linear_probe": {"100": 8.1, "1000": 4.05},
             "efficientnet_lite0/finetune": {"100": 8.1, "1000": 6.45},
             "source/linear_probe": {"100": -16.65, "1000": -16.65}}
    verdict = rules.transfer(diffs, gains, R.transfer, C, seeds=3)  # as if 3 seeds a cell
    probe = verdict.conditions["efficientnet_lite0/linear_probe"]
    assert probe.status == HOLDS and probe.effect == pytest.approx(4.05)
    assert verdict.conditions["efficientnet_lite0/finetune"].effect == pytest.approx(1.65)
    assert verdict.status == HOLDS  # rule 'any': not pooled with the source backbone
    assert verdict.conditions["source/linear_probe"].status != HOLDS
    # The same numbers from one training per cell (today's default): never decided.
    once = rules.transfer(diffs, gains, R.transfer, C)
    assert once.status == INCONCLUSIVE
    for condition in once.conditions.values():
        assert condition.status == INCONCLUSIVE and condition.reason.startswith("one seed")


def test_transfer_without_per_image_results_is_inconclusive():
    one = rules.transfer({"a/finetune": [10.0]}, {"a/finetune": {"100": 12.0, "1000": 2.0}},
                         R.transfer, C)
    assert one.status == INCONCLUSIVE and "no 95% interval" in one.reason
    none = rules.transfer({}, {"a/finetune": {"100": 12.0}}, R.transfer, C)
    assert none.status == INCONCLUSIVE and "two or more target sizes" in none.reason
