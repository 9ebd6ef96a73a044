"""The leaderboard's figures: accuracy against training cost with its Pareto front, and
accuracy against labelled images; each model in its kind's (or transfer mode's) colour."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

from trainlab.leaderboard.results import LeaderboardFile, Row
from trainlab.report.document import Figure
from trainlab.report.figures import labels as placed
from trainlab.report.figures.base import STYLE, new_figure, plain, png_bytes
from trainlab.report.figures.palette import KIND_COLORS, MODE_COLORS, OTHER, model_color


def pareto_figure(rows: Sequence[Row], front: Sequence[Row], dpi: int) -> Figure:
    """Test accuracy (with its interval) against training seconds (log), `front` (the rows
    nothing beats on both, cheapest first) joined; labels placed so none overlaps another."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.4, 4.0)
        ax = fig.subplots()
        labels: dict[tuple[float, float], list[str]] = {}  # rows on one spot share a label
        for row in rows:
            ax.errorbar(row.train_seconds, 100 * row.test_acc,
                        yerr=[[100 * (row.test_acc - row.test_low)],
                              [100 * (row.test_high - row.test_acc)]],
                        fmt="o", color=model_color(row.kind, row.name), capsize=3)
            spot = (round(row.train_seconds, 1), round(row.test_acc, 4))
            labels.setdefault(spot, []).append(row.name.removeprefix("ensemble: "))
        ax.plot([r.train_seconds for r in front], [100 * r.test_acc for r in front],
                color=OTHER, linestyle="--", linewidth=1, label="Pareto front")
        for kind, color in KIND_COLORS.items():  # a baseline is drawn in its mode's colour
            if kind != "baseline":
                ax.plot([], [], "o", color=color, label=kind)
        for mode, color in MODE_COLORS.items():
            if any(r.kind == "baseline" and r.name.endswith(f" {mode}") for r in rows):
                ax.plot([], [], "o", color=color, label=f"baseline: {mode}")
        ax.set_xscale("log")
        ax.set(xlabel="training time (s, log scale)", ylabel="test accuracy (%)",
               title="Accuracy against training cost")
        ax.legend(loc="best")
        placed.annotate(ax, [(seconds, 100 * acc) for seconds, acc in labels],
                        [plain(" / ".join(names), 28) for names in labels.values()])
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
            recipe = model == "best recipe"
            color = model_color("recipe" if recipe else "baseline", model)
            ax.plot(x, [100 * p.test_acc for p in points], marker="o", color=color,
                    label=plain(model), linewidth=2 if recipe else 1.2)
            ax.fill_between(x, [100 * p.test_low for p in points],
                            [100 * p.test_high for p in points], color=color,
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
