"""The report's Claims section: each lecture claim, its experiment, numbers, rule and verdict.

Reads the claims stage's claims.json (gathered as `ReportInputs.claims`); draws the per-layer
gradient-norm profile (claim 1), the mean activation per layer (claim 2) and the dead-unit
fraction against the learning rate (claim 4).
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np

from trainlab.claims.catalogue import CLAIMS
from trainlab.claims.results import DyingReluDetails, Entry, SaturationDetails, ZeroCentredDetails
from trainlab.report.document import Cell, Column, FigureBlock, Notice, Paragraph, Section, Table
from trainlab.report.figures import STYLE, Figure, new_figure, plain, png_bytes
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


def claims_section(found: ReportInputs, dpi: int) -> Section:
    section = Section("claims", "Claims")
    claims = found.claims
    stage = found.stages.get("claims")
    if claims is None:
        problem = f": {stage.problem}" if stage is not None and stage.problem else ""
        return section.add(Notice(f"The claims stage has not run{problem}. Each lecture claim "
                                  "gets its experiment, numbers and verdict once you run",
                                  "dvc repro claims"))
    entries = sorted(claims.claims.entries().values(), key=lambda e: e.number)
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
    verdicts = claims.claims.entries()
    for claim in CLAIMS:  # each claim's figure, drawn by the function its row names (below)
        details = getattr(verdicts[claim.key], "details", None)
        figure = globals()[claim.figure](details, dpi) \
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


def gradient_profile(details: SaturationDetails, dpi: int) -> Figure | None:
    """Claim 1: weight-gradient norm of each layer of the deep MLP, per activation."""
    profiles = details.grad_norm
    if not profiles:
        return None
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.5, 3.6)
        ax = fig.subplots()
        for i, (activation, states) in enumerate(sorted(profiles.items())):
            color = f"C{i}"
            for state, style in (("trained", "-"), ("init", "--")):
                band = states.get(state)
                values = np.array([np.nan if v is None else v for v in band.mean] if band else [],
                                  dtype=float)
                if values.size:
                    layers = np.arange(1, values.size + 1)
                    ax.plot(layers, values, style, marker="o", markersize=3, color=color,
                            label=plain(f"{activation} ({state})"))
        ax.set_yscale("log")
        ax.set(xlabel="layer (1 = first, last = output)", ylabel="gradient L2 norm (log)",
               title="Gradient norm per layer, deep MLP")
        ax.legend(ncols=2)
        png = png_bytes(fig, dpi)
    return Figure("claims_gradient_profile", "Claim 1: gradient norm per layer",
                  "Weight-gradient norm of every layer of the deep MLP on one batch, geometric "
                  "mean over seeds; solid after the brief training, dashed at initialisation. "
                  "A line falling towards layer 1 is the gradient vanishing on its way back.",
                  png)


def layer_means(details: ZeroCentredDetails, dpi: int) -> Figure | None:
    """Claim 2: mean output of each hidden layer, per activation (± sd over seeds)."""
    means = details.layer_mean
    if not means:
        return None
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.5, 3.4)
        ax = fig.subplots()
        for activation, stats in sorted(means.items()):
            mean = np.array([np.nan if v is None else v for v in stats.mean], dtype=float)
            sd = np.array([0.0 if v is None else v for v in stats.sd], dtype=float)
            ax.errorbar(np.arange(1, mean.size + 1), mean, yerr=sd, marker="o", markersize=3,
                        capsize=3, label=plain(activation))
        ax.axhline(0.0, color="#555555", linewidth=1, linestyle=":")
        ax.set(xlabel="hidden layer", ylabel="mean activation",
               title="Mean output per hidden layer")
        ax.legend()
        png = png_bytes(fig, dpi)
    return Figure("claims_layer_means", "Claim 2: mean activation per layer",
                  "Mean output of each hidden layer of the deep MLP on one batch (error bars: sd "
                  "over seeds). Zero-centred outputs sit on the dotted line.", png)


def dead_by_lr(details: DyingReluDetails, dpi: int) -> Figure | None:
    """Claim 4: dead (and inactive) unit fraction against the learning rate."""
    table = details.by_lr
    if not table:
        return None
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.5, 3.6)
        ax = fig.subplots()
        activations = sorted({row.activation for row in table})
        for i, activation in enumerate(activations):
            rows = sorted((r for r in table if r.activation == activation), key=lambda r: r.lr)
            lrs = np.array([r.lr for r in rows], dtype=float)
            dead = np.array([np.nan if r.dead_mean is None else 100 * r.dead_mean
                             for r in rows], dtype=float)
            sd = np.array([100 * r.dead_sd for r in rows], dtype=float)
            inactive = np.array([np.nan if r.inactive_mean is None else
                                 100 * r.inactive_mean for r in rows], dtype=float)
            ax.errorbar(lrs, dead, yerr=sd, marker="o", markersize=4, capsize=3, color=f"C{i}",
                        label=plain(f"{activation}: dead"))
            ax.plot(lrs, inactive, ":", marker=".", color=f"C{i}",
                    label=plain(f"{activation}: inactive"))
            for lr, row in zip(lrs, rows, strict=True):
                if row.diverged:
                    ax.annotate(f"{row.diverged} diverged", (lr, 0), fontsize=7,
                                color=f"C{i}", textcoords="offset points", xytext=(0, 4 + 8 * i))
        ax.set_xscale("log")
        ax.set(xlabel="learning rate (log)", ylabel="units (%)",
               title="Dead units against the learning rate")
        ax.legend(ncols=2)
        png = png_bytes(fig, dpi)
    return Figure("claims_dead_units", "Claim 4: dead units against the learning rate",
                  "Fraction of hidden units through which no gradient passes (|f'(z)| below "
                  "claims.dead_units.grad_eps on every probe image; solid, ± sd over seeds) and "
                  "of units whose output is ≤ 0 on every image (dotted: leaky_relu/elu units "
                  "can be silent yet alive).", png)
