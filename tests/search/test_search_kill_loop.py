"""kill -9 at random moments, again and again: nothing finished is lost or duplicated.

Ten SIGKILLs land at seeded random delays after the search starts (during start-up, study
creation, training, or while results are written), each followed by a restart. After every
kill the study and the tracking database must still be readable, every trial that had
finished must still be COMPLETE with the same MLflow run, and no cell may be COMPLETE twice.
A last run then finishes the grid; no MLflow run is left RUNNING.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.slow

GRID_6 = {
    "activation": ["relu", "tanh", "elu"],
    "regularization": {"none": {}, "l2": {"kind": "l2", "strength": 1.0e-4}},
    "augmentation": {"none": {}},
}
KILLS = 10


def training(trials: list) -> bool:
    """A trial of this run is training: RUNNING with its MLflow run recorded."""
    return any(t.state.name == "RUNNING" and "mlflow_run_id" in t.user_attrs for t in trials)


def test_ten_random_kills_lose_and_duplicate_nothing(search_project):
    project = search_project.configure(GRID_6, {"epochs": 4})
    draw = random.Random(20261126)
    done: dict[int, str] = {}  # trial number -> MLflow run id, for every COMPLETE trial

    for kill in range(KILLS):
        process = project.start()
        if kill % 3 == 0:  # anywhere in start-up: imports, opening the study, recovery
            time.sleep(draw.uniform(0.5, 8.0))
        else:  # while a trial trains or its results are written
            project.wait_for(training, process)
            time.sleep(draw.uniform(0.0, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        try:
            trials = project.trials()
        except KeyError:  # killed before the study existed
            continue
        for number, run_id in done.items():  # kept, never retrained or rewritten
            assert trials[number].state.name == "COMPLETE"
            assert trials[number].user_attrs["mlflow_run_id"] == run_id
        complete = project.by_state(trials, "COMPLETE")
        assert max(Counter(t.user_attrs["cell"] for t in complete).values(), default=1) == 1
        done |= {t.number: t.user_attrs["mlflow_run_id"] for t in complete}
        assert all(r.info.status in {"RUNNING", "FINISHED", "FAILED", "KILLED"}
                   for r in project.runs().values())  # the database still reads

    assert project.run() == 0
    trials = project.trials()
    complete = project.by_state(trials, "COMPLETE")
    cells = {f"{a}|{r}|none" for a in GRID_6["activation"] for r in GRID_6["regularization"]}
    assert Counter(t.user_attrs["cell"] for t in complete) == Counter(dict.fromkeys(cells, 1))
    for number, run_id in done.items():
        assert trials[number].user_attrs["mlflow_run_id"] == run_id
    assert not project.by_state(trials, "RUNNING")
    # Some kills landed mid-training: those trials were recovered as interrupted and retried.
    interrupted = [t for t in project.by_state(trials, "FAIL")
                   if t.user_attrs.get("fail_reason", "").startswith("interrupted")]
    assert interrupted
    retried = {t.user_attrs.get("retry_of") for t in trials} - {None}
    assert {t.number for t in interrupted} <= retried
    statuses = Counter(r.info.status for r in project.runs().values())
    assert statuses["RUNNING"] == 0
    assert project.summary()["trials"]["complete"] == len(cells)
