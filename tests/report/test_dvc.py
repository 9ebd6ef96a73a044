"""`dvc plots show` reads what the report stage writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dvc(cwd: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_dvc_reads_the_metrics_and_the_curves(rendered, tmp_path):
    shutil.copy(ROOT / "dvc.yaml", tmp_path)
    shutil.copy(ROOT / "params.yaml", tmp_path)
    shutil.copytree(rendered, tmp_path / "reports")
    dvc(tmp_path, "init", "--no-scm", "-q")

    # The report's metrics.json holds text and nesting: a plain output, not a DVC metric
    # (those are the stages' numbers, metrics/*.json: tests/test_dvc_experiments.py).
    metrics = json.loads(dvc(tmp_path, "metrics", "show", "--json"))
    workspace = next(iter(metrics.values()))  # keyed "" without git, "workspace" with
    assert "reports/metrics.json" not in workspace["data"]
    ours = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert ours["best"]["test_acc"] == pytest.approx(0.8945)

    plots = json.loads(dvc(tmp_path, "plots", "show", "--json"))
    curves = {k: v for k, v in plots["data"].items() if k.startswith("reports/curves/")}
    assert len(curves) == 4
    values = curves["reports/curves/01-best-relu_l2_flip_crop-seed0.csv"][0]["content"]["data"][
        "values"]
    assert {v["field"] for v in values} == {"train_acc", "val_acc"}
    assert {int(v["epoch"]) for v in values} == set(range(1, 9))
