"""The Replication section (reports/replication.json, optional) and the regime sentence."""

from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
from stagefiles import claims_file  # tests/stagefiles.py

from trainlab.replication.compare import CLAIMS, compare_runs
from trainlab.replication.results import COMMAND
from trainlab.report import tables
from trainlab.report.document import Callout, Notice, Paragraph, Table
from trainlab.report.inputs import gather
from trainlab.report.markdown import render_markdown
from trainlab.report.outline import build_document
from trainlab.stagefile import write_model


def _section(found, key: str = "replication"):
    return next(s for s in build_document(found, "t", 40).sections if s.id == key)


def test_without_a_replication_the_section_says_how_to_make_one(found):
    assert found.replication is None and "replication" not in found.stages
    notices = [b for b in _section(found).blocks if isinstance(b, Notice)]
    assert len(notices) == 1 and notices[0].command == COMMAND


def test_with_a_replication_the_section_puts_the_verdicts_side_by_side(fake_project, tmp_path):
    # A copy of the project's stage files plus the replication of two runs built to differ.
    inputs = tmp_path / "reports"
    shutil.copytree(fake_project.inputs, inputs)
    a, b = tmp_path / "a", tmp_path / "b"
    write_model(a / CLAIMS, claims_file())
    write_model(b / CLAIMS, claims_file({"saturation": "does not hold"}))
    write_model(inputs / "replication.json", compare_runs(a, b))
    found = gather(fake_project.uri, "grid", inputs, curves=None)
    assert found.replication is not None and found.stages["replication"].ran
    section = _section(found)
    table = next(b for b in section.blocks if isinstance(b, Table))
    first = [c.text for c in table.rows[0]]  # the flips first
    assert first[:2] == ["claim", "saturation"] and first[-1] == "opposite"
    assert len(table.rows) == found.replication.total
    text = " ".join(b.text for b in section.blocks if isinstance(b, Paragraph))
    assert f"{found.replication.agree} of {found.replication.total} verdicts agree" in text
    page = render_markdown(build_document(found, "t", 40), "figures", tmp_path)
    assert "Replication" in page and "saturation" in page and "opposite" in page


def test_the_regime_is_computed_from_the_best_recipe_trials():
    trials = pd.DataFrame({
        "cell": ["relu|none|none"] * 3 + ["tanh|none|none"],
        "state": ["finished"] * 4, "gap_acc": [0.02, 0.03, 0.04, 0.1],
        "final_train_acc": [0.92, 0.93, 0.94, 0.99], "best_epoch": [4, 4, 3, 1],
        "epochs_run": [4, 4, 4, 4], "max_epochs": [4, 4, 4, 4]})
    best = pd.Series({"cell": "relu|none|none"})
    found = tables.regime(trials, best)
    assert found is not None and (found.seeds, found.rising, found.epochs) == (3, 2, 4)
    assert abs(found.gap_points - 3.0) < 1e-9
    assert "still rising at the last epoch in 2 of 3 seed(s)" in found.text()
    assert "a statement about 4 epochs" in found.text()
    early = dataclasses.replace(found, rising=0)
    assert "peaked before the last epoch in 3 of 3" in early.text()
    assert tables.regime(trials.iloc[:0], best) is None


def test_the_summary_states_the_regime(found):
    text = " ".join(b.text for b in _section(found, "summary").blocks
                    if isinstance(b, Paragraph | Callout))
    assert "Regime: the best recipe" in text
