"""The report's first section: the leaderboard (best recipe, ensembles, pretrained baselines on
the same test images), the accuracy-vs-training-cost figure with its Pareto front, and the
accuracy-vs-labelled-images figure with where a baseline overtakes the recipe.

Reads the leaderboard stage's leaderboard.json (gathered as `ReportInputs.leaderboard`).
"""

from __future__ import annotations

import matplotlib

from trainlab.leaderboard.results import LeaderboardFile, Row
from trainlab.report import document as doc
from trainlab.report.figures import STYLE, Figure, new_figure, plain, png_bytes
from trainlab.report.inputs import ReportInputs

KIND_COLORS = {"recipe": "#1f77b4", "ensemble": "#e69f00", "baseline": "#2ca02c"}


def leaderboard_section(found: ReportInputs, dpi: int) -> doc.Section:
    section = doc.Section("leaderboard", "Leaderboard: the grid's best, its ensembles, pretrained "
                                     "baselines")
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
        "not distinguishable from noise on these test images. The best single recipe is one "
        f"trained model, the checkpoint with the best validation accuracy ({board.best_single}); "
        "the summary's best recipe is its cell's mean over seeds."))
    section.add(doc.Table(COLUMNS, [_row_cells(row) for row in board.rows],
                      caption="Sorted by test accuracy. Training time of an ensemble: its "
                              "members' trainings; of a baseline: its cell and the frozen "
                              "feature pass. Images/s: inference on this machine, same batch "
                              "for all."))
    section.add(doc.FigureBlock(pareto_figure(board.rows, dpi)))
    if board.curve:
        section.add(doc.FigureBlock(labelled_images_figure(board, dpi)))
    section.add(*(doc.Paragraph(cross.verdict + ".") for cross in board.crossovers))
    section.add(*(doc.Paragraph(f"Note from the leaderboard stage: {note}")
                  for note in board.notes))
    return section


COLUMNS = [
    doc.Column("model"), doc.Column("test accuracy", True, "with its exact binomial interval"),
    doc.Column("vs best single", True, "difference in test accuracy, pp, paired interval"),
    doc.Column("p", True, "McNemar's exact test of no difference"),
    doc.Column("train-test gap", True, "final train accuracy - test accuracy, pp"),
    doc.Column("ECE", True), doc.Column("NLL", True), doc.Column("parameters", True),
    doc.Column("training", True), doc.Column("images/s", True, "inference on this machine"),
]


def _row_cells(row: Row) -> list[doc.Cell]:
    diff = (f"{row.diff_points:+.2f} pp [{row.diff_low:+.2f}, {row.diff_high:+.2f}]"
            if row.name != "best single recipe" else "reference")
    tone = "" if row.diff_low <= 0 <= row.diff_high else ("good" if row.diff_low > 0 else "bad")
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
    front = []
    for row in sorted(rows, key=lambda r: (r.train_seconds, -r.test_acc)):
        if not front or row.test_acc > front[-1].test_acc:
            front.append(row)
    return front


def pareto_figure(rows: tuple[Row, ...], dpi: int) -> Figure:
    """Test accuracy (with its interval) against training seconds (log), the front joined."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.4, 4.0)
        ax = fig.subplots()
        labels: dict[tuple[float, float], list[str]] = {}  # rows on one spot share a label
        for row in rows:
            ax.errorbar(row.train_seconds, 100 * row.test_acc,
                        yerr=[[100 * (row.test_acc - row.test_low)],
                              [100 * (row.test_high - row.test_acc)]],
                        fmt="o", color=KIND_COLORS.get(row.kind, "#7f7f7f"), capsize=3)
            spot = (round(row.train_seconds, 1), round(row.test_acc, 4))
            labels.setdefault(spot, []).append(row.name.removeprefix("ensemble: "))
        for (seconds, acc), names in labels.items():
            ax.annotate(plain(" / ".join(names), 28), (seconds, 100 * acc),
                        textcoords="offset points", xytext=(6, 2), fontsize=7.5)
        front = pareto_front(rows)
        ax.plot([r.train_seconds for r in front], [100 * r.test_acc for r in front],
                color="#7f7f7f", linestyle="--", linewidth=1, label="Pareto front")
        for kind, color in KIND_COLORS.items():
            ax.plot([], [], "o", color=color, label=kind)
        ax.set_xscale("log")
        ax.set(xlabel="training time (s, log scale)", ylabel="test accuracy (%)",
               title="Accuracy against training cost")
        ax.legend(loc="best")
        png = png_bytes(fig, dpi)
    return Figure("leaderboard_pareto", "Accuracy against training cost",
                  "Each leaderboard row: test accuracy with its interval against the seconds "
                  "its training took; the dashed line joins the rows nothing beats on both.",
                  png)


def labelled_images_figure(board: LeaderboardFile, dpi: int) -> Figure:
    """Test accuracy (band: its interval) against labelled train images (log), per model."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.4, 4.0)
        ax = fig.subplots()
        models = list(dict.fromkeys(point.model for point in board.curve))
        sizes = sorted({point.images for point in board.curve})
        for model in models:
            points = sorted((p for p in board.curve if p.model == model), key=lambda p: p.images)
            x = [p.images for p in points]
            line, = ax.plot(x, [100 * p.test_acc for p in points], marker="o",
                            label=plain(model), linewidth=2 if model == "best recipe" else 1.2)
            ax.fill_between(x, [100 * p.test_low for p in points],
                            [100 * p.test_high for p in points], color=line.get_color(),
                            alpha=0.15, linewidth=0)
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{size:,}" for size in sizes])
        ax.minorticks_off()
        ax.set(xlabel="labelled train images (log scale)", ylabel="test accuracy (%)",
               title="Accuracy against labelled images")
        ax.legend(loc="lower right")
        png = png_bytes(fig, dpi)
    return Figure("leaderboard_labelled", "Accuracy against labelled images",
                  f"The grid's best recipe and each pretrained baseline trained on fractions of "
                  f"the train split, scored on the same test images; bands: "
                  f"{board.confidence:.0%} intervals.", png)
