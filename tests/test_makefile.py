"""`make clean` removes everything the pipeline writes: each out and metric of dvc.yaml and
the databases of params.yaml, found in a scratch copy of the project files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _resolve(path: str, params: dict) -> str:
    # dvc.yaml interpolates ${section.key} from params.yaml.
    def value(match: re.Match) -> str:
        node = params
        for part in match.group(1).split("."):
            node = node[part]
        return str(node)

    return re.sub(r"\$\{([^}]+)\}", value, path)


def pipeline_outputs() -> list[str]:
    """Every path dvc.yaml declares as a stage's out or metric, and the SQLite databases
    (with MLflow's artifact folder beside its database) that params.yaml names."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    paths = []
    for stage in stages.values():
        for entry in stage.get("outs", []) + stage.get("metrics", []):
            name = entry if isinstance(entry, str) else next(iter(entry))
            paths.append(_resolve(name, params))
    for uri in (params["tracking"]["uri"], params["search"]["storage"]):
        assert uri.startswith("sqlite:///"), uri
        paths.append(uri.removeprefix("sqlite:///"))
    paths.append("mlruns")
    return paths


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_removes_every_pipeline_output(tmp_path):
    for name in ("Makefile", "dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    outputs = pipeline_outputs()
    assert {"data/prepared", "reports/figures", "mlruns", "mlflow.db", "optuna.db"} <= set(outputs)
    for name in outputs:
        path = tmp_path / name
        if path.suffix:  # a file: reports/search.json, mlflow.db
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("written by the pipeline")
        else:  # a folder with something in it
            path.mkdir(parents=True, exist_ok=True)
            (path / "inside.bin").write_bytes(b"\0")
    (tmp_path / "data" / "raw").mkdir()  # a download: an input, kept

    done = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    left = [name for name in outputs if (tmp_path / name).exists()]
    assert left == []
    assert (tmp_path / "data" / "raw").is_dir()
    assert all((tmp_path / name).is_file() for name in ("Makefile", "dvc.yaml", "params.yaml"))
