"""The report in a real browser (Debian's headless Chromium): figures load, no console
errors, the tables sort; a screenshot is kept (tmp_path, and /tmp/report_screenshot.png)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/report_screenshot.png")  # for a person to look at
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make chromium)"),
]
# Headless and offline: without the background-networking flags Chromium tries to connect
# out at start-up, which a closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def console_lines(stderr: str) -> list[str]:
    """Messages the page wrote to the console (errors, CSP violations): Chromium logs them
    as `...:CONSOLE:12] "message"` (or `CONSOLE(12)`) with --enable-logging."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


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
    width, height = struct.unpack(">II", data[16:24])  # the PNG's IHDR chunk
    assert (width, height) == (1280, 4000)
    assert len(data) > 100_000  # a rendered page with figures, not a blank one
    shutil.copyfile(shot, SCREENSHOT)
