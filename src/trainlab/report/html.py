"""Document -> one self-contained HTML page (Jinja2, autoescape on for every value)."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

import jinja2

from trainlab.report.document import Document, Figure


def datauri(figure: Figure) -> str:
    """The figure as a `data:` URI (base64 has no character that needs escaping)."""
    return "data:image/png;base64," + base64.b64encode(figure.png).decode("ascii")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trainlab.report", "templates"),
        autoescape=True,  # every template, whatever its extension: run data is never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["datauri"] = datauri
    return env


def render_html(doc: Document, base: str | Path | None = None) -> str:
    """The page; `base`: the folder it is written to (links to stage files start there)."""
    return environment().get_template("report.html.j2").render(doc=doc, base=base)
