"""A verdict and the one interval rule every claim's verdict is built from.

An effect is measured several times (seeds, pairs of runs, members); its mean +- k standard
deviations is compared with a threshold: entirely at or above it, the claim holds; entirely
below, it does not hold; straddling it, the spread is larger than the effect's distance from
the threshold and the verdict is inconclusive. A claim whose evidence is missing (a stage has
not run) is pending.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HOLDS = "holds"
NOT_HOLDS = "does not hold"
INCONCLUSIVE = "inconclusive"
PENDING = "pending"
STATUSES = (HOLDS, NOT_HOLDS, INCONCLUSIVE, PENDING)


@dataclass(frozen=True)
class Verdict:
    """What a rule concluded, why, from which numbers and under which rule.

    Attributes:
        status: one of :data:`STATUSES`.
        reason: one or two sentences that quote the numbers the status follows from.
        numbers: headline numbers, label -> value (labels carry their units, e.g. "pp").
        rule: the rule in words, with its parameters from params.yaml.
    """

    status: str
    reason: str
    numbers: dict[str, float | None] = field(default_factory=dict)
    rule: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"verdict status {self.status!r} is not one of {STATUSES}")


@dataclass(frozen=True)
class Interval:
    """An effect measured n times: mean, sample sd (0 for one value), and mean +- k sd."""

    mean: float
    sd: float
    n: int
    k: float

    @property
    def low(self) -> float:
        return self.mean - self.k * self.sd

    @property
    def high(self) -> float:
        return self.mean + self.k * self.sd


def finite(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def interval(values: Iterable[float | None], k: float) -> Interval | None:
    """Mean and sample standard deviation of the finite values (None when there are none)."""
    kept = finite(values)
    if not kept:
        return None
    sd = statistics.stdev(kept) if len(kept) > 1 else 0.0
    return Interval(statistics.fmean(kept), sd, len(kept), k)


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def decide(
    values: Iterable[float | None],
    threshold: float,
    k: float,
    *,
    what: str,
    over: str = "seeds",
    unit: str = "",
    digits: int = 2,
) -> tuple[str, str, Interval | None]:
    """The interval rule: (status, reason, interval) for an effect that should reach `threshold`.

    Args:
        values: the effect, one value per seed (or pair, member ...); NaN/None are dropped.
        threshold: the least effect for which the claim holds.
        k: how many standard deviations the interval spans (claims.rules.spread_k).
        what: the effect in words, e.g. "test accuracy gain over none".
        over: what the values are (the spread's source), e.g. "seeds", "pairs".
        unit: appended to every number, e.g. " pp" or "x".
    """
    band = interval(values, k)
    if band is None:
        return INCONCLUSIVE, f"no finite measurement of {what}", None
    status, reason = judge(band, threshold, what=what, over=over, unit=unit, digits=digits)
    return status, reason, band


def judge(band: Interval, threshold: float, *, what: str, over: str, unit: str = "",
          digits: int = 2) -> tuple[str, str]:
    """(status, reason) of an effect's interval against `threshold` (see :func:`decide`)."""

    def n(value: float) -> str:
        return f"{fmt(value, digits)}{unit}"

    k = band.k
    measured = f"{what} = {n(band.mean)} ± {fmt(band.sd, digits)} (sd over {band.n} {over})"
    if band.n == 1:
        measured = f"{what} = {n(band.mean)} (one value: no spread measured)"
    if band.low >= threshold and not (band.sd == 0 and band.mean == threshold):
        return HOLDS, f"{measured}; mean − {k:g}·sd = {n(band.low)} ≥ {n(threshold)}"
    if band.high < threshold:
        return NOT_HOLDS, f"{measured}; even mean + {k:g}·sd = {n(band.high)} < {n(threshold)}"
    if band.sd == 0:
        return INCONCLUSIVE, f"{measured}: exactly at the threshold {n(threshold)}"
    distance = abs(band.mean - threshold)
    return INCONCLUSIVE, (f"{measured}: the spread across {over} ({k:g}·sd = "
                          f"{fmt(k * band.sd, digits)}) is larger than the effect's distance "
                          f"from the threshold {n(threshold)} ({fmt(distance, digits)})")


def interval_rule(what: str, threshold: float, k: float, over: str, unit: str = "") -> str:
    """The interval rule in words, with its parameters."""
    return (f"{what}: mean − {k:g}·sd ≥ {threshold:g}{unit} → holds; mean + {k:g}·sd < "
            f"{threshold:g}{unit} → does not hold; otherwise inconclusive (sd over {over})")


def combine(parts: Mapping[str, str]) -> str:
    """Overall status of sub-verdicts: all hold → holds; any does not hold → does not hold."""
    statuses = list(parts.values())
    if statuses and all(s == HOLDS for s in statuses):
        return HOLDS
    if NOT_HOLDS in statuses:
        return NOT_HOLDS
    return INCONCLUSIVE


def pending(reason: str, rule: str = "", **numbers: Any) -> Verdict:
    """The verdict of a claim whose evidence does not exist yet."""
    return Verdict(PENDING, reason, dict(numbers), rule)
