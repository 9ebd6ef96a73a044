"""Ctrl-C (and SIGTERM) during `trainlab ensemble`: a clean stop that keeps what was finished.

A real search on digits (two cells, both kept) and a first complete ensemble run leave the
outputs a stop must not touch. Then `trainlab ensemble` runs as a subprocess, held still just
before it opens a chosen file (tests/ensemble/paused_cli.py), and is sent the signal there:

- while it predicts (the second member's checkpoint): no MLflow run exists yet;
- while it writes its report (the atomic write's temporary file): its run is RUNNING;
- while MLflow stores the report as the run's artifact: its run is RUNNING;
- while it replaces reports/ensemble.json: its run has ended FINISHED (its artifact holds
  the report), so it stays FINISHED.

Each time: exit code 130, no MLflow run RUNNING, this run KILLED if it was RUNNING, the earlier
runs as they were, the study and the tracking database readable, the search's models/ and
reports/ byte for byte as before, reports/ensemble.json the previous complete report and no
temporary file beside it; and the command then runs to completion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from support import files, runs, wait_until  # tests/support.py

from trainlab.cli import main

pytestmark = pytest.mark.slow

LAUNCHER = Path(__file__).with_name("paused_cli.py")
PAUSED = "paused before opening"
GRID = {"activation": ["relu", "tanh"], "regularization": {"none": {}},
        "augmentation": {"none": {}}}
REPORT = Path("reports/ensemble.json")


@pytest.fixture
def searched(prepared: Path):
    """A finished search (2 cells at 3 seeds: one ensemble per seed, top-2 kept) and one
    complete ensemble run."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    # Absolute URIs: MLflow caches a store per URI string in this process (see search tests).
    params["tracking"] |= {"uri": f"sqlite:///{prepared / 'mlflow.db'}", "log_checkpoint": False}
    params["grid"] = GRID
    params["search"] = {"study_name": "digits-grid", "pruner": "none", "top_k": 2, "workers": 1,
                        "storage": f"sqlite:///{prepared / 'optuna.db'}"}
    params["ensemble"] = {"top_k": 2, "greedy_pool": 2}
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    handler = signal.getsignal(signal.SIGTERM)  # cli.main installs its own: put it back
    try:
        assert main(["search"]) == 0
        assert main(["ensemble"]) == 0
        yield params
    finally:
        signal.signal(signal.SIGTERM, handler)


def start_paused(root: Path, pause_at: str) -> tuple[subprocess.Popen, Path]:
    """`trainlab ensemble` as a subprocess that stops before opening a path matching `pause_at`;
    returns once it is there (it printed so), with the path of its output."""
    log = root / f"ensemble-{len(list(root.glob('ensemble-*.log')))}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "ensemble"], cwd=root, stdout=out,
            stderr=subprocess.STDOUT, env=os.environ | {"TRAINLAB_PAUSE_AT": pause_at},
        )
    process.log_path = log
    wait_until(lambda: PAUSED in log.read_text(), process, what=f"opening {pause_at!r}")
    return process, log


@pytest.mark.parametrize(
    ("sig", "pause_at", "own_run"),
    [
        # Loading and predicting the members: before the tracking database is written.
        (signal.SIGINT, r"models/search/rank2_", None),
        # The report's first atomic write (its temporary file), inside the stage's MLflow run.
        (signal.SIGINT, r"/\.ensemble\.json\.[^/]*\.tmp$", ("KILLED", "killed")),
        # MLflow copying the report into the run's artifacts (SIGTERM: dvc, a scheduler, kill).
        (signal.SIGTERM, r"/mlruns/.+/artifacts/", ("KILLED", "killed")),
        # Replacing reports/ensemble.json, after the run ended: the run stays FINISHED.
        (signal.SIGINT, r"/reports/\.ensemble\.json\.[^/]*\.tmp$", ("FINISHED", "finished")),
    ],
    ids=["sigint-predicting", "sigint-writing-report", "sigterm-logging-artifact",
         "sigint-replacing-report"],
)
def test_interrupted_ensemble_stops_cleanly_and_keeps_finished_work(
    searched, prepared, sig, pause_at, own_run
):
    before_files, before_runs = files(prepared), runs(searched)
    previous = json.loads(REPORT.read_text())
    assert before_runs[previous["mlflow_run_id"]].info.status == "FINISHED"
    # A real search and ensemble: one ensemble per seed, the gain's interval over the seeds.
    assert [d["seed"] for d in previous["over_seeds"]["draws"]] == [0, 1, 2]
    assert previous["over_seeds"]["mean"]["gain_interval"]["seeds"] == 3

    process, log = start_paused(prepared, pause_at)
    process.send_signal(sig)
    assert process.wait() == 130, log.read_text()
    assert "trainlab ensemble: interrupted; finished results are kept" in log.read_text()

    # Every file under models/ and reports/ as before: the search's checkpoints, manifest
    # and reports, and the previous complete ensemble report (no new one, no half of one).
    assert files(prepared) == before_files
    assert not list(REPORT.parent.glob(".ensemble.json.*"))  # no temporary file left
    # The tracking database reads; no run RUNNING; earlier runs untouched; this one KILLED.
    after = runs(searched)
    assert [r.info.status for r in after.values()].count("RUNNING") == 0
    for run_id, run in before_runs.items():
        assert (after[run_id].info.status, after[run_id].info.end_time) == (
            run.info.status, run.info.end_time)
    new = [r for run_id, r in after.items() if run_id not in before_runs]
    if own_run is None:
        assert new == []
    else:
        (run,) = new
        assert run.data.tags["trainlab.kind"] == "ensemble"
        assert (run.info.status, run.data.tags["trainlab.outcome"]) == own_run
    # The Optuna study reads, its trials as the search left them.
    study = optuna.load_study(study_name="digits-grid", storage=searched["search"]["storage"])
    # 2 cells x stats.seeds (3): the search trained both top cells at every ensemble seed.
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 6

    # Run again: it completes, and its report names its own FINISHED run.
    assert main(["ensemble"]) == 0
    report = json.loads(REPORT.read_text())
    final = runs(searched)
    assert report["mlflow_run_id"] not in after
    assert final[report["mlflow_run_id"]].info.status == "FINISHED"
    assert [r.info.status for r in final.values()].count("RUNNING") == 0
    assert {k: v for k, v in files(prepared).items() if k != str(REPORT)} == {
        k: v for k, v in before_files.items() if k != str(REPORT)}
    assert report["ensemble"] == previous["ensemble"]  # same members, same numbers
