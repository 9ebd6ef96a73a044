"""`trainlab report` end to end on the fabricated project: files, numbers, escaping."""

from __future__ import annotations

import base64
import json
import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from trainlab.report.markdown import escape

FIGURES = {"heatmap_1", "heatmap_2", "augmentation_gap", "learning_curves", "activation_health",
           "ensemble", "transfer", "optuna_importances", "optuna_history", "leaderboard_pareto",
           "leaderboard_labelled"}
PNG = b"\x89PNG\r\n\x1a\n"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def test_every_output_is_written(rendered):
    assert sorted(p.name for p in rendered.iterdir()) == [
        "curves", "figures", "index.html", "metrics.json", "report.md"]
    figures = {p.stem: p.read_bytes() for p in (rendered / "figures").iterdir()}
    assert set(figures) == FIGURES
    assert all(data.startswith(PNG) for data in figures.values())
    curves = sorted(p.name for p in (rendered / "curves").iterdir())
    assert curves == ["01-best-relu_l2_flip_crop-seed0.csv",
                      "02-other-tanh_l2_flip_crop-seed0.csv",
                      "03-other-tanh_none_none-seed0.csv",
                      "04-worst-sigmoid_none_none-seed0.csv"]
    assert not list(rendered.rglob("*.tmp"))


def test_html_is_self_contained(rendered, fake_project):
    html = (rendered / "index.html").read_text()
    tags = parse(html).tags
    assert not [t for t, a in tags if t in ("link", "iframe", "object", "embed", "base")]
    urls = [v for _, a in tags for k, v in a.items() if k in ("src", "href", "action") and v]
    # besides its anchors and figures, the page links (never loads) a stage's raw file
    files = [u for u in urls if not u.startswith(("#", "data:image/png;base64,"))]
    assert [(rendered / u).resolve() for u in files] == [
        (fake_project.inputs / "ensemble.json").resolve()], urls
    assert not re.search(r"url\(|@import|https?://", html)
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in csp[0]
    images = [a["src"] for t, a in tags if t == "img"]
    assert len(images) == len(FIGURES)
    assert all(base64.b64decode(src.split(",", 1)[1]).startswith(PNG) for src in images)
    assert [a.get("href") for t, a in tags if t == "a"][1:11] == [
        "#leaderboard", "#summary", "#recipes", "#heatmaps", "#augmentation", "#curves", "#health",
        "#ensemble", "#transfer", "#search"]


def test_html_escapes_run_data(rendered, fake_project):
    html = (rendered / "index.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    parsed = parse(html)
    assert [t for t, _ in parsed.tags].count("script") == 2  # the report's own two
    assert not [a for t, a in parsed.tags if any(k.startswith("on") for k in a)]
    text = "".join(parsed.text)
    assert fake_project.xss_name in text and fake_project.xss_tag in text  # shown as text


def _row(html: str, label: str) -> list[str]:
    """The cells of the first table row whose first cell is `label`."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                      row, re.S)]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r}")


def test_html_recipe_row_shows_the_seed_means(rendered, fake_project):
    html = (rendered / "index.html").read_text()
    seeds = [r for r in fake_project.finished if r.cell == "relu|l2|flip_crop"]
    test = [r.test_acc for r in seeds]
    gap = statistics.mean(r.train_acc - r.test_acc for r in seeds)
    row = _row(html, "relu|l2|flip_crop")
    assert row[2] == f"{100 * statistics.mean(test):.2f}% ± {100 * statistics.stdev(test):.2f}"
    assert row[5] == f"{100 * gap:+.2f} pp"
    assert row[7:10] == ["2", "0", "0"]  # finished (the seeds averaged), pruned, failed
    assert "89.45% ± 0.35" in html  # the best recipe in the summary, by hand: (.897+.892)/2


def test_markdown_has_the_same_content_escaped(rendered, fake_project):
    md = (rendered / "report.md").read_text()
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (rendered / link).is_file(), link
    assert len(re.findall(r"!\[", md)) == len(FIGURES)
    assert "<script" not in md and "<img" not in md
    assert escape(fake_project.xss_name) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape(fake_project.xss_name) in md and escape(fake_project.xss_tag) in md
    row = next(line for line in md.splitlines() if line.startswith("| relu\\|l2\\|flip\\_crop |"))
    assert re.split(r" (?<!\\)\| ", row)[2] == "89.45% ± 0.35"  # the test accuracy column
    for table in re.findall(r"((?:^\|.*\|$\n?)+)", md, re.M):  # every row as wide as its header
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in table.strip().splitlines()}
        assert len(widths) == 1, table
    for section in ("Summary", "Recipes", "Ensemble", "Transfer learning", "Search"):
        assert f"\n## {section}\n" in md


def test_metrics_json_for_dvc(rendered, fake_project):
    metrics = json.loads((rendered / "metrics.json").read_text())
    assert metrics["trials"] == {"total": 26, "finished": 24, "pruned": 1, "failed": 1,
                                 "killed": 0, "running": 0}
    assert metrics["best"]["test_acc"] == pytest.approx(0.8945)
    assert metrics["best"]["seeds"] == 2
    assert metrics["recipes"]["count"] == 12
    best_gap = min(statistics.mean(r.train_acc - r.test_acc for r in fake_project.finished
                                   if r.cell == cell) for cell in {r.cell for r in
                                                                   fake_project.finished})
    assert metrics["recipes"]["min_gap_acc"] == pytest.approx(best_gap, abs=1e-6)


def test_curves_csv_for_dvc_plots(rendered, fake_project):
    path = rendered / "curves" / "01-best-relu_l2_flip_crop-seed0.csv"
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,train_acc,val_acc,train_loss,val_loss,best"
    best = next(r for r in fake_project.finished if r.cell == "relu|l2|flip_crop" and r.seed == 0)
    assert len(lines) == 1 + best.epochs_run
    last = lines[-1].split(",")
    assert int(last[0]) == best.epochs_run and float(last[2]) == pytest.approx(best.val_acc)
    assert last[-1] == "1"  # the kept epoch is the last one for this run


def test_dvc_yaml_declares_the_report_stage():
    root = Path(__file__).resolve().parents[2]
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    stage = dvc["stages"]["report"]
    assert stage["cmd"].startswith("python stages/report.py")
    assert {"stages/report.py", "src/trainlab/report", "reports/ensemble.json"} <= set(
        stage["deps"])
    assert {"tracking", "report", "search.storage", "search.study_name"} <= set(stage["params"])
    outs = {next(iter(o)) for o in stage["outs"]}
    assert {"reports/index.html", "reports/report.md", "reports/figures",
            "reports/curves", "reports/metrics.json"} <= outs
    assert "metrics" not in stage  # DVC's metrics are the stages' numbers (metrics/)
    plot = next(p["reports/curves"] for p in dvc["plots"] if "reports/curves" in p)
    assert plot["x"] == "epoch" and plot["y"] == ["train_acc", "val_acc"]
