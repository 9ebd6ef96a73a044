"""DVC's own clients on the real dvc.yaml: `dvc exp run --temp` tracks into the project's
MLflow database and tags the run with the experiment; `dvc metrics show` and `dvc exp show`
print the stages' numbers (metrics/*.json) and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TINY_PARAMS
from mlflow.tracking import MlflowClient

from trainlab.config.params import set_dotted

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cwd: Path, *args: str) -> str:
    # `python` in dvc.yaml's commands must be this interpreter, as `make` makes it.
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _dvc(cwd: Path, *args: str) -> str:
    return _run(cwd, sys.executable, "-m", "dvc", *args)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git + DVC repository holding the project's pipeline, on digits at test scale."""
    for folder in ("stages", "src"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "dvc.yaml", tmp_path)
    shutil.copy(ROOT / ".gitignore", tmp_path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY_PARAMS.items():
        if isinstance(values, dict):
            for key, value in values.items():
                set_dotted(params, f"{section}.{key}", value)
        else:
            params[section] = values
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(tmp_path, "git", "init", "-q")
    _run(tmp_path, "git", "config", "user.email", "tests@trainlab")
    _run(tmp_path, "git", "config", "user.name", "tests")
    _dvc(tmp_path, "init", "-q")
    _run(tmp_path, "git", "add", "-A")
    _run(tmp_path, "git", "commit", "-q", "-m", "the pipeline")
    return tmp_path


def test_a_temp_experiment_tracks_into_the_project_database_under_its_name(repository):
    _dvc(repository, "exp", "run", "--temp", "train", "-S", "train.epochs=3", "-n", "three")

    # The temporary copy is gone; its run is in the project's own database, named.
    client = MlflowClient(f"sqlite:///{repository / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tests")
    [run] = client.search_runs([experiment.experiment_id], "tags.`trainlab.kind` = 'train'")
    assert run.data.tags["dvc.exp_name"] == "three"
    head = _run(repository, "git", "rev-parse", "HEAD").strip()
    assert run.data.tags["dvc.exp_baseline_rev"] == head
    assert run.data.params["train.epochs"] == "3"

    # `dvc exp show` lists it with the train stage's numbers: the run's own, rounded.
    shown = json.loads(_dvc(repository, "exp", "show", "--json"))
    [baseline] = [row for row in shown if row["rev"] == head]
    [exp] = [e for e in baseline["experiments"] if e["name"] == "three"]
    data = exp["revs"][0]["data"]
    numbers = data["metrics"]["metrics/train.json"]["data"]
    assert set(numbers) == {"acc", "gap"}
    assert numbers["acc"] == pytest.approx(run.data.metrics["test/acc"], abs=1e-6)
    assert data["params"]["params.yaml"]["data"]["train"]["epochs"] == 3


def test_metrics_show_prints_only_the_stages_numbers(repository):
    _dvc(repository, "repro", "-q", "train")
    shown = json.loads(_dvc(repository, "metrics", "show", "--json"))
    files = {path: file for path, file in next(iter(shown.values()))["data"].items()
             if "data" in file}  # the stages not run yet: an error entry, no data
    assert set(files) == {"metrics/train.json"}
    assert all(isinstance(v, float) for v in files["metrics/train.json"]["data"].values())
    # The table a terminal shows: one row, narrow enough for 120 columns.
    table = _dvc(repository, "metrics", "show")
    assert max(map(len, table.splitlines())) <= 120
    # The confusion matrix plot: one row per test image (digits: 360).
    plots = json.loads(_dvc(repository, "plots", "show", "--json", "reports/plots/confusion.csv"))
    [plot] = plots["data"]["reports/plots/confusion.csv"]
    assert len(plot["content"]["data"]["values"]) == 360
