"""The report's first section: the leaderboard (best recipe, ensembles, pretrained baselines on
the same test images), the accuracy-vs-training-cost figure with its Pareto front, and the
accuracy-vs-labelled-images figure with where a baseline overtakes the recipe.

Reads the leaderboard stage's leaderboard.json (gathered as `ReportInputs.leaderboard`).
"""

from __future__ import annotations

from trainlab.leaderboard.results import (
    AHEAD,
    BEHIND,
    BEST_SINGLE,
    NOT_DISTINGUISHABLE,
    ONE_SEED,
    LeaderboardFile,
    Row,
)
from trainlab.report import document as doc
from trainlab.report.figures.leaderboard import labelled_images_figure, pareto_figure
from trainlab.report.inputs import ReportInputs
from trainlab.search.results import BEST_RECIPE, BEST_SEED


def _seeds(board: LeaderboardFile, name: str) -> int:
    return next((row.seeds for row in board.rows if row.name == name), 1)


def leaderboard_section(section: doc.Section, found: ReportInputs, dpi: int) -> doc.Section:
    board = found.leaderboard
    if board is None:
        stage = found.stages["leaderboard"]
        return section.add(doc.Notice("Nothing to show until the leaderboard stage has run "
                                  f"({stage.problem}). Run it with", stage.command))
    level = f"{board.confidence:.0%}"
    section.add(doc.Paragraph(
        f"Every model scored on the same {board.test_images:,} test images of {board.dataset} "
        f"(fingerprint {board.fingerprint}); the recipe and the baselines trained on the same "
        f"{board.train_images:,} train images and were selected on the same val split. "
        f"Intervals at {level}: {board.method}. A difference whose interval includes 0 is "
        "not distinguishable from noise on these test images, nor is one trained model a "
        f"side (\"one seed\"). The {BEST_RECIPE} is the cell of the checkpoint with the "
        f"best validation accuracy ({board.best_single}), over the "
        f"{_seeds(board, BEST_SINGLE)} seed(s) the search trained it at (its ECE and NLL: "
        f"that checkpoint's, the {BEST_SEED}); every baseline and curve point is a mean over "
        f"{board.seeds} seed(s)."))
    section.add(doc.Table(COLUMNS, [_row_cells(row) for row in board.rows],
                      caption="Sorted by test accuracy. Training time of an ensemble: its "
                              "members' trainings; of a baseline: its cell and the frozen "
                              "feature pass. Images/s: inference on this machine, same batch "
                              "for all."))
    section.add(doc.FigureBlock(pareto_figure(board.rows, pareto_front(board.rows), dpi)))
    if board.curve:
        section.add(doc.FigureBlock(labelled_images_figure(board, dpi)))
    section.add(*(doc.Paragraph(cross.verdict + ".") for cross in board.crossovers))
    section.add(*(doc.Paragraph(f"Note from the leaderboard stage: {note}")
                  for note in board.notes))
    return section


COLUMNS = [
    doc.Column("model"), doc.Column("test accuracy", True, "with its exact binomial interval"),
    doc.Column(f"vs {BEST_SINGLE}", True, "difference in test accuracy, pp, paired interval"),
    doc.Column("p", True, "McNemar's exact test of no difference"),
    doc.Column("train-test gap", True, "final train accuracy - test accuracy, pp"),
    doc.Column("ECE", True), doc.Column("NLL", True), doc.Column("parameters", True),
    doc.Column("training", True), doc.Column("images/s", True, "inference on this machine"),
]


def _row_cells(row: Row) -> list[doc.Cell]:
    diff = (f"{row.diff_points:+.2f} pp [{row.diff_low:+.2f}, {row.diff_high:+.2f}]"
            if row.name != BEST_SINGLE else "reference")
    # The stage's own call (one seed: never ahead or behind); an older file: the interval.
    where = row.standing or (NOT_DISTINGUISHABLE if row.diff_low <= 0 <= row.diff_high
                             else AHEAD if row.diff_low > 0 else BEHIND)
    tone = {AHEAD: "good", BEHIND: "bad"}.get(where, "")
    if where == ONE_SEED:
        diff += " (one seed: not decided)"
    gap = None if row.gap_acc is None else 100 * row.gap_acc
    return [
        doc.text_cell(row.name),
        doc.Cell(doc.interval(row.test_acc, row.test_low, row.test_high), row.test_acc),
        doc.Cell(diff, row.diff_points, tone),
        doc.num_cell(row.diff_p, 3),
        doc.points_cell(gap, higher_is_better=False),
        doc.num_cell(row.ece, 4), doc.num_cell(row.nll, 4),
        doc.Cell(f"{row.params:,}", row.params),
        doc.Cell(doc.duration(row.train_seconds), row.train_seconds),
        doc.Cell(f"{row.images_per_second:,.0f}", row.images_per_second),
    ]


def pareto_front(rows: tuple[Row, ...] | list[Row]) -> list[Row]:
    """The rows no other row beats on both test accuracy and training seconds, cheapest
    first."""
    front: list[Row] = []
    for row in sorted(rows, key=lambda r: (r.train_seconds, -r.test_acc)):
        if not front or row.test_acc > front[-1].test_acc:
            front.append(row)
    return front
