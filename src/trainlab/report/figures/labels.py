"""Text labels beside points that never print over each other.

Two leaderboard rows can sit almost on one spot (the mean-probability and the vote
ensembles share their members' training time and differ by a fraction of a point), and
matplotlib draws each label where it is told. Here each label starts just right of its point
and, where its box would cross a label placed before it, moves up past that one: a pure,
deterministic rule (points taken bottom to top, ties by x then by order given), so the same
rows give the same picture every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trainlab.report.figures.palette import REFERENCE

# Offset of a label from its point, in points (1/72 inch): right of the marker, a little up.
DX, DY = 6.0, 2.0
GAP = 2.0  # points between two stacked labels
CHAR_WIDTH = 0.6  # a character's width as a fraction of the font size (DejaVu Sans ~0.55-0.6)
LINE_HEIGHT = 1.25  # a line's height as a multiple of the font size


@dataclass(frozen=True)
class Box:
    """A label's lower-left corner and size, in points on the figure."""

    x: float
    y: float
    width: float
    height: float

    def crosses(self, other: Box) -> bool:
        return (self.x < other.x + other.width and other.x < self.x + self.width
                and self.y < other.y + other.height + GAP and other.y < self.y + self.height + GAP)


def text_size(text: str, fontsize: float) -> tuple[float, float]:
    """An estimate of `text`'s width and height in points (lines split on newlines)."""
    lines = text.split("\n")
    return (CHAR_WIDTH * fontsize * max(len(line) for line in lines),
            LINE_HEIGHT * fontsize * len(lines))


def place(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]]
          ) -> list[Box]:
    """A box per anchor (a point, in points on the figure), none crossing another."""
    order = sorted(range(len(anchors)), key=lambda i: (anchors[i][1], anchors[i][0], i))
    placed: dict[int, Box] = {}
    for i in order:
        (x, y), (width, height) = anchors[i], sizes[i]
        box = Box(x + DX, y + DY, width, height)
        while (hit := next((b for b in placed.values() if box.crosses(b)), None)) is not None:
            box = Box(box.x, hit.y + hit.height + GAP + 1e-6, width, height)
        placed[i] = box
    return [placed[i] for i in range(len(anchors))]


def annotate(ax, points: Sequence[tuple[float, float]], texts: Sequence[str],
             fontsize: float = 7.5, color: str = REFERENCE) -> list[Box]:
    """Label each data point of `ax` with its text, placed by :func:`place`; a label moved
    off its point gets a thin leader line back to it. Call after the axes' scales and data
    are set: the positions are computed on the laid-out figure, twice, because the labels
    themselves make constrained layout shrink the axes (and so the points' distances)."""
    fig = ax.get_figure()
    leader = {"arrowstyle": "-", "color": color, "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3}
    notes = [ax.annotate(text, point, textcoords="offset points", xytext=(DX, DY),
                         fontsize=fontsize, va="bottom", ha="left", arrowprops=leader)
             for point, text in zip(points, texts, strict=True)]
    boxes: list[Box] = []
    for _ in range(2):
        fig.draw_without_rendering()  # constrained layout settles the axes' box first
        to_points = 72.0 / fig.dpi
        anchors = [tuple(to_points * np.asarray(ax.transData.transform(p))) for p in points]
        boxes = place(anchors, [text_size(t, fontsize) for t in texts])
        for note, anchor, box in zip(notes, anchors, boxes, strict=True):
            note.xyann = (box.x - anchor[0], box.y - anchor[1])
    for note, anchor, box in zip(notes, anchors, boxes, strict=True):
        note.arrow_patch.set_visible(box.y - anchor[1] > DY + 0.5)  # only off its point
    return boxes
