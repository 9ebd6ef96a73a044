"""The report as data: sections of blocks that the HTML and Markdown renderers both walk.

Blocks hold plain text (never markup), so each renderer escapes run data its own way and
the two formats cannot drift apart in content.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

DASH = "—"


@dataclass(frozen=True)
class Figure:
    """A rendered figure: `name` is its file stem (figures/<name>.png). Drawn by
    :mod:`trainlab.report.figures`; kept here, with the other blocks' data, so rendering a
    built document needs no matplotlib."""

    name: str
    title: str
    caption: str
    png: bytes

    @property
    def alt(self) -> str:
        return f"{self.title}. {self.caption}"


@dataclass(frozen=True)
class Cell:
    text: str
    sort: float | str | None = None  # what the HTML table sorts by (None: the text)
    tone: str = ""  # "good" | "bad" (a signed number's colour) | "id" (an identifier) | ""


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False
    hint: str = ""  # tooltip: what the column means, with units


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    columns: list[Column]
    rows: list[list[Cell]]
    caption: str = ""
    sortable: bool = True


@dataclass(frozen=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    text: str


@dataclass(frozen=True)
class Notice:
    """Something the reader must act on, e.g. a stage that has not run."""

    kind: ClassVar[str] = "notice"
    heading: ClassVar[str] = "Not available."  # a notice only ever says what is missing
    text: str
    command: str = ""  # the command that fixes it


@dataclass(frozen=True)
class Callout:
    """A result set apart from the text, under a heading that says what it holds."""

    kind: ClassVar[str] = "callout"
    heading: str
    text: str


@dataclass(frozen=True)
class FileLink:
    """A stage's raw file, linked rather than copied into the report. `path` is where the
    report read it; each renderer writes the link relative to the page it writes."""

    kind: ClassVar[str] = "file"
    text: str
    path: str

    def href(self, base: str | Path | None) -> str:
        if base is None:
            return Path(self.path).as_posix()
        return Path(os.path.relpath(Path(self.path).resolve(), Path(base).resolve())).as_posix()


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Cards:
    kind: ClassVar[str] = "cards"
    cards: list[Card]


@dataclass(frozen=True)
class KeyValues:
    kind: ClassVar[str] = "keyvalues"
    items: list[tuple[str, str]]


@dataclass(frozen=True)
class FigureBlock:
    kind: ClassVar[str] = "figure"
    figure: Figure


Block = Table | Paragraph | Notice | Callout | FileLink | Cards | KeyValues | FigureBlock


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    title: str
    subtitle: str
    meta: list[tuple[str, str]]
    sections: list[Section]

    @property
    def figures(self) -> list[Figure]:
        return [b.figure for s in self.sections for b in s.blocks if isinstance(b, FigureBlock)]


# --- number formatting: accuracies are fractions in, percent out ---------------------------
# A value to format: a number, None, NaN, or a pandas/JSON scalar; float() of one that is not
# missing is the check (Any: pandas, where most of them come from, has no types).
Value = Any


def missing(value: Value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def pct(value: Value, digits: int = 2) -> str:
    return DASH if missing(value) else f"{100 * float(value):.{digits}f}%"


def pct_cell(value: Value) -> Cell:
    return Cell(pct(value), None if missing(value) else float(value))


def spread(mean: Value, std: Value) -> str:
    """'91.23% ± 0.41' (std in points); the ± part only when there is a spread."""
    if missing(mean):
        return DASH
    return pct(mean) + ("" if missing(std) else f" ± {100 * float(std):.2f}")


def interval(mean: Value, low: Value, high: Value, scale: float = 100.0,
             unit: str = "%") -> str:
    """'86.97% [86.31, 87.62]': the estimate and its interval (fractions shown x `scale`);
    the bracket only when the interval exists."""
    if missing(mean):
        return DASH
    text = f"{scale * float(mean):.2f}{unit}"
    if missing(low) or missing(high):
        return text
    return f"{text} [{scale * float(low):.2f}, {scale * float(high):.2f}]"


def points(value: Value, digits: int = 2) -> str:
    """A difference already in percentage points, signed."""
    return DASH if missing(value) else f"{float(value):+.{digits}f} pp"


def points_cell(value: Value, higher_is_better: bool = True) -> Cell:
    if missing(value):
        return Cell(DASH)
    number = float(value)
    good = number > 0 if higher_is_better else number < 0
    tone = "" if abs(number) < 1e-9 else ("good" if good else "bad")
    return Cell(points(number), number, tone)


def number(value: Value, digits: int = 1) -> str:
    return DASH if missing(value) else f"{float(value):.{digits}f}"


def num_cell(value: Value, digits: int = 1) -> Cell:
    return Cell(number(value, digits), None if missing(value) else float(value))


def duration(seconds: Value) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min."""
    if missing(seconds):
        return DASH
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def text_cell(value: object) -> Cell:
    return Cell(DASH if missing(value) or value == "" else str(value))
