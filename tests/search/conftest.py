"""Search fixtures: a prepared digits project with a small grid, and readers of what it wrote.

Trials train the conftest's 32-unit MLP on digits (about a second each); the Optuna study
and the MLflow runs live in SQLite files under tmp_path, read back with the real libraries.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from trainlab.databases import absolute_uri

GRID_2x2 = {
    "activation": ["relu", "tanh"],
    "regularization": {"none": {}, "l2": {"kind": "l2", "strength": 1.0e-4}},
    "augmentation": {"none": {}},
}
# Racing off unless a test turns it on: these tests count the grid's trials.
SEARCH = {"study_name": "digits-grid", "pruner": "none", "top_k": 2, "workers": 1,
          "heartbeat_interval": 1, "grace_period": 4, "race": {"enabled": False}}


class SearchProject:
    """A prepared digits project; `configure` writes the grid and search sections."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.params = yaml.safe_load((root / "params.yaml").read_text())
        self.params["tracking"]["log_checkpoint"] = False  # artifacts: not what these test
        # Absolute: MLflow caches one store per URI string in a process, and a relative
        # sqlite:///mlflow.db would keep the previous test's pooled connection.
        self.params["tracking"]["uri"] = f"sqlite:///{root / 'mlflow.db'}"

    def configure(self, grid: dict | None = None, train: dict | None = None,
                  **search: Any) -> SearchProject:
        self.params["grid"] = grid or GRID_2x2
        self.params["train"] |= train or {}
        storage = f"sqlite:///{self.root / 'optuna.db'}"
        self.params["search"] = SEARCH | {"storage": storage} | search
        self.params["ensemble"] = {"top_k": 1}  # at most search.top_k (checked on load)
        (self.root / "params.yaml").write_text(yaml.safe_dump(self.params, sort_keys=False))
        return self

    @property
    def storage(self) -> str:
        return self.params["search"]["storage"]

    def run(self, *args: str) -> int:
        """`trainlab search ARGS` in this process."""
        from trainlab.cli import main

        return main(["search", *args])

    def start(self, *args: str) -> subprocess.Popen:
        """`trainlab search ARGS` as a separate process (output to a log file)."""
        path = self.root / f"search-{time.monotonic_ns()}.log"
        with open(path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "trainlab.cli", "search", *args],
                cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
            )
        process.log_path = path
        return process

    @staticmethod
    def log(process: subprocess.Popen) -> str:
        return process.log_path.read_text()

    def study(self) -> optuna.Study:
        return optuna.load_study(study_name=self.params["search"]["study_name"],
                                 storage=self.storage)

    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return self.study().get_trials(deepcopy=False)

    def client(self) -> MlflowClient:
        return MlflowClient(absolute_uri(self.params["tracking"]["uri"]))

    def runs(self) -> dict[str, Any]:
        """Every MLflow run of the experiment, by run id."""
        client = self.client()
        experiment = client.get_experiment_by_name(self.params["tracking"]["experiment"])
        return {r.info.run_id: r for r in client.search_runs([experiment.experiment_id])}

    def summary(self) -> dict[str, Any]:
        return json.loads((self.root / "reports" / "search.json").read_text())

    def table(self) -> list[dict[str, str]]:
        with open(self.root / "reports" / "search_trials.csv") as handle:
            return list(csv.DictReader(handle))

    def cells(self) -> list[dict[str, str]]:
        with open(self.root / "reports" / "search_cells.csv") as handle:
            return list(csv.DictReader(handle))

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.root / "models" / "search" / "manifest.json").read_text())

    @staticmethod
    def by_state(trials: list, state: str) -> list:
        return [t for t in trials if t.state.name == state]

    @staticmethod
    def training_after_one_done(trials: list) -> bool:
        """A trial trains (its MLflow run id is recorded) after at least one completed."""
        return any(t.state.name == "COMPLETE" for t in trials) and any(
            t.state.name == "RUNNING" and "mlflow_run_id" in t.user_attrs for t in trials
        )

    def wait_for(self, condition: Callable[[list], bool], process: subprocess.Popen,
                 timeout: float = 180.0) -> list:
        """Poll the study until `condition(trials)` holds; fail if the process exits first."""
        deadline = time.monotonic() + timeout
        study = None
        while time.monotonic() < deadline:
            assert process.poll() is None, f"search exited early with {process.returncode}"
            try:
                study = study or self.study()
                trials = study.get_trials(deepcopy=False)
            except KeyError:  # the study is not created yet
                trials = []
            if condition(trials):
                return trials
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def search_project(prepared: Path) -> SearchProject:
    handler = signal.getsignal(signal.SIGTERM)  # cli.main installs its own: put it back
    yield SearchProject(prepared)
    signal.signal(signal.SIGTERM, handler)
