"""A search stopped mid-trial (kill -9, then Ctrl-C) resumes without losing or retraining work.

One sequence, to start the search process twice rather than four times: run 1 is killed
with SIGKILL while it trains its second trial; run 2 resumes (recovering what run 1 left
RUNNING) and is stopped with SIGINT while it trains; run 3 finishes the grid.
"""

from __future__ import annotations

import signal
from collections import Counter

import pytest

pytestmark = pytest.mark.slow

GRID_4 = {
    "activation": ["relu", "tanh", "elu", "leaky_relu"],
    "regularization": {"none": {}},
    "augmentation": {"none": {}},
}
EPOCHS = {"epochs": 4}
SECOND_TRIAL = "2:2"  # hold at the second epoch of each run's second trial (tests/hold)


def test_killed_then_interrupted_search_resumes_without_losing_or_retraining(search_project):
    project = search_project.configure(GRID_4, EPOCHS)
    done: dict[int, str] = {}  # trial number -> MLflow run id of every COMPLETE trial so far

    def record_and_check_kept(trials: list) -> None:
        for number, run_id in done.items():  # finished trials are kept, never retrained
            assert trials[number].state.name == "COMPLETE"
            assert trials[number].user_attrs["mlflow_run_id"] == run_id
        done.update({t.number: t.user_attrs["mlflow_run_id"] for t in trials
                     if t.state.name == "COMPLETE"})

    # Run 1: kill -9 while the second trial trains. Nothing can clean up: RUNNING stays.
    run1 = project.start(hold=SECOND_TRIAL)
    project.wait_held(run1)
    assert project.training_after_one_done(project.trials())
    run1.send_signal(signal.SIGKILL)
    assert run1.wait() == -signal.SIGKILL
    trials = project.trials()
    record_and_check_kept(trials)
    (killed,) = project.by_state(trials, "RUNNING")
    killed_run = killed.user_attrs["mlflow_run_id"]
    assert project.runs()[killed_run].info.status == "RUNNING"

    # Run 2: resumes, then Ctrl-C while it trains.
    run2 = project.start(hold=SECOND_TRIAL)
    project.wait_held(run2)
    assert project.training_after_one_done([t for t in project.trials()
                                            if t.number != killed.number])
    run2.send_signal(signal.SIGINT)
    assert run2.wait() == 130
    assert "interrupted; finished results are kept" in project.log(run2)
    trials = project.trials()
    record_and_check_kept(trials)
    runs = project.runs()
    # The killed trial was recovered by run 2: FAIL (interrupted), its run KILLED.
    lost = trials[killed.number]
    assert lost.state.name == "FAIL" and lost.user_attrs["outcome"] == "interrupted"
    assert lost.user_attrs["fail_reason"].startswith("interrupted")
    assert runs[killed_run].info.status == "KILLED"
    assert runs[killed_run].data.tags["trainlab.outcome"] == "killed"
    assert runs[killed_run].data.tags["optuna.state"] == "FAIL"
    # The Ctrl-C'd trial: told FAIL (interrupted) at once, its run and the parent KILLED.
    (stopped,) = [t for t in project.by_state(trials, "FAIL") if t.number != killed.number]
    assert stopped.user_attrs["fail_reason"].startswith("interrupted")
    assert runs[stopped.user_attrs["mlflow_run_id"]].info.status == "KILLED"
    parent = next(r for r in runs.values() if r.data.tags.get("trainlab.kind") == "search")
    assert parent.info.status == "KILLED"
    assert not project.by_state(trials, "RUNNING")

    # Run 3: trains what is left; each cell has exactly one COMPLETE trial.
    assert project.run() == 0
    trials = project.trials()
    record_and_check_kept(trials)
    complete = project.by_state(trials, "COMPLETE")
    assert Counter(t.user_attrs["cell"] for t in complete) == Counter(
        {f"{a}|none|none": 1 for a in GRID_4["activation"]})
    for interrupted in (lost, stopped):  # each interrupted cell trained again, once
        (retry,) = [t for t in complete if t.user_attrs.get("retry_of") == interrupted.number]
        assert retry.user_attrs["cell"] == interrupted.user_attrs["cell"]
    runs = project.runs()
    assert [r.info.status for r in runs.values()].count("RUNNING") == 0
    parents = [r for r in runs.values() if r.data.tags.get("trainlab.kind") == "search"]
    assert [p.info.run_id for p in parents] == [parent.info.run_id]  # reused, now finished
    assert parents[0].info.status == "FINISHED"
    assert project.summary()["trials"] | {} == {
        "complete": 4, "pruned": 0, "fail": 0, "interrupted": 2, "unfinished": 0, "total": 6}
    rows = {int(row["trial"]): row for row in project.table()}
    assert [rows[t.number]["state"] for t in (lost, stopped)] == ["FAIL", "FAIL"]
