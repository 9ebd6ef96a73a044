"""The report's outline: one row per section, in reading order, with its anchor, its title
and the one function that fills it. The document is this table walked; adding a section is
one row here plus its function.

Each function takes the empty section, the gathered inputs and the figures' resolution, and
adds its blocks (a stage that has not run gets a notice, never a missing section, so the
table of contents is the same for every state of the pipeline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from trainlab.report import sections
from trainlab.report.claims import claims_section
from trainlab.report.document import DASH, Document, Section
from trainlab.report.inputs import ReportInputs
from trainlab.report.leaderboard import leaderboard_section
from trainlab.report.replication import replication_section
from trainlab.report.summary import summary_section

Build = Callable[[Section, ReportInputs, int], Section]


@dataclass(frozen=True)
class Outline:
    id: str  # the anchor (#id) and the HTML section's id
    title: str
    build: Build


SECTIONS: tuple[Outline, ...] = (
    Outline("leaderboard", "Leaderboard: the grid's best, its ensembles, pretrained baselines",
            leaderboard_section),
    Outline("summary", "Summary", summary_section),
    Outline("recipes", "Recipes", sections.recipes_section),
    Outline("heatmaps", "Activation × regularization", sections.heatmaps_section),
    Outline("augmentation", "Augmentation and the gap", sections.augmentation_section),
    Outline("curves", "Learning curves", sections.curves_section),
    Outline("health", "Activation health", sections.health_section),
    Outline("ensemble", "Ensemble", sections.ensemble_section),
    Outline("transfer", "Transfer learning", sections.transfer_section),
    Outline("search", "Search", sections.search_section),
    Outline("claims", "Claims", claims_section),
    Outline("replication", "Replication", replication_section),
)


def build_document(found: ReportInputs, title: str, dpi: int) -> Document:
    """Every section of the report, in the order of :data:`SECTIONS`, figures at `dpi`."""
    built = [row.build(Section(row.id, row.title), found, dpi) for row in SECTIONS]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = [("experiment", found.experiment.name), ("generated", when),
            ("trials from", found.stages["search"].source or DASH)]
    return Document(title, "Which training recipe works, and why", meta, built)
