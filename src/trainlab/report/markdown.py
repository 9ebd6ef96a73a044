"""Document -> GitHub-flavoured Markdown, figures as relative links to PNG files beside it.

Run data is escaped so a name cannot become markup: `<`, `>` and `&` turn into entities
(`<script>` stays text), and Markdown's own punctuation is backslash-escaped, `|` included,
so a value cannot split a table row.
"""

from __future__ import annotations

import re
from pathlib import Path

from trainlab.report.document import Document, Table

_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")  # what can start markup inside a line


def escape(text: object) -> str:
    """Literal text in Markdown, on one line."""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _PUNCTUATION.sub(r"\\\1", out)
    return " ".join(out.split())


def render_markdown(doc: Document, figures_dir: str = "figures",
                    base: str | Path | None = None) -> str:
    """The report as Markdown; figure `name` is linked as `<figures_dir>/<name>.png`, a
    stage file relative to `base` (the folder the Markdown is written to)."""
    lines = [f"# {escape(doc.title)}", "", f"*{escape(doc.subtitle)}*", ""]
    lines += [f"- **{escape(k)}:** {escape(v)}" for k, v in doc.meta]
    lines += ["", "**Contents:** " + " · ".join(
        f"[{escape(s.title)}](#{s.id})" for s in doc.sections), ""]
    for section in doc.sections:
        lines += [f'<a id="{section.id}"></a>', "", f"## {escape(section.title)}", ""]
        for block in section.blocks:
            lines += _block(block, figures_dir, base) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _block(block, figures_dir: str, base: str | Path | None) -> list[str]:
    if block.kind == "paragraph":
        return [escape(block.text)]
    if block.kind == "notice":
        command = f" `{block.command}`" if block.command else ""
        return [f"> **{escape(block.heading)}** {escape(block.text)}{command}"]
    if block.kind == "callout":
        return [f"> **{escape(block.heading)}** {escape(block.text)}"]
    if block.kind == "file":
        return [f"{escape(block.text)} [{escape(block.path)}](<{block.href(base)}>)"]
    if block.kind == "cards":
        return [f"- **{escape(c.label)}:** {escape(c.value)}"
                + (f" ({escape(c.detail)})" if c.detail else "") for c in block.cards]
    if block.kind == "keyvalues":
        return [f"- **{escape(k)}:** {escape(v)}" for k, v in block.items]
    if block.kind == "table":
        return table(block)
    figure = block.figure
    return [f"![{escape(figure.title)}]({figures_dir}/{figure.name}.png)", "",
            f"*{escape(figure.title)}.* {escape(figure.caption)}"]


def table(block: Table) -> list[str]:
    header = "| " + " | ".join(escape(c.label) for c in block.columns) + " |"
    rule = "| " + " | ".join("---:" if c.numeric else "---" for c in block.columns) + " |"
    rows = ["| " + " | ".join(escape(cell.text) or " " for cell in row) + " |"
            for row in block.rows]
    caption = ["", f"*{escape(block.caption)}*"] if block.caption else []
    return [header, rule, *rows, *caption]
