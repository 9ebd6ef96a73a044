"""Verdicts on an effect: seeds turn a clear effect into "holds", a null rarely holds, rules."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.stats.intervals import Interval
from trainlab.stats.paired import paired_difference
from trainlab.stats.verdict import (
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDS,
    combine,
    condition_confidence,
    judge,
    judge_conditions,
    judge_effect,
)


def test_a_clear_effect_goes_from_inconclusive_to_holds_as_seeds_are_added():
    effects = np.random.default_rng(11).normal(2.0, 1.5, size=12)  # +2 pp, seed sd 1.5 pp
    statuses = [judge_effect(effects[:n], 0.0, unit="pp").status for n in (1, 2, 3, 6, 12)]
    assert statuses[0] == INCONCLUSIVE and statuses[-1] == HOLDS
    assert NOT_HOLDS not in statuses
    first_hold = statuses.index(HOLDS)
    assert all(s == HOLDS for s in statuses[first_hold:])  # more seeds never undo it here
    assert first_hold >= 1  # one or two seeds are not enough for a 95% verdict


def test_a_null_effect_holds_at_most_about_alpha():
    rng = np.random.default_rng(0)
    verdicts = [judge_effect(rng.normal(0.0, 1.0, size=5)).status for _ in range(200)]
    # Two-sided 95% interval: each wrong side ~2.5% of the time.
    assert verdicts.count(HOLDS) / 200 <= 2 * 0.05
    assert verdicts.count(NOT_HOLDS) / 200 <= 2 * 0.05
    assert verdicts.count(INCONCLUSIVE) / 200 >= 0.85


def test_verdict_carries_confidence_interval_n_method_and_reason():
    verdict = judge_effect([1.0, 2.0, 3.0, 4.0], 0.2, 0.95, unit="pp")
    assert verdict.status == HOLDS
    assert (verdict.confidence, verdict.n, verdict.method) == (0.95, 4, "t-interval over 4 values")
    assert verdict.interval.low == pytest.approx(0.4457397432394794)
    assert verdict.reason == (
        "mean effect +2.5 pp, 95% interval [+0.4457 pp, +4.554 pp] (t-interval over 4 values) "
        "lies above the threshold +0.2 pp"
    )
    assert judge_effect([1.0, 2.0, 3.0, 4.0], 0.5).status == INCONCLUSIVE
    assert judge_effect([1.0, 2.0, 3.0, 4.0], 5.0).status == NOT_HOLDS


def test_one_value_is_inconclusive_and_says_why():
    verdict = judge_effect([3.0], 0.0, 0.9)
    assert verdict.status == INCONCLUSIVE
    assert "no 90% interval" in verdict.reason and "n = 1" in verdict.reason


def test_direction_below_mirrors_the_rule():
    shrinks = [-2.0, -1.5, -2.5, -1.8]  # e.g. the change of the train-test gap, pp
    assert judge_effect(shrinks, 0.0, direction="below").status == HOLDS
    assert judge_effect(shrinks, 0.0, direction="above").status == NOT_HOLDS
    with pytest.raises(ValueError, match="direction must be one of"):
        judge_effect(shrinks, direction="less")


def _verdict(status: str) -> object:
    """An EffectVerdict with the given status from a hand-made interval."""
    low, high = {HOLDS: (1.0, 2.0), NOT_HOLDS: (-2.0, -1.0), INCONCLUSIVE: (-1.0, 1.0)}[status]
    verdict = judge(Interval((low + high) / 2, low, high, 0.95, 3, "t"), 0.0)
    assert verdict.status == status
    return verdict


H, N, U = HOLDS, NOT_HOLDS, INCONCLUSIVE  # U: undecided
RULE_CASES = [
    # statuses,  all,  any,  majority
    ((H, H, H), H, H, H),
    ((H, H, U), U, H, H),
    ((H, N, U), N, H, U),
    ((H, N, N), N, H, N),
    ((N, N, U), N, U, N),
    ((U, U, U), U, U, U),
    ((H, H, N, N), N, H, N),  # majority of 4 needs 3
    ((H, H, U, N), N, H, U),
]


@pytest.mark.parametrize(("statuses", "all_", "any_", "majority"), RULE_CASES)
def test_overall_rules(statuses, all_, any_, majority):
    verdicts = {f"c{i}": _verdict(s) for i, s in enumerate(statuses)}
    for rule, expected in (("all", all_), ("any", any_), ("majority", majority)):
        assert combine(verdicts, rule).status == expected, rule


def test_rule_text_and_reason_state_the_rule():
    overall = combine({"a": _verdict(H), "b": _verdict(U), "c": _verdict(H)}, "majority")
    assert overall.required == 2
    assert overall.reason == (
        "holds in 2 of 3 conditions (a: holds, b: inconclusive, c: holds); rule 'majority' "
        "needs 2"
    )
    assert overall.rule_text.startswith(
        "rule 'majority': the claim holds when at least 2 of its 3 conditions hold"
    )
    assert "98.33% (Bonferroni over 3)" in overall.rule_text
    assert "not adjusted" in combine({"a": _verdict(H), "b": _verdict(H)}, "all",
                                     simultaneous=False).rule_text


def test_per_condition_intervals_are_simultaneous_by_default():
    # 95% alone lies above 0 (t(0.975, 3) = 3.18, mean / se = 3.5) but 98.33% (t = 5.0) not.
    effects = {"imagenet": [1.5, 2.0, 2.5, 3.0], "source": [0.5, 1.0, 1.5, 2.0]}
    assert judge_effect(effects["source"]).status == HOLDS
    overall = judge_conditions(effects, 0.0, rule="all")
    assert overall.conditions["source"].confidence == pytest.approx(0.975)
    assert overall.conditions["imagenet"].status == HOLDS
    assert overall.conditions["source"].status == INCONCLUSIVE
    assert overall.status == INCONCLUSIVE
    alone = judge_conditions(effects, 0.0, rule="all", simultaneous=False)
    assert alone.status == HOLDS and alone.conditions["source"].confidence == 0.95
    assert condition_confidence(0.95, 4) == pytest.approx(0.9875)


def test_bad_rule_and_no_condition_are_named():
    with pytest.raises(ValueError, match=r"rule must be one of \('all', 'any', 'majority'\)"):
        judge_conditions({"a": [1.0, 2.0]}, rule="most")
    with pytest.raises(ValueError, match="at least one condition, got 0"):
        judge_conditions({})


# --- a one-seed comparison is never decided -------------------------------------------------
def test_a_one_seed_comparison_is_never_decided_whatever_its_interval():
    from trainlab.stats.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS, judge

    for low, high in ((0.02, 0.05), (-0.05, -0.02), (-0.01, 0.01)):
        band = Interval((low + high) / 2, low, high, 0.95, 10_000, "paired bootstrap")
        for direction in ("above", "below"):
            verdict = judge(band, 0.0, direction=direction, seeds=1)
            assert verdict.status == INCONCLUSIVE and verdict.one_seed
            assert verdict.seeds == 1 and verdict.reason.startswith("one seed")
        # Two seeds a side: decided by the interval as before.
        assert judge(band, 0.0, seeds=2).status == (
            HOLDS if low > 0 else NOT_HOLDS if high < 0 else INCONCLUSIVE)
    # The seed count travels with a paired difference's interval.
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 3000)) < 0.9, rng.random((2, 3000)) < 0.6
    one = paired_difference(a[0], b[0], n_resamples=300)
    two = paired_difference(a, b, n_resamples=300)
    assert one.interval.seeds == 1 and two.interval.seeds == 2
    assert one.low > 0.25 and judge(one.interval).status == INCONCLUSIVE
    assert judge(two.interval).status == HOLDS
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        judge(one.interval, seeds=0)


def test_an_overall_verdict_of_one_seed_conditions_is_inconclusive_and_says_why():
    from trainlab.stats.verdict import INCONCLUSIVE, combine, judge

    far = Interval(0.3, 0.2, 0.4, 0.95, 5000, "paired bootstrap", seeds=1)
    overall = combine({"a": judge(far), "b": judge(far)}, "any")
    assert overall.status == INCONCLUSIVE and "a: inconclusive (one seed)" in overall.reason
