"""A newcomer's first run on their own data: prepare -> search -> ensemble -> report through the
command line, with the repository's params.yaml and only the dataset keys set (plus a grid
picked by preset names and a per-trial scale that keeps the test short). Nothing else may
need adjusting: subset sizes, `search.top_k`, `ensemble.top_k` and `ensemble.greedy_pool`
adapt to the smaller data and grid on their own (issue 17).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import write_digits_folder

from trainlab.data.prepared import load_prepared

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
GRID = ["--set", "grid.activation=[relu,tanh]", "--set", "grid.regularization=[none,dropout]",
        "--set", "grid.augmentation=[none]"]
# One epoch of a small MLP per trial, one worker, one training a cell (no racing, no
# ensemble seeds): seconds, not the default's minutes.
SCALE = ["--set", "search.overrides={train.epochs: 1, model.arch: mlp, model.hidden: [32], "
                  "train.gap_sample: 200}", "--set", "search.workers=1",
         "--set", "search.race.enabled=false", "--set", "stats.seeds=1"]


def trainlab(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "trainlab.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"trainlab {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done


def chain(project: Path, *dataset: str) -> dict[str, subprocess.CompletedProcess]:
    shutil.copy(PARAMS, project / "params.yaml")
    return {
        "prepare": trainlab(project, "prepare", *dataset),
        "search": trainlab(project, "search", *dataset, *GRID, *SCALE),
        "ensemble": trainlab(project, "ensemble", *dataset, *GRID, *SCALE),
        "report": trainlab(project, "report", *dataset, *GRID, *SCALE),
    }


def check_outputs(project: Path, done: dict[str, subprocess.CompletedProcess]) -> None:
    search = json.loads((project / "reports" / "search.json").read_text())
    assert search["trials"]["complete"] == 4 and search["n_cells"] == 4
    # top_k 10 asked, 4 trials: all 4 kept, and the search says so.
    assert "search.top_k = 10 but only 4 trial(s) completed; keeping 4" in done["search"].stderr
    manifest = json.loads((project / "models" / "search" / "manifest.json").read_text())
    assert len(manifest["members"]) == 4
    ensemble = json.loads((project / "reports" / "ensemble.json").read_text())
    assert ensemble["top_k"] == {"requested": 5, "used": 4}
    assert ensemble["greedy_pool"] == {"requested": 10, "used": 4}
    assert any("ensemble.top_k = 5 but the manifest lists 4" in note
               for note in ensemble["notes"])
    html = (project / "reports" / "index.html").read_text()
    for cell in ("relu|none|none", "tanh|dropout|none"):
        assert cell in html


@pytest.mark.slow  # four fresh processes, four one-epoch trainings: ~1 min
@pytest.mark.parametrize(("sizes", "extra"), [((32,), []), ((24, 32, 40), ["data.image_size=32"])],
                         ids=["rgb-32", "mixed-sizes"])
def test_an_image_folder_on_the_first_try(tmp_path, sizes, extra):
    write_digits_folder(tmp_path / "photos", classes=3, per_class=20, sizes=sizes)
    dataset = ["--set", "data.dataset=imagefolder", "--set", "data.root=photos"]
    for item in extra:  # mixed sizes need a side to resize to (else a clear error)
        dataset += ["--set", item]
    done = chain(tmp_path, *dataset)
    assert load_prepared(tmp_path / "data" / "prepared").image_shape == (3, 32, 32)
    check_outputs(tmp_path, done)


@pytest.mark.slow  # ~1 min
def test_digits_alone_on_the_first_try(tmp_path):
    done = chain(tmp_path, "--set", "data.dataset=digits")
    subset = yaml.safe_load(PARAMS.read_text())["data"]["train_subset"]  # the repository's
    assert f"train 1293 (all; data.train_subset {subset})" in done["prepare"].stdout
    check_outputs(tmp_path, done)
