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
    assert total == "11"
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


def test_tables_fit_or_scroll_at_laptop_width(rendered, tmp_path):
    # At 1280 px every table fits its frame, or its frame scrolls and its header row sticks;
    # the leaderboard (10 columns) fits: its last column is inside the page, not cut off.
    probe = """<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    var th = wrap.querySelector("th");
    var fits = wrap.scrollWidth <= wrap.clientWidth + 1;
    var sticky = getComputedStyle(th).position === "sticky"
      && getComputedStyle(wrap).overflowY !== "visible";
    if (!fits && !sticky) out.push(wrap.closest("section").id);
  });
  var board = document.querySelector("#leaderboard .table-wrap");
  var last = board.querySelector("thead th:last-child").getBoundingClientRect();
  document.body.setAttribute("data-cut", out.join(" ") || "none");
  document.body.setAttribute("data-board-fits",
    String(last.right <= board.getBoundingClientRect().right + 1 && last.right <= 1280));
});
</script></body>"""
    page = tmp_path / "index.html"
    page.write_text((rendered / "index.html").read_text().replace("</body>", probe))
    result = chromium(tmp_path, "--window-size=1280,2000", "--virtual-time-budget=5000",
                      "--dump-dom", page.as_uri())
    assert attribute(result.stdout, "body", "data-cut") == "none"
    assert attribute(result.stdout, "body", "data-board-fits") == "true"
