"""Search fixtures: a prepared digits project with a small grid, and readers of what it wrote.

Trials train the conftest's 32-unit MLP on digits (a fraction of a second each); the Optuna
study and the MLflow runs live in SQLite files under tmp_path, read back with the real
libraries. A test that stops a search mid-training starts it with a hold point
(`start(hold="FIT:EPOCH")`, tests/hold): the process holds still there until the test's
signal, so the signal lands mid-training on a machine of any speed.
"""

from __future__ import annotations

import contextlib
import csv
import json
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from support import POSTGRES, held, hold_env, postgres_or_skip, release, wait_until

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
        self.started: list[subprocess.Popen] = []  # killed at the test's end if still alive
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
        # One seed: no ensemble seeds to add after the grid (these tests count its trials;
        # tests/search/test_search_ensemble_seeds.py turns them on).
        self.params["stats"] = {"seeds": 1}
        (self.root / "params.yaml").write_text(yaml.safe_dump(self.params, sort_keys=False))
        return self

    @property
    def storage(self) -> str:
        return self.params["search"]["storage"]

    def run(self, *args: str) -> int:
        """`trainlab search ARGS` in this process."""
        from trainlab.cli import main

        return main(["search", *args])

    @property
    def held_dir(self) -> Path:
        """Where a process started with a hold point says that it holds (tests/hold)."""
        return self.root / "held"

    def start(self, *args: str, hold: str | None = None) -> subprocess.Popen:
        """`trainlab search ARGS` as a separate process (output to a log file); with `hold`,
        its training holds at that point ("FIT:EPOCH") until a signal."""
        path = self.root / f"search-{len(list(self.root.glob('search-*.log')))}.log"
        with open(path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "trainlab.cli", "search", *args],
                cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                env=hold_env(self.held_dir, hold),
            )
        process.log_path = path
        self.started.append(process)
        return process

    def wait_held(self, process: subprocess.Popen) -> dict[str, Any]:
        """Wait until `process` holds at its hold point; its marker ({"pid", "fit", "epoch"})."""
        return wait_until(lambda: held(self.held_dir).get(process.pid), process,
                          what="its hold point")

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

    # A worker's hold point: the end of the first epoch of its first trial.
    FIRST_TRIAL = "1:1"

    def start_workers(self, count: int) -> list[subprocess.Popen]:
        """`count` `trainlab search --worker` processes, each holding at FIRST_TRIAL."""
        return [self.start("--worker", hold=self.FIRST_TRIAL) for _ in range(count)]

    def hold_every_worker_then_kill_one(self, workers: list[subprocess.Popen]) -> tuple[int, Any]:
        """Once each worker of `start_workers` holds its first trial (so each got one, at any
        speed), SIGKILL the first and release the others. Returns the killed worker's trial
        number and its process; its trial stays RUNNING, no clean-up ran."""
        wait_until(lambda: len(held(self.held_dir)) == len(workers), *workers,
                   what="every worker holding its first trial")
        victim, *survivors = workers
        running = {t.user_attrs["worker"].rpartition(":")[2]: t for t in self.trials()
                   if t.state.name == "RUNNING" and "mlflow_run_id" in t.user_attrs}
        assert sorted(running) == sorted(str(p.pid) for p in workers)  # one trial each
        victim.send_signal(signal.SIGKILL)
        for process in survivors:
            release(self.held_dir, process.pid)
        return running[str(victim.pid)].number, victim

    def coordinate_while_one_worker_dies(self, workers: list[subprocess.Popen]) -> tuple[int, Any]:
        """Coordinate the study in this process (`--workers 0`: it queues the cells, trains
        nothing itself, and returns once the queue is empty) while, beside it, the first of
        `workers` is killed mid-trial (hold_every_worker_then_kill_one): its trial number and
        its process."""
        killed: list = []
        killer = threading.Thread(
            target=lambda: killed.append(self.hold_every_worker_then_kill_one(workers)),
            daemon=True)
        killer.start()
        assert self.run("--workers", "0") == 0
        killer.join()
        (number, victim), = killed
        return number, victim

    def wait_for(self, condition: Callable[[list], bool], *processes: subprocess.Popen) -> list:
        """Poll the study until `condition(trials)` holds (see support.wait_until)."""
        def trials() -> list | None:
            try:
                current = self.trials()
            except KeyError:  # the study is not created yet
                current = []
            return current if condition(current) else None

        return wait_until(trials, *processes, what="the study's state the test waits for")


@pytest.fixture
def search_project(prepared: Path) -> SearchProject:
    handler = signal.getsignal(signal.SIGTERM)  # cli.main installs its own: put it back
    project = SearchProject(prepared)
    yield project
    signal.signal(signal.SIGTERM, handler)
    for process in project.started:  # a failed test leaves no search process behind
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def postgres_study() -> str:
    """A fresh study name on the PostgreSQL server of `make postgres`, deleted afterwards
    (the test skips without the server)."""
    postgres_or_skip()
    name = f"trainlab-test-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(KeyError):  # the test failed before the study was created
        optuna.delete_study(study_name=name, storage=POSTGRES)
