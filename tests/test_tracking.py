"""MLflow runs that always end with a status, cached experiment ids, absolute SQLite URIs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from trainlab.tracking import (
    HeldSignals,
    absolute_uri,
    artifact_root,
    experiment_id,
    log_artifacts,
    tracked_run,
)


class SignalledClient(MlflowClient):
    """A real client that receives a Ctrl-C right after one of its writes committed: the
    moment a signal handler cannot otherwise tell apart from "before the write"."""

    def __init__(self, uri: str, after: str) -> None:
        super().__init__(uri)
        self.after = after

    def create_run(self, *args, **kwargs):
        run = super().create_run(*args, **kwargs)
        if self.after == "create_run":
            os.kill(os.getpid(), signal.SIGINT)
        return run

    def set_terminated(self, *args, **kwargs):
        super().set_terminated(*args, **kwargs)
        if self.after == "set_terminated":
            os.kill(os.getpid(), signal.SIGINT)


def _uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_ctrl_c_just_after_the_run_was_created_ends_it_killed(tmp_path):
    client = SignalledClient(_uri(tmp_path), after="create_run")
    body_ran = False
    with pytest.raises(KeyboardInterrupt), tracked_run(client, "exp", run_name="r"):
        body_ran = True
    assert not body_ran  # the held Ctrl-C arrived before the body, with the run known
    [run] = client.search_runs([experiment_id(client, "exp")])
    assert run.info.status == "KILLED" and run.data.tags["trainlab.outcome"] == "killed"


def test_ctrl_c_while_the_run_ends_keeps_its_status_then_interrupts(tmp_path):
    client = SignalledClient(_uri(tmp_path), after="set_terminated")
    with pytest.raises(KeyboardInterrupt), tracked_run(client, "exp", run_name="r"):
        pass
    [run] = client.search_runs([experiment_id(client, "exp")])
    assert run.info.status == "FINISHED" and run.data.tags["trainlab.outcome"] == "finished"


def test_held_signals_reach_the_usual_handler_once_after_the_block():
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with HeldSignals():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
            assert received == []
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_error_in_the_body_ends_the_run_failed_with_the_reason(tmp_path):
    client = MlflowClient(_uri(tmp_path))
    with pytest.raises(ValueError), tracked_run(client, "exp") as run_id:
        raise ValueError("bad batch")
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["trainlab.failure"] == "ValueError: bad batch"


def test_relative_sqlite_uris_become_absolute_others_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_uri("sqlite:///mlflow.db") == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert absolute_uri(_uri(tmp_path)) == _uri(tmp_path)
    assert absolute_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert absolute_uri("postgresql://u:p@h/db") == "postgresql://u:p@h/db"


def test_experiment_ids_are_cached_per_database(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    in_first = MlflowClient(f"sqlite:///{first / 'mlflow.db'}")
    in_second = MlflowClient(f"sqlite:///{second / 'mlflow.db'}")
    in_second.create_experiment("other")  # the same name gets another id in `second`
    found = experiment_id(in_first, "exp")
    assert experiment_id(in_first, "exp") == found
    assert experiment_id(in_second, "exp") == in_second.get_experiment_by_name("exp").experiment_id
    assert experiment_id(in_second, "exp") != found


def test_artifacts_of_one_run_are_uploaded_together(tmp_path):
    client = MlflowClient(_uri(tmp_path))
    checkpoint = tmp_path / "best.ckpt"
    checkpoint.write_bytes(b"weights")
    with tracked_run(client, "exp") as run_id:
        log_artifacts(client, run_id, {"config.yaml": "a: 1\n"},
                      {"checkpoints/best.ckpt": checkpoint})
    names = {a.path for a in client.list_artifacts(run_id)}
    assert names == {"config.yaml", "checkpoints"}
    assert [a.path for a in client.list_artifacts(run_id, "checkpoints")] == [
        "checkpoints/best.ckpt"]
    assert checkpoint.read_bytes() == b"weights"  # the source is untouched


def test_artifacts_of_an_open_run_go_up_without_fetching_the_run(tmp_path, monkeypatch):
    """create_run already told the artifact URI; MLflow's log_artifacts would get_run again."""
    client = MlflowClient(_uri(tmp_path))
    with tracked_run(client, "exp") as run_id:
        def no_round_trip(*args, **kwargs):
            raise AssertionError("get_run called while logging artifacts")

        with monkeypatch.context() as patch:
            patch.setattr(type(client._tracking_client), "get_run", no_round_trip)
            log_artifacts(client, run_id, {"curves.csv": "epoch\n0\n"})
    assert [a.path for a in client.list_artifacts(run_id)] == ["curves.csv"]


def test_artifacts_go_beside_their_sqlite_database_not_into_the_working_directory(
        tmp_path, monkeypatch):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (tmp_path / "db").mkdir()
    client = MlflowClient(_uri(tmp_path / "db"))
    with tracked_run(client, "runs/of a search") as run_id:
        log_artifacts(client, run_id, {"curves.csv": "epoch\n0\n"})
    artifacts = tmp_path / "db" / "mlruns" / "runs_of_a_search" / run_id / "artifacts"
    assert (artifacts / "curves.csv").read_text() == "epoch\n0\n"
    assert not any(elsewhere.iterdir())  # nothing in the directory the command ran in
    assert artifact_root("postgresql://user@host/db", "x") is None  # the server decides
