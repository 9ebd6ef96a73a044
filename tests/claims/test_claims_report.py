"""The report's Claims section from a claims.json, and when the claims stage has not run."""

from __future__ import annotations

import html
import json
import re

from trainlab.cli import main

STATUSES = ["holds", "does not hold", "inconclusive", "pending"]


def _entry(number: int, status: str, **details) -> dict:
    return {"number": number, "claim": f"claim {number} statement",
            "experiment": f"experiment {number}", "status": status,
            "reason": f"reason {number} <script>alert({number})</script>",
            "rule": f"rule {number}: mean − 1·sd ≥ {number} pp", "numbers": {
                "gain pp": 1.234 * number, "ratio": 1.5e-6, "missing": None},
            "context": {"search trials": 12} if number == 3 else {}, "details": details}


def claims_payload() -> dict:
    layers = {"mean": [1e-6, 1e-4, 1e-2, 0.5], "sd": [0.1] * 4}
    claims = {
        "saturation": _entry(1, "holds", grad_norm={
            "sigmoid": {"init": layers, "trained": layers},
            "relu": {"init": {"mean": [1.0] * 4, "sd": [0.0] * 4},
                     "trained": {"mean": [1.2, 1.1, 1.0, 2.0], "sd": [0.1] * 4}}}),
        "zero_centred": _entry(2, "does not hold", layer_mean={
            "sigmoid": {"mean": [0.5, 0.5], "sd": [0.01, 0.02]},
            "tanh": {"mean": [0.0, 0.01], "sd": [0.01, 0.01]}}),
        "dying_relu": _entry(4, "inconclusive", by_lr=[
            {"activation": a, "lr": lr, "runs": 2, "diverged": int(lr > 0.05 and a == "relu"),
             "dead_mean": d, "dead_sd": 0.05, "inactive_mean": d + 0.1}
            for a, scale in (("relu", 1.0), ("elu", 0.2))
            for lr, d in ((0.001, 0.0), (0.01, 0.2 * scale), (0.1, 0.5 * scale))]),
    }
    for number in (3, 5, 6, 7, 8, 9):  # written in another order than their numbers
        claims[f"claim{number}"] = _entry(number, STATUSES[number % 4])
    return {"claims": dict(reversed(list(claims.items()))),
            "summary": {"does_not_hold": 3, "holds": 2, "inconclusive": 2, "pending": 2},  # sorted
            "seconds": {"total": 95.5}, "seeds": [0, 1, 2]}


def _cells(page: str) -> list[list[str]]:
    """The rows of the claims table as (class, text) pairs per cell."""
    section = page.split('<section id="claims">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    cells = [[(c.strip(), html.unescape(re.sub(r"<[^>]+>", "", t)).strip())
              for c, t in re.findall(r'<td class="([^"]*)"[^>]*>(.*?)</td>', row, re.S)]
             for row in rows]
    return [row for row in cells if row]  # the header row has no <td>


def test_report_renders_the_claims_table_and_figures(project):
    (project / "reports").mkdir()
    (project / "reports" / "claims.json").write_text(json.dumps(claims_payload()))
    assert main(["report", "--out", "out", "--inputs", "reports"]) == 0
    page = (project / "out" / "index.html").read_text()
    rows = _cells(page)
    assert [row[0][1] for row in rows] == [str(n) for n in range(1, 10)]  # by claim number
    verdicts = {row[0][1]: row[5] for row in rows}
    assert verdicts["1"] == ("good", "holds")
    assert verdicts["2"] == ("bad", "does not hold")
    assert verdicts["4"] == ("warn", "inconclusive")
    assert verdicts["7"] == ("", "pending")
    first = [text for _, text in rows[0]]
    assert first[3] == "gain pp 1.23; ratio 1.50e-06; missing n/a"
    assert first[4] == "rule 1: mean − 1·sd ≥ 1 pp"
    assert [text for _, text in rows[2]][3].endswith("| context: search trials 12")
    assert "<script>alert(" not in page and "&lt;script&gt;alert(1)" in page  # escaped
    assert "9 pending" not in page and "(2 holds, 3 does not hold, 2 inconclusive, 2 pending)" \
        in page
    assert "td.warn" in page  # the inconclusive colour is styled
    figures = {p.stem for p in (project / "out" / "figures").iterdir()}
    assert figures == {"claims_gradient_profile", "claims_layer_means", "claims_dead_units"}
    assert all((project / "out" / "figures" / f"{f}.png").read_bytes().startswith(b"\x89PNG")
               for f in figures)
    md = (project / "out" / "report.md").read_text()
    claims_md = md.split("## Claims", 1)[1]
    table = [line for line in claims_md.splitlines() if line.startswith("| ")]
    assert len(table) == 2 + 9 and table[2].startswith("| 1 | claim 1 statement |")
    assert all(len(re.split(r"(?<!\\)\|", line)) == 9 for line in table)  # 7 columns each
    assert "&lt;script&gt;" in claims_md and "![Claim 4: dead units" in claims_md


def test_report_says_the_claims_stage_has_not_run(project):
    assert main(["report", "--out", "out", "--inputs", "reports"]) == 0
    page = html.unescape(re.sub(r"<[^>]+>", " ", (project / "out" / "index.html").read_text()))
    text = " ".join(page.split())
    assert "Claims Not available. The claims stage has not run: reports/claims.json is " \
           "missing." in text
    assert "once you run dvc repro claims" in text
    assert "The claims stage has not run or left no results" in text  # the summary's notice
    md = (project / "out" / "report.md").read_text()
    assert "> **Not available.** The claims stage has not run" in md
    assert "`dvc repro claims`" in md
    assert not list((project / "out" / "figures").iterdir())
