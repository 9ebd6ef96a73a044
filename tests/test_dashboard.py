"""`trainlab dashboard`: a real optuna-dashboard on a tiny SQLite study, asked over HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import optuna
import pytest
import yaml
from support import free_port, wait_for_server  # tests/support.py

from trainlab.cli import build_parser, main
from trainlab.config.params import load_config
from trainlab.search.study import OBJECTIVE, create_or_load, open_storage

STUDY = "tiny-study"


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def study_project(project: Path) -> Path:
    """The project with a search section and its study holding one finished trial."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["search"] = {"storage": "sqlite:///optuna.db", "study_name": STUDY}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    cfg = load_config("params.yaml")
    ss = create_or_load(open_storage(cfg.search), cfg, optuna.pruners.NopPruner())
    ss.study.add_trial(optuna.trial.create_trial(
        params={"lr": 0.1}, distributions={"lr": optuna.distributions.FloatDistribution(
            0.001, 1.0)}, value=0.875))
    return project


def test_dashboard_binds_loopback_by_default():
    args = build_parser("dashboard").parse_args(["dashboard"])
    assert (args.host, args.port) == ("127.0.0.1", 8080)


@pytest.mark.slow
def test_dashboard_serves_the_study_over_http_and_stops_on_sigterm(study_project):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "trainlab.cli", "dashboard", "--port", str(port)],
        cwd=study_project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = server.stdout.readline()  # printed before the server starts
        assert f"http://127.0.0.1:{port}/dashboard/studies/1" in first, first
        listed = json.loads(wait_for_server(f"http://127.0.0.1:{port}/api/studies", server))
        [study] = listed["study_summaries"]
        assert (study["study_id"], study["study_name"]) == (1, STUDY)
        assert study["directions"] == ["maximize"]
        detail = _get(f"http://127.0.0.1:{port}/api/studies/1")
        assert detail["objective_names"] == [OBJECTIVE] == ["val/acc_best"]
        assert [trial["values"] for trial in detail["trials"]] == [[0.875]]
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate()
    assert server.returncode == 0, output
    with pytest.raises(OSError):  # nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_dashboard_without_the_storage_says_to_run_the_search_and_creates_nothing(
        project, capsys):
    assert main(["dashboard", "--set", "search.storage=sqlite:///nothing.db"]) == 1
    err = capsys.readouterr().err
    assert "search.storage = 'sqlite:///nothing.db': the database 'nothing.db' does not " \
        "exist; run the search first" in err, err
    assert not (project / "nothing.db").exists()


def test_dashboard_without_the_study_names_it(study_project, capsys):
    assert main(["dashboard", "--set", "search.study_name=absent"]) == 1
    err = capsys.readouterr().err
    assert "search.study_name = 'absent' is not a study in sqlite:///optuna.db" in err, err


def test_dashboard_on_a_busy_port_says_so(study_project, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port} (Address already in use); choose another " \
        "--port" in err, err
