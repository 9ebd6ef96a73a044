"""One configuration per comparison (issue 15): a search rerun with other params, then the
report, shows only the new runs; `--compare` puts the two configurations side by side."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from trainlab.cli import main
from trainlab.config.params import load_config
from trainlab.report.stage import build_report

pytestmark = pytest.mark.slow

GRID_2 = {"activation": ["relu", "tanh"], "regularization": {"none": {}},
          "augmentation": {"none": {}}}


def configure(root: Path, epochs: int) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["tracking"]["uri"] = f"sqlite:///{root / 'mlflow.db'}"
    params["grid"] = GRID_2
    params["search"] = {"storage": f"sqlite:///{root / 'optuna.db'}", "study_name": "mix",
                        "pruner": "none", "workers": 1, "top_k": 2,
                        "overrides": {"train.epochs": epochs}}
    params["train"]["patience"] = None
    params["stats"] = {"seeds": 1}  # one trial a cell: the test counts a configuration's trials
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def search_and_report(root: Path, epochs: int) -> str:
    configure(root, epochs)
    assert main(["search"]) == 0
    assert main(["report"]) == 0
    return yaml.safe_load((root / "reports" / "search.json").read_text())["config_id"]


def test_a_changed_configuration_reports_only_its_own_runs(prepared, capsys):
    first = search_and_report(prepared, epochs=4)
    second = search_and_report(prepared, epochs=2)
    assert first != second

    _, found = build_report(load_config("params.yaml"))
    # Each cell once, from the 2-epoch configuration only: no "2 finished", no 3.0 epochs.
    assert sorted(found.table["cell"]) == ["relu|none|none", "tanh|none|none"]
    assert found.table["seeds"].tolist() == [1, 1]
    assert found.table["epochs_run_mean"].tolist() == [2.0, 2.0]
    assert len(found.trials) == 2
    # The study holds all four trials; the importances and history read the current two.
    assert len(found.study.trials) == 2
    markdown = (prepared / "reports" / "report.md").read_text()
    assert "2 recipes, 2 trials." in markdown

    # Both configurations stay in MLflow, each under a parent run of its own.
    assert main(["report", "--compare", first, second]) == 0
    html = (prepared / "reports" / "compare" / "index.html").read_text()
    assert f"tests @ {first}" in html and f"tests @ {second}" in html
    compare_md = (prepared / "reports" / "compare" / "report.md").read_text()
    (headline,) = [line for line in compare_md.splitlines() if line.startswith(
        "| its test accuracy |")]
    tests = re.findall(r"(\d+\.\d+)%", headline)  # A's best and B's best, 4 vs 2 epochs
    assert len(tests) == 2 and tests[0] != tests[1]
    assert compare_md.count("relu\\|none\\|none") >= 2  # each side's recipes
