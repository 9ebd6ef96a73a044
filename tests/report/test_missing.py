"""Stages that have not run are reported as such (which stage, how to run it), never a crash."""

from __future__ import annotations

import html
import json
import re

import yaml

from trainlab.cli import main


def _params(fake_project, tmp_path, **overrides):
    params = yaml.safe_load(fake_project.params.read_text())
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        params[section][key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _text(page: str) -> str:
    """What a reader sees (tags dropped, entities decoded), on one line."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def test_missing_stages_are_named_with_the_command_to_run_them(fake_project, tmp_path):
    params = _params(fake_project, tmp_path, tracking__experiment="bare",
                     search__study_name="no-such-study")
    inputs, out = tmp_path / "empty", tmp_path / "out"
    inputs.mkdir()
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stale.png").write_bytes(b"old")  # from an earlier report
    (out / "curves").mkdir()
    (out / "curves" / "stale.csv").write_text("epoch\n")
    assert main(["report", "--params", str(params), "--out", str(out),
                 "--inputs", str(inputs)]) == 0

    text = _text((out / "index.html").read_text())
    assert (f"The ensemble stage has not run or left no results: {inputs / 'ensemble.json'} "
            "is missing. Run it with dvc repro ensemble") in text
    assert f"{inputs / 'transfer.csv'} is missing" in text
    assert "MLflow has no transfer runs. Run it with dvc repro transfer" in text
    storage = f"sqlite:///{fake_project.root / 'optuna.db'}"
    assert (f"The search's Optuna study is not available: no Optuna study named "
            f"'no-such-study' in {storage}. Run it with dvc repro search") in text
    # Each section of a missing stage says so too, and points at the command.
    assert "Nothing to show until the ensemble stage has run (the summary says what is " \
           "missing). Run it with dvc repro ensemble" in text
    md = (out / "report.md").read_text()
    assert "> **Not available.** The ensemble stage has not run" in md
    assert "`dvc repro transfer`" in md

    # What did run is still reported: one finished trial of relu|none|none.
    assert "relu|none|none" in text
    figures = sorted(p.stem for p in (out / "figures").iterdir())
    assert figures == ["activation_health", "augmentation_gap", "heatmap_1", "learning_curves"]
    assert [p.name for p in (out / "curves").iterdir()] == [
        "01-best-relu_none_none-seed0.csv"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "ensemble" not in metrics and "transfer" not in metrics
    assert metrics["trials"]["finished"] == 1


def test_nothing_has_run_yet(fake_project, tmp_path):
    db, optuna_db = tmp_path / "mlflow.db", tmp_path / "optuna.db"
    params = _params(fake_project, tmp_path, tracking__uri=f"sqlite:///{db}",
                     search__storage=f"sqlite:///{optuna_db}")
    out = tmp_path / "out"
    assert main(["report", "--params", str(params), "--out", str(out),
                 "--inputs", str(tmp_path / "no-reports")]) == 0
    text = _text((out / "index.html").read_text())
    assert f"The search stage has not run or left no results: the database {str(db)!r}" in text
    for stage in ("search", "ensemble", "transfer"):
        assert f"dvc repro {stage}" in text
    assert not db.exists() and not optuna_db.exists()  # looking created no database
    assert list((out / "figures").iterdir()) == []
    assert json.loads((out / "metrics.json").read_text())["trials"]["total"] == 0


def test_unreadable_stage_file_is_reported_and_the_rest_still_used(fake_project, tmp_path):
    params = _params(fake_project, tmp_path, tracking__experiment="bare")
    inputs, out = tmp_path / "inputs", tmp_path / "out"
    inputs.mkdir()
    (inputs / "ensemble.json").write_text("{not json")
    (inputs / "transfer.csv").write_text((fake_project.inputs / "transfer.csv").read_text())
    assert main(["report", "--params", str(params), "--out", str(out),
                 "--inputs", str(inputs)]) == 0
    text = _text((out / "index.html").read_text())
    assert f"{inputs / 'ensemble.json'} is not readable JSON" in text
    assert f"From {inputs / 'transfer.csv'}." in text
    assert (out / "figures" / "transfer.png").is_file()


def test_a_stage_file_of_another_shape_is_named_with_its_field_and_the_fix(fake_project,
                                                                          tmp_path):
    params = _params(fake_project, tmp_path, tracking__experiment="bare")
    inputs, out = tmp_path / "inputs", tmp_path / "out"
    inputs.mkdir()
    # An older ensemble.json: `gain_points` was called `gain`.
    payload = json.loads((fake_project.inputs / "ensemble.json").read_text())
    payload["ensemble"]["gain"] = payload["ensemble"].pop("gain_points")
    (inputs / "ensemble.json").write_text(json.dumps(payload))
    # A hand-edited transfer.csv: the test accuracy column renamed.
    csv = (fake_project.inputs / "transfer.csv").read_text()
    (inputs / "transfer.csv").write_text(csv.replace("test_acc", "test_accuracy", 1))
    assert main(["report", "--params", str(params), "--out", str(out),
                 "--inputs", str(inputs)]) == 0
    text = _text((out / "index.html").read_text())
    assert re.search(
        r"The ensemble stage has not run or left no results: \S+/inputs/ensemble\.json: field "
        r"`ensemble\.gain_points` is missing; field `ensemble\.gain` is not one trainlab writes "
        r"\(it was written by another version of trainlab or edited by hand\)\. Run it with "
        r"dvc repro ensemble", text)
    assert re.search(
        r"\S+/inputs/transfer\.csv lacks the column\(s\) test_acc and has the column\(s\) "
        r"test_accuracy, which trainlab does not write \(it was written by another version of "
        r"trainlab or edited by hand\); MLflow has no transfer runs\. Run it with dvc repro "
        r"transfer", text)
