"""The MLflow UI as a user opens it (`trainlab ui`, headless Chromium): the search's parent
run is listed on the experiment's runs page with its Source and Dataset filled; a screenshot
is kept (tmp_path, and /tmp/mlflow_runs_screenshot.png)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from support import BROWSER_MARKS, chromium, free_port, png_size, wait_for_server

from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri

SCREENSHOT = Path("/tmp/mlflow_runs_screenshot.png")  # for a person to look at
WINDOW = (1600, 900)
pytestmark = [*BROWSER_MARKS, pytest.mark.slow]
# Void elements: no end tag in the dumped DOM.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class RunCells(HTMLParser):
    """The text of the runs table's cells, by (run id, column id): the table (ag-grid) marks
    each row with `row-id` (the run id) and each cell with `col-id`."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self._open: list[tuple[str, str | None, str | None]] = []  # (tag, row id, col id)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        row, col = (self._open[-1][1:] if self._open else (None, None))
        row, col = found.get("row-id", row), found.get("col-id", col)
        if tag not in VOID:
            self._open.append((tag, row, col))

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1][1] and self._open[-1][2]:
            key = self._open[-1][1], self._open[-1][2]
            self.cells[key] = " ".join([self.cells.get(key, ""), data.strip()]).strip()


@pytest.fixture
def searched(prepared: Path) -> Path:
    """A one-cell search (one epoch) run as a user runs it, in its own process."""
    params = yaml.safe_load((prepared / "params.yaml").read_text())
    params["train"]["epochs"] = 1
    params["tracking"]["log_checkpoint"] = False
    params["grid"] = {"activation": ["relu"], "regularization": {"none": {}},
                      "augmentation": {"none": {}}}
    params["search"] = {"storage": "sqlite:///optuna.db", "study_name": "browser-grid",
                        "pruner": "none", "top_k": 1, "workers": 1}
    params["ensemble"] = {"top_k": 1}
    (prepared / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = subprocess.run([sys.executable, "-m", "trainlab.cli", "search"], cwd=prepared,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return prepared


@pytest.fixture
def ui(searched: Path):
    """`trainlab ui` on a free loopback port: (the URL it printed, its process)."""
    port = free_port()
    # One uvicorn worker and no job runners: the runs page needs neither (MLflow's defaults
    # start 4 workers and ~7 job-consumer processes).
    env = os.environ | {"MLFLOW_WORKERS": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "trainlab.cli", "ui", "--port", str(port)], cwd=searched,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = server.stdout.readline().split(": ", 1)[1].split()[0]
        wait_for_server(f"http://127.0.0.1:{port}/health", server)
        yield url, server
    finally:
        server.send_signal(signal.SIGTERM)  # trainlab stops `mlflow ui` and its workers
        server.communicate()


def test_runs_page_lists_the_parent_run_with_source_and_dataset(searched, ui, tmp_path):
    url, server = ui
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.get_experiment_by_name("tests")
    assert url == (f"http://127.0.0.1:{url.split(':')[2].split('/')[0]}/#/experiments/"
                   f"{experiment.experiment_id}/runs?workflowType=machine_learning")
    [parent] = client.search_runs([experiment.experiment_id], "tags.`trainlab.kind` = 'search'")
    width, height = WINDOW
    # The table renders only the columns that fit the window: a wide one shows the defaults
    # (Run Name, Created, Dataset, Duration, Source, Models).
    page = chromium(tmp_path, f"--window-size={width},{height}", "--virtual-time-budget=20000",
                    "--dump-dom", url).stdout
    assert "<title>Runs - Experiment" in page  # the runs page, not the GenAI overview
    parser = RunCells()
    parser.feed(page)
    cells = {col: text for (row, col), text in parser.cells.items()
             if row == parent.info.run_id}
    # after its colour: the parent run of one configuration is `<study>@<config_id>`
    assert cells["attributes.`Run Name`"].endswith(f" {parent.info.run_name}")
    assert parent.info.run_name.startswith("browser-grid@")
    source = Path(parent.data.tags["mlflow.source.name"]).name
    assert source == "cli.py"  # `python -m trainlab.cli`: the module's file
    assert cells["attributes.`Source`"] == source
    fingerprint = load_prepared("data/prepared").fingerprint
    assert f"digits ({fingerprint})" in cells["attributes.`Dataset`"]

    shot = tmp_path / "runs.png"
    chromium(tmp_path, f"--window-size={width},{height}", "--virtual-time-budget=20000",
             f"--screenshot={shot}", url)
    data = shot.read_bytes()
    assert png_size(data) == WINDOW
    assert len(data) > 30_000  # a rendered table, not a blank page
    shutil.copyfile(shot, SCREENSHOT)
    assert server.poll() is None  # the UI served every request
