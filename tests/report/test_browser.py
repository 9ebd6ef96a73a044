"""The report in a real browser (Debian's headless Chromium): figures load, no console
errors, the tables sort; a screenshot is kept (tmp_path, and /tmp/report_screenshot.png)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from support import BROWSER_MARKS, chromium, console_lines, png_size  # tests/support.py

SCREENSHOT = Path("/tmp/report_screenshot.png")  # for a person to look at
pytestmark = BROWSER_MARKS


def dump_dom(tmp_path: Path, page: Path) -> subprocess.CompletedProcess:
    return chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())


def attribute(dom: str, tag: str, name: str) -> str | None:
    found = re.search(rf"<{tag}\b[^>]*\s{name}=\"([^\"]*)\"", dom)
    return found[1] if found else None


def test_figures_load_without_console_errors(rendered, tmp_path):
    result = dump_dom(tmp_path, rendered / "index.html")
    total = attribute(result.stdout, "body", "data-figures-total")
    assert total == "9"
    assert attribute(result.stdout, "body", "data-figures-loaded") == total
    assert attribute(result.stdout, "html", "data-errors") is None
    assert console_lines(result.stderr) == []


def test_clicking_a_header_sorts_the_recipe_table(rendered, tmp_path):
    # A copy of the page with a script that clicks "test acc" twice and records the top row.
    probe = """<script>
window.addEventListener("load", function () {
  var table = document.querySelector("#recipes table");
  var header = Array.from(table.tHead.rows[0].cells).find(function (th) {
    return th.textContent.trim() === "test acc"; });
  var top = function () { return table.tBodies[0].rows[0].cells[0].textContent; };
  header.click(); document.body.setAttribute("data-ascending", top());
  header.click(); document.body.setAttribute("data-descending", top());
  document.body.setAttribute("data-order", header.getAttribute("aria-sort"));
});
</script></body>"""
    page = tmp_path / "index.html"
    page.write_text((rendered / "index.html").read_text().replace("</body>", probe))
    result = dump_dom(tmp_path, page)
    assert attribute(result.stdout, "body", "data-ascending") == "sigmoid|none|none"
    assert attribute(result.stdout, "body", "data-descending") == "relu|l2|flip_crop"
    assert attribute(result.stdout, "body", "data-order") == "descending"
    assert console_lines(result.stderr) == []


def test_screenshot(rendered, tmp_path):
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1280,4000", f"--screenshot={shot}",
             (rendered / "index.html").as_uri())
    data = shot.read_bytes()
    assert png_size(data) == (1280, 4000)
    assert len(data) > 100_000  # a rendered page with figures, not a blank one
    shutil.copyfile(shot, SCREENSHOT)
