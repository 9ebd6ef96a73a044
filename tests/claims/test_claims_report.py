"""The report's Claims section from a claims.json, and when the claims stage has not run."""

from __future__ import annotations

import html
import re

import stagefiles  # tests/stagefiles.py

from trainlab.claims.results import ClaimsFile
from trainlab.cli import main
from trainlab.stagefile import write_model

# by claim number: 2 hold, 3 do not, 2 inconclusive, 2 pending (only 7-9 read other stages)
STATUSES = {1: "holds", 2: "does not hold", 3: "inconclusive", 4: "inconclusive", 5: "holds",
            6: "does not hold", 7: "pending", 8: "does not hold", 9: "pending"}


def claims_file() -> ClaimsFile:
    """Every claim, with the numbers, reasons and rules the tests look for."""

    def entry(claim) -> dict:
        status = STATUSES[claim.number]
        return {"status": status, "claim": f"claim {claim.number} statement",
                "experiment": f"experiment {claim.number}",
                "reason": f"reason {claim.number} <script>alert({claim.number})</script>",
                "rule": f"rule {claim.number}: mean − 1·sd ≥ {claim.number} pp",
                "numbers": {"gain pp": 1.234 * claim.number, "ratio": 1.5e-6, "missing": None},
                "context": {"search trials": 12} if claim.number == 3 else {},
                **({"details": None} if status == "pending" else {})}

    return stagefiles.claims_file(entry=entry)


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
    write_model(project / "reports" / "claims.json", claims_file())
    assert main(["report", "--out", "out", "--inputs", "reports"]) == 0
    page = (project / "out" / "index.html").read_text()
    cells = _cells(page)
    rows = [row for row in cells if row[0][1].isdigit()]  # the claims table
    assert [row[0][1] for row in rows] == [str(n) for n in range(1, 10)]  # by claim number
    # Under the claims, a table per claim of its conditions: effect, interval, cost, verdict.
    conditions = [row for row in cells if row[0][1] == "the condition"]
    assert len(conditions) == 9
    assert [text for _, text in conditions[0]][:5] == ["the condition", "1.5", "[0.6, 2.4]", "3",
                                                        "-0.4 [-1, 0.2]"]
    assert "Claim 1 per condition (95% overall): holds." in page
    assert "every verdict at 95% confidence" in page
    verdicts = {row[0][1]: row[5] for row in rows}
    assert verdicts["1"] == ("good", "holds")
    assert verdicts["2"] == ("bad", "does not hold")
    assert verdicts["4"] == ("warn", "inconclusive")
    assert verdicts["7"] == ("", "pending")
    first = [text for _, text in rows[0]]
    assert first[3] == "gain pp 1.23; missing n/a; ratio 1.50e-06"  # the file sorts keys
    assert first[4] == "rule 1: mean − 1·sd ≥ 1 pp"
    assert [text for _, text in rows[2]][3].endswith("| context: search trials 12")
    assert "<script>alert(" not in page and "&lt;script&gt;alert(1)" in page  # escaped
    assert "(2 holds, 3 does not hold, 2 inconclusive, 2 pending)" in page  # that order
    assert "td.warn" in page  # the inconclusive colour is styled
    figures = {p.stem for p in (project / "out" / "figures").iterdir()}
    assert figures == {"claims_gradient_profile", "claims_layer_means", "claims_dead_units"}
    assert all((project / "out" / "figures" / f"{f}.png").read_bytes().startswith(b"\x89PNG")
               for f in figures)
    md = (project / "out" / "report.md").read_text()
    claims_md = md.split("## Claims", 1)[1]
    first_table = claims_md.split("| condition |", 1)[0]
    table = [line for line in first_table.splitlines() if line.startswith("| ")]
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
