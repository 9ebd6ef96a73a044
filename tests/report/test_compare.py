"""`trainlab report --compare A B`: both experiments side by side, with deltas."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from trainlab.cli import main
from trainlab.report.compare import merged_cells


def _row(html: str, label: str) -> list[str]:
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r}")


def test_compare_renders_both_experiments_with_deltas(fake_project, tmp_path):
    out = tmp_path / "reports"
    assert main(["report", "--params", str(fake_project.params), "--out", str(out),
                 "--compare", "grid", "grid-b"]) == 0
    assert not (out / "index.html").exists()  # the pipeline's report is left alone
    html = (out / "compare" / "index.html").read_text()
    assert "grid (A) vs grid-b (B)" in html
    assert 'id="recipes-1"' in html and 'id="recipes-2"' in html
    assert "Recipes: grid-b" in html

    # grid-b's relu|l2|flip_crop is 1.5 points better on test; every other cell is equal.
    row = _row(html, "relu|l2|flip_crop")
    assert row[2] == "89.45% ± 0.35" and row[5] == "90.95% ± 0.35"
    assert row[7] == "+1.50 pp" and row[8] == "-1.50 pp"  # test up, gap down
    assert _row(html, "tanh|none|none")[7] == "+0.00 pp"
    summary = _row(html, "its test accuracy")
    assert summary[1:] == ["89.45% ± 0.35", "90.95% ± 0.35", "+1.50 pp"]
    gap_row = re.search(r"<tr>\s*<td[^>]*>its train − test gap</td>.*?</tr>", html, re.S)[0]
    assert 'class="num good"' in gap_row and "-1.50 pp" in gap_row  # a smaller gap is better
    assert _row(html, "trials finished")[1:] == ["24", "24", "+0"]
    assert _row(html, "trials failed")[1:] == ["1", "1", "+0"]
    # From MLflow alone: A's ensemble run keeps its ensemble.json, B has no ensemble run.
    assert _row(html, "ensemble gain")[1:3] == ["+1.01 pp", "—"]
    assert (out / "compare" / "figures" / "compare_test_acc.png").is_file()
    md = (out / "compare" / "report.md").read_text()
    assert "| relu\\|l2\\|flip\\_crop |" in md and "+1.50 pp" in md


def test_merged_cells_keep_recipes_of_either_side():
    a = pd.DataFrame({"label": ["x", "y"], "val_acc_mean": [0.8, 0.7],
                      "test_acc_mean": [0.79, 0.69], "test_acc_std": [0.01, None],
                      "gap_acc_mean": [0.1, 0.2]})
    b = pd.DataFrame({"label": ["y", "z"], "val_acc_mean": [0.75, 0.6],
                      "test_acc_mean": [0.72, 0.6], "test_acc_std": [None, None],
                      "gap_acc_mean": [0.15, 0.3]})
    merged = merged_cells(a, b).set_index("label")
    assert sorted(merged.index) == ["x", "y", "z"]
    assert merged.loc["y", "delta_test"] == pytest.approx(3.0)
    assert merged.loc["y", "delta_gap"] == pytest.approx(-5.0)
    assert math.isnan(merged.loc["x", "delta_test"]) and math.isnan(merged.loc["z", "test_a"])
