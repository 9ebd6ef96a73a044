"""One place per section and per figure: the outline table and the figures package."""

from __future__ import annotations

import ast
from pathlib import Path

from trainlab.report import outline

REPORT = Path(outline.__file__).parent


def _calls(path: Path, name: str) -> list[int]:
    """Lines of `path` that call `name(...)` or `<module>.name(...)`."""
    tree = ast.parse(path.read_text())
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == name]


def test_the_document_walks_the_outline(found):
    doc = outline.build_document(found, "t", 40)
    assert [(s.id, s.title) for s in doc.sections] == [(r.id, r.title) for r in outline.SECTIONS]
    assert len({r.id for r in outline.SECTIONS}) == len(outline.SECTIONS)


def test_only_the_outline_names_a_section_of_the_report():
    # compare.py lays out the other document (two experiments side by side)
    placing = {p.name for p in REPORT.rglob("*.py") if _calls(p, "Section")}
    assert placing == {"outline.py", "compare.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return ({a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)})


def test_figures_are_drawn_in_one_package():
    drawing = {str(p.relative_to(REPORT)) for p in REPORT.rglob("*.py")
               if any(m.split(".")[0] == "matplotlib" for m in _imports(p))}
    assert drawing and all(p.startswith("figures/") for p in drawing), drawing
