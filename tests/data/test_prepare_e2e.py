"""`trainlab prepare` as a user runs it: the repository's params.yaml, one or two `--set`, a
fresh process, on the first try."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import write_digits_folder  # tests/support.py

from trainlab.data.prepared import load_prepared

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
# The repository's own subset sizes, as the prepare line states them.
DATA = yaml.safe_load(PARAMS.read_text())["data"]
SUBSETS = (f"data.train_subset {DATA['train_subset']}", f"data.val_subset {DATA['val_subset']}")


def trainlab(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainlab.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def project(tmp_path):
    shutil.copy(PARAMS, tmp_path / "params.yaml")
    return tmp_path


@pytest.mark.slow  # two fresh processes importing torch and scikit-learn: ~10 s
def test_prepare_an_image_folder_with_only_dataset_and_root(project):
    write_digits_folder(project / "my images", classes=4, per_class=25)
    args = ["prepare", "--set", "data.dataset=imagefolder", "--set", "data.root=my images"]
    first = trainlab(project, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        f"prepare: imagefolder train 72 (all; {SUBSETS[0]}) / val 8 (all; {SUBSETS[1]}) / "
        "test 20 images of (3, 32, 32), 4 classes, fingerprint "
    ), first.stdout
    data = load_prepared(project / "data" / "prepared")
    assert data.classes == ("0", "1", "2", "3") and data.image_shape == (3, 32, 32)
    again = trainlab(project, *args)
    assert again.returncode == 0 and "is up to date" in again.stdout, again.stdout


@pytest.mark.slow  # a fresh process importing torch and scikit-learn: ~5 s
def test_prepare_digits_with_only_the_dataset_set(project):
    done = trainlab(project, "prepare", "--set", "data.dataset=digits")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"prepare: digits train 1293 (all; {SUBSETS[0]}) / val 144 (all; {SUBSETS[1]}) / "
        "test 360 images of (1, 8, 8), 10 classes, fingerprint "
    ), done.stdout
    assert len(load_prepared(project / "data" / "prepared").train) == 1293
