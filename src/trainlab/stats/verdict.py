"""Verdicts on a claim's effect, per condition and overall, at a stated confidence.

One condition: the effect's interval (`intervals.mean_interval` over seeds or pairs, or a
`PairedDifference.interval`) against a threshold. With direction "above" the claim holds when
the whole interval lies strictly above the threshold, does not hold when it lies strictly
below, and is inconclusive when it straddles it or when there is no interval (one value).
Direction "below" (e.g. "L2 shrinks the gap": effect < 0) mirrors it.

A comparison of trained models with one seed on a side is never decided: its interval (e.g.
the paired image bootstrap of two trained models) is conditional on those models and leaves
out the seed-to-seed variation, so a rerun under another seed, or on another machine, can
reach the opposite verdict (issue 23 measured 12 of 40 verdicts flip). `judge` takes the seed
count (or reads `Interval.seeds`) and returns "inconclusive" with a reason that says "one
seed" and `EffectVerdict.seeds` = 1, whatever the interval says. Every verdict, ranking and
crossover goes through `judge`, so this is the one place the rule lives.

Several conditions (backbones, presets, modes): each is judged alone, then a rule combines
them. A rule asks that at least q of the k conditions hold ("all": q = k, "any": q = 1,
"majority": q = k // 2 + 1); the claim holds when at least q hold, does not hold when fewer
than q still could (holds + inconclusive < q), and is inconclusive otherwise: an inconclusive
condition counts as unknown, never as a success or a failure.

Multiplicity across conditions: by default (`simultaneous=True`) each condition's interval is
drawn at confidence 1 - (1 - c) / k (Bonferroni), so all k intervals cover their effects
together with probability >= c. When they do, every definite per-condition verdict is right,
and so is any definite overall verdict (the rule is monotone): the overall verdict is wrong
with probability <= 1 - c whatever the rule. Unadjusted, "any" over 6 null conditions would
claim an effect ~26% of the time at 95%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trainlab.stats.intervals import (
    DEFAULT_CONFIDENCE,
    Interval,
    check_confidence,
    mean_interval,
    percent,
)

HOLDS = "holds"
NOT_HOLDS = "does not hold"
INCONCLUSIVE = "inconclusive"
VERDICTS = (HOLDS, NOT_HOLDS, INCONCLUSIVE)
RULES = ("all", "any", "majority")
DIRECTIONS = ("above", "below")


@dataclass(frozen=True)
class EffectVerdict:
    """A status, the interval it follows from, and why.

    Attributes:
        status: one of `VERDICTS`.
        interval: the effect's interval (estimate, ends, confidence, n, method).
        threshold: what the interval is compared with.
        direction: "above" (holds when the effect exceeds the threshold) or "below".
        reason: one sentence quoting the numbers.
        seeds: the fewest seeds a side of the compared models has (None: not stated, e.g. an
            effect over seeds or pairs, whose interval already needs two).
    """

    status: str
    interval: Interval
    threshold: float
    direction: str
    reason: str
    seeds: int | None = None

    @property
    def one_seed(self) -> bool:
        """True when it compares models trained with one seed (never decided)."""
        return self.seeds is not None and self.seeds < 2

    @property
    def confidence(self) -> float:
        return self.interval.confidence

    @property
    def n(self) -> int:
        return self.interval.n

    @property
    def method(self) -> str:
        return self.interval.method


@dataclass(frozen=True)
class OverallVerdict:
    """A claim's verdict across conditions under a stated rule.

    Attributes:
        status: one of `VERDICTS`.
        rule: "all", "any" or "majority".
        required: how many conditions must hold (q).
        rule_text: the rule in words, with its multiplicity treatment, for the report.
        conditions: condition -> its `EffectVerdict`, in the given order.
        confidence: the family's confidence c.
        reason: one sentence: how many conditions hold, which way the rule went.
    """

    status: str
    rule: str
    required: int
    rule_text: str
    conditions: dict[str, EffectVerdict]
    confidence: float
    reason: str


def _number(value: float, unit: str) -> str:
    return f"{value:+.4g}{(' ' + unit) if unit else ''}"


def judge(
    interval: Interval,
    threshold: float = 0.0,
    *,
    direction: Literal["above", "below"] = "above",
    unit: str = "",
    seeds: int | None = None,
) -> EffectVerdict:
    """The verdict of one effect's interval against `threshold` (module docstring).

    `seeds`: the fewest seeds a side of the compared trained models has (default:
    `interval.seeds`); 1 makes the verdict "inconclusive", its reason saying "one seed".
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    seeds = interval.seeds if seeds is None else seeds
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds must be >= 1 (trained models on a side), got {seeds}")
    level = percent(interval.confidence)
    if not interval.defined:
        status = INCONCLUSIVE
        reason = (
            f"effect {_number(interval.estimate, unit)} from n = {interval.n}: "
            f"no {level} interval ({interval.method})"
        )
        return EffectVerdict(status, interval, threshold, direction, reason, seeds)
    low, high = interval.low, interval.high
    assert low is not None and high is not None  # interval.defined
    band = f"[{_number(low, unit)}, {_number(high, unit)}]"
    if seeds == 1:
        reason = (
            f"one seed: effect {_number(interval.estimate, unit)}, {level} interval {band} "
            f"compares models trained with one seed each, so seed-to-seed variation is not in "
            f"it and a rerun could decide otherwise; not decided (train several seeds)"
        )
        return EffectVerdict(INCONCLUSIVE, interval, threshold, direction, reason, seeds)
    if interval.above(threshold):
        status, where = (HOLDS if direction == "above" else NOT_HOLDS), "lies above"
    elif interval.below(threshold):
        status, where = (HOLDS if direction == "below" else NOT_HOLDS), "lies below"
    else:
        status, where = INCONCLUSIVE, "straddles"
    reason = (
        f"mean effect {_number(interval.estimate, unit)}, {level} interval {band} "
        f"({interval.method}) {where} the threshold {_number(threshold, unit)}"
    )
    return EffectVerdict(status, interval, threshold, direction, reason, seeds)


def judge_effect(
    values: Sequence[float] | np.ndarray,
    threshold: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    method: Literal["t", "bootstrap"] = "t",
    direction: Literal["above", "below"] = "above",
    unit: str = "",
    seeds: int | None = None,
) -> EffectVerdict:
    """`judge` of the `mean_interval` of per-seed (or per-pair, or per-image) effects;
    `seeds` as in `judge` (per-image effects of models trained once: 1)."""
    return judge(
        mean_interval(values, confidence, method=method), threshold, direction=direction,
        unit=unit, seeds=seeds,
    )


def condition_confidence(confidence: float, k: int, simultaneous: bool = True) -> float:
    """Each of k conditions' confidence: 1 - (1 - c) / k when simultaneous, else c."""
    confidence = check_confidence(confidence)
    if k < 1:
        raise ValueError(f"a claim needs at least one condition, got {k}")
    return 1.0 - (1.0 - confidence) / k if simultaneous else confidence


def required_conditions(rule: str, k: int) -> int:
    """How many of k conditions must hold under `rule`."""
    if rule not in RULES:
        raise ValueError(f"overall-verdict rule must be one of {RULES}, got {rule!r}")
    return {"all": k, "any": 1, "majority": k // 2 + 1}[rule]


def combine(
    verdicts: Mapping[str, EffectVerdict],
    rule: Literal["all", "any", "majority"] = "all",
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    simultaneous: bool = True,
) -> OverallVerdict:
    """The overall verdict of already-judged conditions under `rule`.

    `confidence` and `simultaneous` only describe how the conditions were judged (for the
    rule text); judge them at `condition_confidence(confidence, k, simultaneous)`.
    """
    k = len(verdicts)
    q = required_conditions(rule, k)
    each = condition_confidence(confidence, k, simultaneous)
    holds = sum(v.status == HOLDS for v in verdicts.values())
    open_ = sum(v.status == INCONCLUSIVE for v in verdicts.values())
    if holds >= q:
        status = HOLDS
    elif holds + open_ < q:
        status = NOT_HOLDS
    else:
        status = INCONCLUSIVE
    multiplicity = (
        f"each condition's interval at {percent(each)} (Bonferroni over {k}), so that all "
        f"hold together at {percent(confidence)}"
        if simultaneous and k > 1
        else f"each condition's interval at {percent(each)}"
        + (f", not adjusted for the {k} conditions" if k > 1 else "")
    )
    rule_text = (
        f"rule '{rule}': the claim holds when at least {q} of its {k} conditions hold, does "
        f"not hold when fewer than {q} still can (holds + inconclusive < {q}), and is "
        f"inconclusive otherwise; {multiplicity}"
    )
    listing = ", ".join(f"{name}: {v.status}{' (one seed)' if v.one_seed else ''}"
                        for name, v in verdicts.items())
    reason = f"holds in {holds} of {k} conditions ({listing}); rule '{rule}' needs {q}"
    return OverallVerdict(status, rule, q, rule_text, dict(verdicts), confidence, reason)


def judge_conditions(
    effects: Mapping[str, Sequence[float] | np.ndarray],
    threshold: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    rule: Literal["all", "any", "majority"] = "all",
    method: Literal["t", "bootstrap"] = "t",
    direction: Literal["above", "below"] = "above",
    simultaneous: bool = True,
    unit: str = "",
) -> OverallVerdict:
    """Judge each condition's effects (condition -> per-seed or per-pair values), combine.

    Returns:
        An `OverallVerdict` whose `conditions` hold each condition's `EffectVerdict`, judged
        at `condition_confidence(confidence, len(effects), simultaneous)`.
    """
    confidence = check_confidence(confidence)
    required_conditions(rule, max(len(effects), 1))  # reject a bad rule before any work
    each = condition_confidence(confidence, len(effects), simultaneous)
    verdicts = {
        name: judge_effect(values, threshold, each, method=method, direction=direction,
                           unit=unit)
        for name, values in effects.items()
    }
    return combine(verdicts, rule, confidence, simultaneous=simultaneous)
