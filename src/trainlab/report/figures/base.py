"""What every figure shares: the report's matplotlib style, a blank figure, PNG bytes.

Accuracies arrive as fractions and are drawn in percent; gaps and gains in percentage
points. Every text that comes from a run goes through :func:`plain`, so a `$` in a preset
name is drawn as a dollar sign instead of starting mathtext.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure as MplFigure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

STYLE: dict[RcKeyType, Any] = {
    "font.size": 9.5, "axes.titlesize": 10.5, "axes.titleweight": "bold", "axes.labelsize": 9.5,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "legend.fontsize": 8.5, "legend.frameon": False,
}


def plain(text: object, width: int | None = None) -> str:
    """Run data as literal matplotlib text (no mathtext), optionally wrapped."""
    out = str(text).replace("$", r"\$")
    return "\n".join(textwrap.wrap(out, width)) if width else out


def new_figure(width: float, height: float) -> MplFigure:
    """A blank figure of `width` x `height` inches in the report's style."""
    with matplotlib.rc_context(STYLE):
        return MplFigure(figsize=(width, height), layout="constrained")


def png_bytes(fig: MplFigure, dpi: int) -> bytes:
    """The figure as PNG bytes at `dpi` dots per inch (without matplotlib's Software entry)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def axes_png(width: float, height: float, dpi: int, draw: Callable[[Axes], object]) -> bytes:
    """One axes `width` x `height` inches, drawn by `draw` in the report's style, as PNG bytes
    at `dpi` (the style holds while it draws and while the figure is saved)."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(width, height)
        draw(fig.subplots())
        return png_bytes(fig, dpi)
