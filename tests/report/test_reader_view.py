"""What a reader sees: labels that do not overlap, one colour per activation and model kind,
an ensemble section of compared numbers (not a file dump), callouts headed by what they hold.
(Tables at 1280 px: test_browser.test_tables_fit_or_scroll_at_laptop_width.)"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
import stagefiles  # tests/stagefiles.py

from trainlab.report.document import Callout, FileLink, Notice, Table
from trainlab.report.figures import base, labels, palette
from trainlab.report.figures import claims as claim_figures
from trainlab.report.figures import recipes as recipe_figures
from trainlab.report.markdown import render_markdown
from trainlab.report.outline import build_document
from trainlab.search.results import BEST_SEED, BestSet
from trainlab.stagefile import read_model

FIGURES = Path(base.__file__).parent


def test_labels_of_two_points_on_one_spot_do_not_overlap():
    boxes = labels.place([(100.0, 50.0), (100.0, 50.0), (100.0, 53.0)],
                         [labels.text_size("mean probability", 7.5)] * 3)
    assert len({(b.x, b.y) for b in boxes}) == 3  # three places, not one
    assert not any(a.crosses(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    again = labels.place([(100.0, 50.0), (100.0, 50.0), (100.0, 53.0)],
                         [labels.text_size("mean probability", 7.5)] * 3)
    assert again == boxes  # deterministic: the same rows, the same picture


def test_the_pareto_labels_of_the_ensembles_do_not_overlap(monkeypatch, fake_project):
    from trainlab.leaderboard.results import LeaderboardFile
    from trainlab.report.figures import leaderboard as board_figures
    from trainlab.report.leaderboard import pareto_front

    drawn = {}
    monkeypatch.setattr(board_figures, "png_bytes", lambda fig, dpi: drawn.setdefault("f", fig)
                        and b"")
    board, _ = read_model(fake_project.inputs / "leaderboard.json", LeaderboardFile)
    rows = board.rows
    board_figures.pareto_figure(rows, pareto_front(rows), 100)
    fig = drawn["f"]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)  # the laid-out figure, as png_bytes would draw it
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    assert len(texts) == len(rows)  # no two rows on exactly one spot here: a label each
    # the text's own box (an annotation's extent also covers its leader line)
    extents = [Text.get_window_extent(t, renderer) for t in texts]
    assert not [(a, b) for i, a in enumerate(extents) for b in extents[i + 1:] if a.overlaps(b)]


def _colour_literals(path: Path) -> list[str]:
    """String constants that name a colour: '#rrggbb' or matplotlib's cycle 'C0'..'C9'."""
    tree = ast.parse(path.read_text())
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and re.fullmatch(r"#[0-9a-fA-F]{3,8}|C\d", n.value)]


def test_the_palette_is_the_one_source_of_colours():
    found = {p.name: _colour_literals(p) for p in Path(FIGURES.parent).rglob("*.py")
             if p.name != "palette.py"}
    assert not {name: c for name, c in found.items() if c}
    # every function that draws lines per activation takes its colour from the palette
    for module in (recipe_figures, claim_figures):
        assert "activation_color" in Path(module.__file__).read_text()


def _line_colours(monkeypatch, module, draw) -> dict[str, str]:
    figs = []
    monkeypatch.setattr(module, "png_bytes", lambda fig, dpi: figs.append(fig) or b"")
    draw()
    return {line.get_label().split(" ")[0]: line.get_color()
            for ax in figs[0].axes for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def test_an_activation_has_one_colour_in_every_figure(monkeypatch):
    health = pd.DataFrame([{"activation": a, "layer": layer, "quantity": "grad_norm",
                            "value": 0.1 * layer, "runs": 1}
                           for a in ("relu", "tanh", "sigmoid") for layer in (1, 2)])
    in_health = _line_colours(monkeypatch, recipe_figures,
                              lambda: recipe_figures.activation_health(health, 40))
    band = stagefiles.band([0.1, 0.2])
    profile = {a: {"trained": band, "init": band} for a in ("relu", "sigmoid")}
    from trainlab.claims.results import SaturationDetails

    details = SaturationDetails.model_validate({"grad_norm": profile, "seeds": 2})
    # the claims' figures are saved by base.axes_png
    in_profile = _line_colours(monkeypatch, base,
                               lambda: claim_figures.figure("gradient_profile", details, 40))
    for activation in ("relu", "sigmoid"):
        assert in_health[activation] == in_profile[activation] \
            == palette.activation_color(activation)
    assert len(set(palette.ACTIVATION_COLORS.values())) == len(palette.ACTIVATION_COLORS)
    assert palette.activation_color("swish") == palette.activation_color("swish")


def test_the_ensemble_section_compares_numbers_and_links_its_file(found, tmp_path):
    doc = build_document(found, "t", 40)
    section = next(s for s in doc.sections if s.id == "ensemble")
    tables = [b for b in section.blocks if isinstance(b, Table)]
    methods = tables[0]
    assert [row[0].text for row in methods.rows] == [
        BEST_SEED, "mean-probability ensemble", "majority vote", "greedy selection"]
    assert [c.label for c in methods.columns][:3] == ["method", "test acc",
                                                      f"gain over the {BEST_SEED}"]
    assert re.fullmatch(r"[+-]\d+\.\d\d pp \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]",
                        methods.rows[1][2].text)
    cells = " ".join(c.text for t in tables for row in t.rows for c in row)
    assert "gain_interval" not in cells and "greedy.criterion" not in cells  # no dump
    assert sum(len(t.rows) for t in tables) < 20
    link = next(b for b in section.blocks if isinstance(b, FileLink))
    assert link.path.endswith("ensemble.json")
    md = render_markdown(doc, "figures", tmp_path)
    href = re.search(r"\]\(<([^>]+ensemble\.json)>\)", md)[1]
    assert (tmp_path / href).resolve() == Path(link.path).resolve()


def test_a_callout_is_headed_by_what_it_holds(found):
    best_set = BestSet(best="relu|l2|flip_crop", cells=("relu|l2|flip_crop", "tanh|l2|none"),
                       compared=11, method="paired bootstrap; Holm")
    with_set = dataclasses.replace(
        found, search=found.search.model_copy(update={"best_set": best_set}))
    doc = build_document(with_set, "t", 40)
    blocks = [b for s in doc.sections for b in s.blocks]
    recipes = next(s for s in doc.sections if s.id == "recipes")
    callout = next(b for b in recipes.blocks if isinstance(b, Callout))
    assert callout.heading == "Not distinguishable from the best at 95%:"
    assert "★ 2 of 11 recipes" in callout.text
    # "Not available." heads only a notice of something missing
    assert all(isinstance(b, Notice) for b in blocks
               if getattr(b, "heading", None) == "Not available.")
    md = render_markdown(doc)
    assert "> **Not distinguishable from the best at 95%:** ★ 2 of 11" in md
    assert "**Not available.** ★" not in md


@pytest.mark.parametrize("kind", ["recipe", "ensemble", "baseline"])
def test_a_model_kind_has_one_colour(kind):
    assert palette.model_color(kind, "x") == palette.KIND_COLORS[kind]
    assert palette.model_color("baseline", "efficientnet_lite0 finetune") \
        == palette.MODE_COLORS["finetune"]
