"""Ctrl-C (and SIGTERM) during `trainlab transfer`: a clean stop that keeps what was finished.

A first complete transfer run on digits leaves the outputs a stop must not touch. Then
`trainlab transfer` runs as a subprocess and is stopped while it trains: it holds at a chosen
epoch (tests/hold) until the signal, so the signal lands there on a machine of any speed, and
the moment is checked from its own output and from the tracking database:

- SIGINT while the second cell trains: the first cell's line is printed and the second cell's
  run is RUNNING with its params logged (its epochs reach MLflow in batches, as a recipe's);
- SIGTERM while the source backbone pretrains: its run is RUNNING with its params logged.

Each time: exit code 130, no MLflow run RUNNING, the training run KILLED, the stage's parent
run KILLED, the runs finished before the signal FINISHED, the first run's runs as they were,
every earlier file under models/ and reports/ byte for byte as before (reports/transfer.json
and transfer.csv the previous complete versions, no temporary file beside them); and the
command then runs to completion.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import files, held, hold_env, runs, wait_until  # tests/support.py

from trainlab.cli import main

pytestmark = pytest.mark.slow

MODEL = {"arch": "cnn", "channels": [8, 16], "cnn_hidden": 32}
# Two cells (linear probe, scratch, on all 645 target images). A run's fits, in order: the
# source pretraining (1), the linear probe (2), scratch (3): where the hold points are.
TRANSFER = {"backbones": ["source"], "modes": ["linear_probe", "scratch"], "sizes": ["all"],
            "epochs": 4, "source_epochs": 3, "min_steps": 4, "threads": 1,
            "test_size": None}
SOURCE, CELL, STAGE = "transfer-source", "transfer", "transfer-stage"  # trainlab.kind tags


@pytest.fixture
def transferred(prepared: Path):
    """Params for a tiny transfer, and one complete `trainlab transfer` run."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    # Absolute URI: MLflow caches a store per URI string in this process (see search tests).
    params["tracking"] |= {"uri": f"sqlite:///{prepared / 'mlflow.db'}", "log_checkpoint": False}
    params["model"] |= MODEL
    params["transfer"] = TRANSFER
    # One training a cell: the hold points count fits (source, probe, scratch), not seeds.
    params["stats"] = {"seeds": 1}
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    handler = signal.getsignal(signal.SIGTERM)  # cli.main installs its own: put it back
    try:
        assert main(["transfer"]) == 0
        yield params
    finally:
        signal.signal(signal.SIGTERM, handler)


def kind(run: Any) -> str:
    return run.data.tags.get("trainlab.kind", "")


def first_cell_printed(log: Path) -> bool:
    return "transfer:" in log.read_text() and "linear_probe" in log.read_text()


def cell_training(run: Any) -> bool:
    """A cell run past its creation: its params are logged."""
    return kind(run) == CELL and bool(run.data.params)


def source_training(run: Any) -> bool:
    """The source pretraining's run, past its creation: its params are logged."""
    return kind(run) == SOURCE and bool(run.data.params)


def training_run(params: dict, known: set[str], training: Callable[[Any], bool]) -> str:
    """The run this process is training in: new, RUNNING, and `training(run)` holds."""
    (run_id,) = [run_id for run_id, run in runs(params).items() if run_id not in known
                 and run.info.status == "RUNNING" and training(run)]
    return run_id


@pytest.mark.parametrize(
    ("sig", "hold", "printed", "training", "finished_kinds"),
    [
        (signal.SIGINT, "3:2", first_cell_printed, cell_training, [SOURCE, CELL]),
        (signal.SIGTERM, "1:2", lambda log: True, source_training, []),
    ],
    ids=["sigint-second-cell", "sigterm-source-pretraining"],
)
def test_interrupted_transfer_stops_cleanly_and_keeps_finished_work(
    transferred, prepared, sig, hold, printed, training, finished_kinds
):
    before_files, before_runs = files(prepared), runs(transferred)
    previous = json.loads((prepared / "reports" / "transfer.json").read_text())
    assert sorted(kind(r) for r in before_runs.values()) == sorted([STAGE, SOURCE, CELL, CELL])
    assert {r.info.status for r in before_runs.values()} == {"FINISHED"}

    log, markers = prepared / "transfer.log", prepared / "held"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "trainlab.cli", "transfer"],
                                   cwd=prepared, stdout=out, stderr=subprocess.STDOUT,
                                   env=hold_env(markers, hold))
    process.log_path = log
    try:
        wait_until(lambda: held(markers), process, what=f"its hold point {hold}")
        assert printed(log), log.read_text()
        stopped = training_run(transferred, set(before_runs), training)
        process.send_signal(sig)
        assert process.wait() == 130, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert "trainlab transfer: interrupted; finished results are kept" in log.read_text()

    # Every earlier file as it was: the previous complete transfer.json and transfer.csv,
    # the first run's source checkpoint; nothing half-written beside the reports.
    after_files = files(prepared)
    assert {k: after_files.get(k) for k in before_files} == before_files
    assert not list((prepared / "reports").glob(".transfer.*"))
    # The tracking database reads; no run RUNNING; the first run's runs untouched.
    after = runs(transferred)
    assert [r.info.status for r in after.values()].count("RUNNING") == 0
    for run_id, run in before_runs.items():
        assert (after[run_id].info.status, after[run_id].info.end_time) == (
            run.info.status, run.info.end_time)
    # This run: the training run it was in and the stage's parent run KILLED; the runs that
    # finished before the signal FINISHED; nothing started after it.
    new = {run_id: run for run_id, run in after.items() if run_id not in before_runs}
    assert (new[stopped].info.status, new[stopped].data.tags["trainlab.outcome"]) == (
        "KILLED", "killed")
    (parent,) = [r for r in new.values() if kind(r) == STAGE]
    assert parent.info.status == "KILLED"
    assert all(r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
               for r in new.values() if r is not parent)
    finished = [r for run_id, r in new.items() if run_id != stopped and r is not parent]
    assert sorted(kind(r) for r in finished) == sorted(finished_kinds)
    assert {r.info.status for r in finished} <= {"FINISHED"}

    # Run again: it completes; its reports name its own FINISHED parent run.
    assert main(["transfer"]) == 0
    final = runs(transferred)
    assert [r.info.status for r in final.values()].count("RUNNING") == 0
    (last,) = [r for run_id, r in final.items() if run_id not in after and kind(r) == STAGE]
    assert last.info.status == "FINISHED"
    summary = json.loads((prepared / "reports" / "transfer.json").read_text())
    source = summary["backbones"]["source"]
    assert source["source_run_id"] in final
    assert final[source["source_run_id"]].data.tags[
        "mlflow.parentRunId"] == last.info.run_id
    assert source["largest"] == previous["backbones"]["source"]["largest"]  # seeded: the same
