"""Racing on a real search: extra seeds only for the cells not yet told apart from the leader
on validation, as queued Optuna trials; a search killed mid-round resumes without repeating
a trial (the rounds are replayed from the study, not decided again)."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from trainlab.search.study import RACE_ATTR

pytestmark = pytest.mark.slow

RACE = {"enabled": True, "seeds_per_round": 1, "max_cells": 2, "max_rounds": 2}


def keys(trials, state="COMPLETE"):
    return Counter((t.user_attrs["cell"], t.user_attrs["seed"]) for t in trials
                   if t.state.name == state)


def test_racing_adds_seeds_only_to_the_unresolved_leaders(search_project):
    project = search_project.configure(race=RACE)
    assert project.run() == 0
    trials = project.trials()
    done = keys(trials)
    assert max(done.values()) == 1  # no cell x seed trained twice
    config_id = project.summary()["config_id"]
    rounds = project.study().user_attrs[RACE_ATTR + config_id]
    assert 1 <= len(rounds) <= 2
    extra = {(cell, index + 1) for index, entry in enumerate(rounds) for cell in entry["cells"]}
    # Seed 0 of every cell, then exactly the seeds the rounds picked: nothing else.
    assert set(done) == {(c, 0) for c, _ in done} | extra
    for index, entry in enumerate(rounds):
        assert len(entry["cells"]) == 2 and entry["leader"] in entry["cells"]
        if index == 0:  # one seed each: the leader by val, then the closest cell its
            seeds0 = {t.user_attrs["cell"]: t.value for t in trials  # paired test on the
                      if t.user_attrs["seed"] == 0 and t.state.name == "COMPLETE"}  # val
            top = sorted(seeds0, key=lambda c: (-seeds0[c], c))  # images left unresolved
            assert entry["cells"][0] == top[0] and entry["cells"][1] in top[1:]
    race = project.summary()["race"]
    assert race["extra_trials"] == len(extra) == len(done) - 4
    cells = {row["cell"]: row for row in project.cells()}
    for cell, row in cells.items():
        seeds = sum(1 for c, _ in done if c == cell)
        assert int(row["seeds"]) == seeds and int(row["raced_seeds"]) == seeds - 1
        if seeds > 1:  # an interval over seeds exists only with several
            assert row["val_low"] != "" and float(row["val_low"]) <= float(row["val_mean"])


def test_a_search_killed_mid_round_resumes_without_repeating_a_trial(search_project):
    project = search_project.configure(train={"epochs": 3}, race=RACE | {"max_rounds": 1})
    run = project.start(hold="5:2")  # the first racing trial: after the 2x2 grid's four
    project.wait_held(run)
    (racing,) = [t for t in project.trials() if t.state.name == "RUNNING"]
    assert racing.user_attrs["seed"] >= 1 and "mlflow_run_id" in racing.user_attrs
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    before = project.trials()
    attrs = project.study().user_attrs
    (key,) = [k for k in attrs if k.startswith(RACE_ATTR)]  # the round, stored when decided
    (stored,) = attrs[key]
    assert project.run() == 0
    after = project.trials()
    done = keys(after)
    assert max(done.values()) == 1  # every cell x seed COMPLETE exactly once
    assert set(done) == {(c, 0) for c, _ in done} | {(c, 1) for c in stored["cells"]}
    # Finished trials were kept: the same MLflow runs.
    for trial in before:
        if trial.state.name == "COMPLETE":
            assert after[trial.number].state.name == "COMPLETE"
            assert after[trial.number].user_attrs["mlflow_run_id"] == \
                trial.user_attrs["mlflow_run_id"]
    assert key == RACE_ATTR + project.summary()["config_id"]
    assert project.summary()["race"]["extra_trials"] == 2
