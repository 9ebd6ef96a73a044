"""A claim's verdict: a status per condition and overall, each from an interval at a stated
confidence (:mod:`trainlab.stats.verdict`, scipy underneath).

An effect measured several times (seeds, pairs of runs, test images) gets its interval at
`stats.confidence`: entirely above the claim's threshold, the claim holds; entirely below, it
does not hold; straddling it (or with no interval, one value), it is inconclusive. A claim
measured under several conditions (activations, presets, modes, backbones) is judged per
condition, with the conditions' intervals adjusted to hold together (Bonferroni), and the
overall verdict follows the claim's stated rule (`all`, `any` or `majority` of the
conditions). A claim whose evidence is missing (a stage has not run) is pending.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from trainlab.stats.intervals import Interval, percent
from trainlab.stats.verdict import (
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDS,
    EffectVerdict,
    OverallVerdict,
    combine,
    condition_confidence,
    judge,
    judge_effect,
)

PENDING = "pending"
STATUSES = (HOLDS, NOT_HOLDS, INCONCLUSIVE, PENDING)
Rule = Literal["all", "any", "majority"]


@dataclass(frozen=True)
class Condition:
    """One condition of a claim: its effect's interval, verdict and (where the claim has
    one) its cost beside it, e.g. the test accuracy a regularizer gives up."""

    effect: float
    low: float | None
    high: float | None
    n: int
    method: str
    status: str
    reason: str
    cost: float | None = None
    cost_low: float | None = None
    cost_high: float | None = None

    @classmethod
    def of(cls, verdict: EffectVerdict, cost: Interval | None = None) -> Condition:
        band = verdict.interval
        return cls(band.estimate, band.low, band.high, band.n, band.method, verdict.status,
                   verdict.reason, *((cost.estimate, cost.low, cost.high) if cost else ()))


@dataclass(frozen=True)
class Verdict:
    """What a rule concluded, why, from which numbers, under which rule, at which confidence.

    Attributes:
        status: one of :data:`STATUSES`.
        reason: one or two sentences that quote the numbers the status follows from.
        numbers: headline numbers, label -> value (labels carry their units, e.g. "pp").
        rule: the rule in words, with its parameters from params.yaml.
        conditions: condition -> its interval and verdict (one entry for a single effect).
        confidence: of the verdict (None while pending).
    """

    status: str
    reason: str
    numbers: dict[str, float | None] = field(default_factory=dict)
    rule: str = ""
    conditions: dict[str, Condition] = field(default_factory=dict)
    confidence: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"verdict status {self.status!r} is not one of {STATUSES}")


def finite(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def effect(values: Sequence[float | None], threshold: float, confidence: float, *,
           unit: str = "", direction: Literal["above", "below"] = "above",
           seeds: int | None = None) -> EffectVerdict:
    """One effect's verdict from its values (a t-interval over seeds, pairs or images);
    `seeds`: of the compared models, where the values are not themselves over seeds (one
    seed: never decided, :func:`trainlab.stats.verdict.judge`)."""
    kept = finite(values)
    if not kept:
        empty = Interval(math.nan, None, None, confidence, 0, "no finite measurement")
        return judge(empty, threshold, direction=direction, unit=unit, seeds=seeds)
    return judge_effect(kept, threshold, confidence, direction=direction, unit=unit,
                        seeds=seeds)


def single(name: str, verdict: EffectVerdict, *, what: str, numbers: Mapping, rule: str,
           confidence: float, cost: Interval | None = None) -> Verdict:
    """The verdict of a claim measured under one condition."""
    return Verdict(verdict.status, f"{what}: {verdict.reason}", dict(numbers), rule,
                   {name: Condition.of(verdict, cost)}, confidence)


def overall(verdicts: Mapping[str, EffectVerdict], rule: Rule, confidence: float, *,
            numbers: Mapping, rule_text: str, costs: Mapping[str, Interval] | None = None,
            notes: Sequence[str] = ()) -> Verdict:
    """The verdict of a claim over its conditions (each already judged at
    :func:`each_confidence`), combined under `rule`."""
    combined: OverallVerdict = combine(verdicts, rule, confidence)
    conditions = {name: Condition.of(v, (costs or {}).get(name)) for name, v in verdicts.items()}
    each = "; ".join(f"{name}: {verdict.reason}" for name, verdict in verdicts.items())
    reason = "; ".join([f"{combined.reason}. {each}", *notes])
    return Verdict(combined.status, reason, dict(numbers), f"{rule_text}. {combined.rule_text}",
                   conditions, confidence)


def each_confidence(confidence: float, conditions: int) -> float:
    """The confidence each of `conditions` intervals is drawn at (Bonferroni)."""
    return condition_confidence(confidence, max(conditions, 1))


def interval_rule(what: str, threshold: float, confidence: float, over: str,
                  unit: str = "", interval: str = "t-interval") -> str:
    """The interval rule in words, with its parameters (`interval`: which one, drawn over
    `over`)."""
    level = percent(confidence)
    return (f"{what}: its {level} {interval} over {over} above {threshold:g}{unit} → holds; "
            f"below → does not hold; otherwise (or one value, no interval) inconclusive")


def pending(reason: str, rule: str = "", **numbers: float | None) -> Verdict:
    """The verdict of a claim whose evidence does not exist yet."""
    return Verdict(PENDING, reason, dict(numbers), rule)
