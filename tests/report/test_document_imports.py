"""The report as data renders without the drawing library: `Figure` lives with the document
model, so the HTML and Markdown renderers of a built document never load matplotlib (nor
pandas or MLflow). Checked in a fresh interpreter, as tests/test_imports.py does."""

from __future__ import annotations

import json
import subprocess
import sys

RENDER = """
from trainlab.report.document import Document, Figure, FigureBlock, Paragraph, Section
from trainlab.report.html import render_html
from trainlab.report.markdown import render_markdown

figure = Figure("f", "A figure", "Its caption.", b"\\x89PNG\\r\\n\\x1a\\n")
doc = Document("t", "s", [("k", "v")], [Section("a", "A", [Paragraph("p"), FigureBlock(figure)])])
assert "data:image/png;base64," in render_html(doc)
assert "figures/f.png" in render_markdown(doc)
import json, sys
print(json.dumps(sorted(m for m in ("matplotlib", "pandas", "mlflow") if m in sys.modules)))
"""


def test_rendering_a_built_document_loads_no_matplotlib():
    out = subprocess.run([sys.executable, "-c", RENDER], capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_figures_package_does_load_it():  # the check above can see the import
    script = ("import sys, trainlab.report.figures.base\n"
              "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "True"
