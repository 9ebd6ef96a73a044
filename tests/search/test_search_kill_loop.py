"""kill -9 at random moments, again and again: nothing finished is lost or duplicated.

Ten SIGKILLs, each at a moment drawn (seeded) from the phases of a search and reached by
observing the process, never by a guessed delay, so that they land where drawn on a machine
of any speed:
- start-up: as soon as the process exists (imports), or once it printed its study line
  (the study opened, what an earlier kill left RUNNING recovered, the grid queued);
- training: the process holds at a drawn epoch of its first or second trial (tests/hold);
- results: the process holds at the end of a trial's fit, is released, and is killed a drawn
  moment later, while the trial's results are written or, on a fast machine, after.
Each kill is followed by a restart. After every kill the study and the tracking database must
still be readable, every trial that had finished must still be COMPLETE with the same MLflow
run, and no cell may be COMPLETE twice. A last run then finishes the grid; no MLflow run is
left RUNNING. A process may legitimately finish the grid before its drawn moment comes: then
the loop says so and stops, and the test still requires its minimum of kills that landed while
a trial was in flight.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest
from support import release, wait_until  # tests/support.py

pytestmark = pytest.mark.slow

GRID_12 = {
    "activation": ["relu", "tanh", "elu", "leaky_relu"],
    "regularization": {"none": {}, "l2": {"kind": "l2", "strength": 1.0e-4},
                       "l1": {"kind": "l1", "strength": 1.0e-5}},
    "augmentation": {"none": {}},
}
EPOCHS = 3
# The ten kills: the first once the study exists; then start-up and training kills in a seeded
# order; the results kills last, because after their release a fast machine may finish several
# trials before the kill arrives, and the grid must not run out before the training kills.
START, TRAINING, RESULTS = ["imports", "study"], ["training"] * 5, ["results"] * 2
MIN_IN_FLIGHT = len(TRAINING)  # each holds mid-training: none may miss


def in_flight(trials: list, pid: int) -> list:
    """Trials that process `pid` left mid-way: RUNNING with their MLflow run recorded."""
    return [t for t in trials if t.state.name == "RUNNING" and "mlflow_run_id" in t.user_attrs
            and t.user_attrs["worker"].endswith(f":{pid}")]


def kill_at(project, phase: str, draw: random.Random):
    """Start the search, SIGKILL it at a moment of `phase`; the process, or None when it
    finished the grid first (exit 0 before the moment came)."""
    fit = draw.choice([1, 2])  # the second: one trial of this process completed before
    hold = {"training": f"{fit}:{draw.randint(1, EPOCHS)}", "results": f"{fit}:end"}.get(phase)
    process = project.start(hold=hold)
    try:
        if phase == "study":
            wait_until(lambda: "search: study" in project.log(process), process,
                       what="its study line")
        elif hold is not None:
            project.wait_held(process)
            if phase == "results":
                release(project.held_dir, process.pid)
                time.sleep(draw.uniform(0.0, 0.2))  # any moment of the writes, or after: all fine
    except AssertionError:
        if process.wait() == 0:  # the grid was done: nothing left to kill it in
            return None
        raise
    process.send_signal(signal.SIGKILL)
    assert process.wait() in (-signal.SIGKILL, 0)  # 0: it finished before the kill arrived
    return process


def test_ten_random_kills_lose_and_duplicate_nothing(search_project):
    project = search_project.configure(GRID_12, {"epochs": EPOCHS})
    draw = random.Random(20261126)
    phases = ["study", *draw.sample(START + TRAINING, k=len(START + TRAINING)), *RESULTS]
    done: dict[int, str] = {}  # trial number -> MLflow run id, for every COMPLETE trial
    landed: Counter = Counter()  # phase -> kills that caught a trial in flight
    kills = 0

    for phase in phases:
        process = kill_at(project, phase, draw)
        if process is None:
            print(f"kill loop: the search finished the grid before kill {kills + 1} ({phase})")
            break
        kills += 1
        try:
            trials = project.trials()
        except KeyError:  # killed before the study existed
            continue
        landed[phase] += bool(in_flight(trials, process.pid))
        for number, run_id in done.items():  # kept, never retrained or rewritten
            assert trials[number].state.name == "COMPLETE"
            assert trials[number].user_attrs["mlflow_run_id"] == run_id
        complete = project.by_state(trials, "COMPLETE")
        assert max(Counter(t.user_attrs["cell"] for t in complete).values(), default=1) == 1
        done |= {t.number: t.user_attrs["mlflow_run_id"] for t in complete}
        assert all(r.info.status in {"RUNNING", "FINISHED", "FAILED", "KILLED"}
                   for r in project.runs().values())  # the database still reads

    summary = (f"kill loop: {kills} of {len(phases)} kills, {sum(landed.values())} landed while "
               f"a trial was in flight ({dict(landed)}; minimum {MIN_IN_FLIGHT})")
    print(summary)
    assert sum(landed.values()) >= MIN_IN_FLIGHT, summary

    assert project.run() == 0
    trials = project.trials()
    complete = project.by_state(trials, "COMPLETE")
    cells = {f"{a}|{r}|none" for a in GRID_12["activation"] for r in GRID_12["regularization"]}
    assert Counter(t.user_attrs["cell"] for t in complete) == Counter(dict.fromkeys(cells, 1))
    for number, run_id in done.items():
        assert trials[number].user_attrs["mlflow_run_id"] == run_id
    assert not project.by_state(trials, "RUNNING")
    # The kills that landed mid-training: those trials were recovered as interrupted, retried.
    interrupted = [t for t in project.by_state(trials, "FAIL")
                   if t.user_attrs.get("fail_reason", "").startswith("interrupted")]
    assert len(interrupted) >= landed["training"], summary
    retried = {t.user_attrs.get("retry_of") for t in trials} - {None}
    assert {t.number for t in interrupted} <= retried
    statuses = Counter(r.info.status for r in project.runs().values())
    assert statuses["RUNNING"] == 0
    assert project.summary()["trials"]["complete"] == len(cells)
