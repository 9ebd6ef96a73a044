"""A search stopped mid-trial (kill -9, Ctrl-C) resumes without losing or retraining work."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

pytestmark = pytest.mark.slow

GRID_3 = {
    "activation": ["relu", "tanh", "elu"],
    "regularization": {"none": {}},
    "augmentation": {"none": {}},
}
SLOWER = ("--set", "train.epochs=6")  # a few seconds a trial: time to stop one mid-way


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_stopped_search_resumes_without_losing_or_retraining(search_project, stop):
    project = search_project.configure(GRID_3)
    process = project.start(*SLOWER)
    project.wait_for(project.training_after_one_done, process)
    process.send_signal(stop)
    code = process.wait(timeout=120)

    before = project.trials()
    done = {t.number: t.user_attrs["mlflow_run_id"] for t in before if t.state.name == "COMPLETE"}
    stopped = [t for t in before if t.state.name in ("RUNNING", "FAIL")]
    assert len(stopped) == 1 and done
    stopped_run = stopped[0].user_attrs["mlflow_run_id"]
    runs = project.runs()
    parent = next(r for r in runs.values() if r.data.tags.get("trainlab.kind") == "search")
    if stop == signal.SIGKILL:
        assert code == -signal.SIGKILL
        # Nothing could run: Optuna and MLflow still say RUNNING until the next start.
        assert stopped[0].state.name == "RUNNING"
        assert runs[stopped_run].info.status == "RUNNING"
    else:
        assert code == 130
        assert "interrupted; finished results are kept" in project.log(process)
        assert stopped[0].state.name == "FAIL"
        assert stopped[0].user_attrs["fail_reason"].startswith("interrupted")
        assert runs[stopped_run].info.status == "KILLED"
        assert parent.info.status == "KILLED"

    assert project.run(*SLOWER) == 0
    after = project.trials()
    # Every finished trial kept, none retrained.
    for number, run_id in done.items():
        assert after[number].state.name == "COMPLETE"
        assert after[number].user_attrs["mlflow_run_id"] == run_id
    # The stopped trial: FAIL (interrupted) in Optuna, KILLED in MLflow, its cell trained again.
    lost = after[stopped[0].number]
    assert lost.state.name == "FAIL" and lost.user_attrs["outcome"] == "interrupted"
    runs = project.runs()
    killed = runs[stopped_run]
    assert killed.info.status == "KILLED" and killed.data.tags["trainlab.outcome"] == "killed"
    assert killed.data.tags["optuna.state"] == "FAIL"
    complete = [t for t in after if t.state.name == "COMPLETE"]
    assert Counter(t.user_attrs["cell"] for t in complete) == Counter(
        {"relu|none|none": 1, "tanh|none|none": 1, "elu|none|none": 1})
    retry = next(t for t in complete if t.user_attrs["cell"] == lost.user_attrs["cell"])
    assert retry.user_attrs["retry_of"] == lost.number
    assert len(after) == 4
    # Nothing is left RUNNING; the parent run is reused and finished.
    assert [r.info.status for r in runs.values()].count("RUNNING") == 0
    parents = [r for r in runs.values() if r.data.tags.get("trainlab.kind") == "search"]
    assert [p.info.run_id for p in parents] == [parent.info.run_id]
    assert parents[0].info.status == "FINISHED"
    summary = project.summary()
    assert summary["trials"]["complete"] == 3 and summary["trials"]["interrupted"] == 1
    rows = {int(row["trial"]): row for row in project.table()}
    assert rows[lost.number]["state"] == "FAIL"
    assert rows[lost.number]["fail_reason"].startswith("interrupted")
