"""Shared fixtures: a throw-away project folder with a tiny CPU configuration.

Every test that trains uses scikit-learn's `digits` (1,797 8x8 images) and the MLP, so a
training takes a second or two on the CPU, and tracks into a SQLite database under tmp_path.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import yaml

# A test run started in the background by a non-interactive shell (`make test &`, nohup)
# inherits SIGINT ignored, and so would every command the tests start: the Ctrl-C tests
# (in this process and in subprocesses) need Ctrl-C to raise KeyboardInterrupt, as it does
# in a terminal. A Python handler, unlike SIG_IGN, is not inherited across exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

TINY_PARAMS = {
    "seed": 0,
    "data": {"dataset": "digits", "train_subset": None, "prepared_dir": "data/prepared"},
    "model": {"arch": "mlp", "activation": "relu", "hidden": [32]},
    "train": {"epochs": 2, "batch_size": 64, "lr": 0.01, "patience": None, "threads": 1,
              "gap_sample": 500, "diagnostics_batch": 128},
    # Registering models costs seconds a stage: the registry's own tests turn it on.
    "tracking": {"uri": "sqlite:///mlflow.db", "experiment": "tests", "register_models": False},
}


# The suite must pass at any speed (no test may encode how long a training takes). To check
# that with trials several times faster than usual, run the kill and interrupt tests with a
# smaller training split: TRAINLAB_TEST_TRAIN_SUBSET=100 pytest tests/search tests/transfer ...
# (tests that pin accuracies assume all of digits: run those without it).
if os.environ.get("TRAINLAB_TEST_TRAIN_SUBSET"):
    TINY_PARAMS["data"]["train_subset"] = int(os.environ["TRAINLAB_TEST_TRAIN_SUBSET"])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the working directory) holding a tiny params.yaml."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(TINY_PARAMS, sort_keys=False))
    return tmp_path


@pytest.fixture
def prepared(project: Path) -> Path:
    """The project with `trainlab prepare` already run on digits."""
    from trainlab.cli import main

    assert main(["prepare"]) == 0
    return project
