"""Progress at a terminal, silence in a log (trainlab.progress)."""

from __future__ import annotations

import pytest

from trainlab.progress import Steps, on_terminal, remaining


def test_time_left_reads_in_the_unit_that_fits():
    assert remaining(10.0, 3) == "~30 s left"
    assert remaining(30.0, 40, parallel=2) == "~10 min left"
    assert remaining(60.0, 200) == "~3.3 h left"
    assert remaining(5.0, 0) == "done"


def test_steps_print_only_at_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("TRAINLAB_PROGRESS", raising=False)
    quiet = Steps("claims", 2)  # pytest's stderr is captured: not a terminal
    quiet.step("gradient experiment")
    assert capsys.readouterr().err == ""
    loud = Steps("claims", 2, show=True)
    loud.step("gradient experiment")
    loud.step("convergence experiment")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("claims: [1/2] gradient experiment (")
    assert lines[1].startswith("claims: [2/2] convergence experiment (") and "done" in lines[1]


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False)])
def test_the_environment_overrides_the_terminal_check(monkeypatch, value, expected):
    monkeypatch.setenv("TRAINLAB_PROGRESS", value)
    assert on_terminal() is expected
