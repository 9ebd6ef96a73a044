"""Several workers on one study: each cell trained exactly once, a dead worker's cell redone."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from support import POSTGRES  # tests/support.py

pytestmark = pytest.mark.slow

GRID_6 = {
    "activation": ["relu", "tanh", "elu"],
    "regularization": {"none": {}, "l2": {"kind": "l2", "strength": 1.0e-4}},
    "augmentation": {"none": {}},
}
CELLS_6 = Counter({f"{a}|{r}|none": 1 for a in ("relu", "tanh", "elu") for r in ("none", "l2")})


def test_two_local_workers_train_every_cell_once(search_project, capfd):
    project = search_project.configure(GRID_6, workers=2)
    assert project.run() == 0  # this process coordinates; two worker processes train

    trials = project.trials()
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials)
    assert Counter(t.user_attrs["cell"] for t in trials) == CELLS_6
    out = capfd.readouterr().out
    assert "search: 2 local workers, 1 torch thread(s) each" in out
    trained = re.findall(r"search worker: trained (\d+) trial", out)
    assert len(trained) == 2 and sum(map(int, trained)) == 6  # two processes, 6 trials in all
    assert len({t.user_attrs["worker"] for t in trials}) == sum(n != "0" for n in trained)
    runs = project.runs()
    children = [r for r in runs.values() if r.data.tags.get("trainlab.kind") != "search"]
    assert sorted(r.info.run_id for r in children) == sorted(
        t.user_attrs["mlflow_run_id"] for t in trials)
    assert {r.info.status for r in children} == {"FINISHED"}
    assert {r.data.params["train.threads"] for r in children} == {"1"}  # 2 cores / 2 workers
    assert project.summary()["trials"]["complete"] == 6


@pytest.mark.postgres
def test_postgres_workers_share_a_study_and_redo_a_dead_workers_cell(search_project,
                                                                     postgres_study):
    project = search_project.configure(GRID_6, {"epochs": 3}, storage=POSTGRES,
                                       study_name=postgres_study)
    workers = project.start_workers(2)
    number, victim = project.coordinate_while_one_worker_dies(workers)
    (survivor,) = [process for process in workers if process is not victim]
    assert victim.wait() == -9 and survivor.wait() == 0
    trials = project.trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert Counter(t.user_attrs["cell"] for t in complete) == CELLS_6  # each exactly once
    lost = trials[number]
    assert lost.state.name == "FAIL"  # failed by a living process: no heartbeat for 4 s
    redo = [t for t in complete if t.user_attrs.get("retry_of") == lost.number]
    assert [t.user_attrs["cell"] for t in redo] == [lost.user_attrs["cell"]]
    assert redo[0].user_attrs["worker"].endswith(f":{survivor.pid}")
    run = project.runs()[lost.user_attrs["mlflow_run_id"]]
    assert run.info.status == "KILLED" and run.data.tags["optuna.state"] == "FAIL"
    assert project.summary()["trials"] | {} == {
        "complete": 6, "pruned": 0, "fail": 0, "interrupted": 1, "unfinished": 0, "total": 7}
