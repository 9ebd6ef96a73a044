"""Four workers on one study: each cell trained exactly once, a killed worker blocks no one.

test_search_workers.py covers two workers; these run four, on the local SQLite study
(`--workers 4`) and on the PostgreSQL server (four `--worker` processes, one killed with
SIGKILL mid-trial and its cell trained again by the other three).
"""

from __future__ import annotations

import re
import signal
import threading
from collections import Counter

import pytest
from support import POSTGRES, held, hold_env, release, wait_until

pytestmark = pytest.mark.slow

ACTIVATIONS = ("relu", "tanh", "elu", "leaky_relu")
GRID_8 = {
    "activation": list(ACTIVATIONS),
    "regularization": {"none": {}, "l2": {"kind": "l2", "strength": 1.0e-4}},
    "augmentation": {"none": {}},
}
CELLS_8 = Counter({f"{a}|{r}|none": 1 for a in ACTIVATIONS for r in ("none", "l2")})


def children_by_cell(project) -> Counter:
    """The search's child runs (one per trained trial) per grid cell."""
    runs = project.runs().values()
    return Counter(r.data.tags["recipe.cell"] for r in runs
                   if r.data.tags.get("trainlab.kind") != "search")


def test_four_local_workers_train_every_cell_once(search_project, capfd, monkeypatch):
    project = search_project.configure(GRID_8, {"epochs": 2}, workers=4)
    # The spawned workers inherit this environment: each holds its first trial until all four
    # hold one, so the queue is shared on a machine of any speed (one fast worker would
    # otherwise take every cell before the others have started).
    for name, value in hold_env(project.held_dir, project.FIRST_TRIAL).items():
        monkeypatch.setenv(name, value)
    sharing: list = []

    def release_when_all_four_hold() -> None:
        pids = wait_until(lambda: set(held(project.held_dir)) if len(
            held(project.held_dir)) == 4 else None, what="four workers holding a trial")
        sharing.append(pids)
        for pid in pids:
            release(project.held_dir, pid)

    releaser = threading.Thread(target=release_when_all_four_hold, daemon=True)
    releaser.start()
    assert project.run() == 0  # this process coordinates; four worker processes train
    releaser.join()

    trials = project.trials()
    assert len(trials) == 8
    done = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert Counter(t.user_attrs["cell"] for t in done) == CELLS_8  # each cell exactly once
    assert all(t.state.name == "COMPLETE" for t in trials)  # pruner none: nothing pruned
    out = capfd.readouterr().out
    assert "search: 4 local workers, 1 torch thread(s) each" in out
    trained = [int(n) for n in re.findall(r"search worker: trained (\d+) trial", out)]
    assert len(trained) == 4 and sum(trained) == 8  # four processes, 8 trials in all
    workers = Counter(t.user_attrs["worker"] for t in trials)
    assert sorted(workers.values()) == sorted(n for n in trained if n)  # each its own trials
    assert {int(w.rpartition(":")[2]) for w in workers} == sharing[0]  # all four trained

    runs = project.runs()
    children = [r for r in runs.values() if r.data.tags.get("trainlab.kind") != "search"]
    assert children_by_cell(project) == CELLS_8  # one MLflow run per cell
    assert sorted(r.info.run_id for r in children) == sorted(
        t.user_attrs["mlflow_run_id"] for t in trials)
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    assert {r.data.params["train.threads"] for r in children} == {"1"}
    assert project.summary()["trials"]["complete"] == 8


@pytest.mark.postgres
def test_four_postgres_workers_one_killed_mid_trial_the_others_finish(search_project,
                                                                      postgres_study):
    # Heartbeat every second, a trial without one for 3 s is stale: the killed worker's
    # trial is failed and queued again within seconds by the others (each waits while a
    # trial is RUNNING: it may be a dead worker's).
    project = search_project.configure(GRID_8, {"epochs": 3}, storage=POSTGRES,
                                       study_name=postgres_study, heartbeat_interval=1,
                                       grace_period=3)
    workers = project.start_workers(4)
    number, victim = project.coordinate_while_one_worker_dies(workers)
    survivors = [process for process in workers if process is not victim]
    assert victim.wait() == -signal.SIGKILL
    assert [process.wait() for process in survivors] == [0, 0, 0]
    for process in survivors:
        assert "no queued trial left" in project.log(process)

    trials = project.trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert Counter(t.user_attrs["cell"] for t in complete) == CELLS_8  # each exactly once
    assert len(trials) == 9 and not [t for t in trials if t.state.name in (
        "RUNNING", "WAITING", "PRUNED")]
    lost = trials[number]
    assert lost.state.name == "FAIL"  # failed by a living worker: no heartbeat for 3 s
    assert lost.user_attrs["worker"].endswith(f":{victim.pid}")
    (redo,) = [t for t in complete if t.user_attrs.get("retry_of") == lost.number]
    assert redo.user_attrs["cell"] == lost.user_attrs["cell"]
    assert redo.user_attrs["worker"].endswith(tuple(f":{p.pid}" for p in survivors))

    runs = project.runs()
    assert [r.info.status for r in runs.values()].count("RUNNING") == 0
    run = runs[lost.user_attrs["mlflow_run_id"]]
    assert run.info.status == "KILLED" and run.data.tags["optuna.state"] == "FAIL"
    finished = Counter(r.data.tags["recipe.cell"] for r in runs.values()
                       if r.data.tags.get("trainlab.kind") != "search"
                       and r.info.status == "FINISHED")
    assert finished == CELLS_8  # one finished MLflow run per cell; the lost one KILLED
    assert children_by_cell(project) == CELLS_8 + Counter([lost.user_attrs["cell"]])
    assert project.summary()["trials"] | {} == {
        "complete": 8, "pruned": 0, "fail": 0, "interrupted": 1, "unfinished": 0, "total": 9}
