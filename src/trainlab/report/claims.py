"""The report's Claims section: each lecture claim, its experiment, numbers, rule and verdict.

Reads the claims stage's claims.json (gathered as `ReportInputs.claims`); shows the per-layer
gradient-norm profile (claim 1), the mean activation per layer (claim 2) and the dead-unit
fraction against the learning rate (claim 4), drawn by :mod:`trainlab.report.figures.claims`.
"""

from __future__ import annotations

import math
from typing import Any

from trainlab.claims.catalogue import CLAIMS
from trainlab.claims.results import Entry
from trainlab.report.document import Cell, Column, FigureBlock, Notice, Paragraph, Section, Table
from trainlab.report.figures import claims as drawers
from trainlab.report.inputs import ReportInputs

TONES = {"holds": "good", "does not hold": "bad", "inconclusive": "warn", "pending": ""}
COLUMNS = [
    Column("#", True), Column("claim", hint="the lecture's claim"),
    Column("experiment", hint="what tested it on this data"),
    Column("numbers", hint="what the experiment measured (pp: percentage points)"),
    Column("rule", hint="claims.rules in params.yaml"), Column("verdict"),
    Column("why", hint="the numbers the verdict follows from"),
]


def value_text(value: Any) -> str:
    """A number with 3 significant digits (scientific when tiny or huge), else the text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a" if value is None else str(value)
    if not math.isfinite(value):
        return "n/a"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.3g}"


def numbers_text(entry: Entry) -> str:
    parts = [f"{label} {value_text(v)}" for label, v in entry.numbers.items()]
    context = [f"{label} {value_text(v)}" for label, v in entry.context.items()]
    return "; ".join(parts) + (f" | context: {'; '.join(context)}" if context else "")


def claims_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    claims = found.claims
    stage = found.stages.get("claims")
    if claims is None:
        problem = f": {stage.problem}" if stage is not None and stage.problem else ""
        return section.add(Notice(f"The claims stage has not run{problem}. Each lecture claim "
                                  "gets its experiment, numbers and verdict once you run",
                                  "dvc repro claims"))
    entries = sorted(claims.claims.values(), key=lambda e: e.number)
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in claims.summary if n)
    levels = {e.confidence for e in entries if e.confidence is not None}
    level = ", ".join(f"{c:.0%}" for c in sorted(levels)) or "n/a"
    section.add(Paragraph(
        f"Each claim of the lecture, tested on this data ({counts}), every verdict at "
        f"{level} confidence. A verdict follows from the numbers and the rule beside it "
        "(claims.rules in params.yaml): the effect's interval (over seeds, pairs or test "
        "images; scipy) above the threshold → holds, below → does not hold, straddling it → "
        "inconclusive. A claim measured under several conditions is judged per condition "
        "(the table under the claims), its intervals adjusted to hold together, and its "
        "overall verdict follows the rule it states (all, any or a majority of the "
        f"conditions). Seeds: {', '.join(str(s) for s in claims.seeds)}; experiments took "
        f"{value_text(claims.seconds.total)} s."))
    rows = [[Cell(str(e.number), e.number), Cell(e.claim), Cell(e.experiment),
             Cell(numbers_text(e)), Cell(e.rule), Cell(e.status, tone=TONES[e.status]),
             Cell(e.reason)] for e in entries]
    section.add(Table(COLUMNS, rows, caption=f"From {stage.source if stage else 'claims.json'}; "
                      "every number is also a metric of the MLflow run `claims`."))
    for entry in entries:
        if entry.conditions:
            section.add(conditions_table(entry))
    for claim in CLAIMS:  # each claim's figure, the one its row names
        details = claims.claims[claim.key].details
        figure = drawers.figure(claim.figure, details, dpi) \
            if claim.figure and details is not None else None
        if figure is not None:
            section.add(FigureBlock(figure))
    return section


CONDITION_COLUMNS = [
    Column("condition"), Column("effect", True, "the claim's effect (units in the rule)"),
    Column("interval", hint="at the claim's confidence, adjusted over its conditions"),
    Column("n", True, "seeds, pairs or test images it rests on"),
    Column("test acc change", True, "the condition's cost where the claim has one, pp"),
    Column("verdict"), Column("why"),
]


def conditions_table(entry: Entry) -> Table:
    """Claim `entry`, condition by condition: effect, interval, cost, verdict."""

    def ends(low: float | None, high: float | None) -> str:
        return "none" if low is None or high is None else \
            f"[{value_text(low)}, {value_text(high)}]"

    rows = [[Cell(name), Cell(value_text(c.effect), c.effect),
             Cell(ends(c.low, c.high)), Cell(str(c.n), c.n),
             Cell("" if c.cost is None else f"{value_text(c.cost)} {ends(c.cost_low, c.cost_high)}",
                  c.cost),
             Cell(c.status, tone=TONES[c.status]), Cell(c.reason)]
            for name, c in entry.conditions.items()]
    level = f"{entry.confidence:.0%}" if entry.confidence is not None else "n/a"
    return Table(CONDITION_COLUMNS, rows,
                 caption=f"Claim {entry.number} per condition ({level} overall): "
                         f"{entry.status}.")
