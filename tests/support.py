"""Helpers several test modules share (importable as `support`: pytest's `pythonpath`)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import sqlalchemy
from mlflow.tracking import MlflowClient
from PIL import Image

from trainlab.databases import absolute_uri

# The server `make postgres` (scripts/postgres.sh) starts on loopback for the tests.
POSTGRES = "postgresql+psycopg2://trainlab:trainlab@127.0.0.1:5432/trainlab_test"


def postgres_or_skip() -> None:
    try:
        with sqlalchemy.create_engine(POSTGRES).connect():
            pass
    except Exception as err:  # no server, no role: `make postgres` starts one
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(err).__name__})")


def files(root: Path) -> dict[str, str]:
    """sha256 of every file under models/ and reports/, by path."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in ("models", "reports") for path in sorted((root / folder).rglob("*"))
            if path.is_file()}


def runs(params: dict) -> dict[str, Any]:
    """Every MLflow run of the project, by id (read with a fresh client: the database reads)."""
    client = MlflowClient(absolute_uri(params["tracking"]["uri"]))
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    return {r.info.run_id: r for r in client.search_runs([experiment.experiment_id])}


T = TypeVar("T")

# The hold point (tests/hold): Lightning loads its callback into every Trainer of a process
# whose PYTHONPATH holds this folder. Loaded here by file, not put on this process's path,
# so that no training inside the test process itself can ever hold.
HOLD = Path(__file__).parent / "hold"
_spec = importlib.util.spec_from_file_location("trainlab_test_hold", HOLD / "trainlab_test_hold.py")
hold = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hold)


def hold_env(folder: Path, spec: str | None = None) -> dict[str, str]:
    """This process's environment for a command that holds at `spec` ("FIT:EPOCH", see
    tests/hold/trainlab_test_hold.py), writing its marker into `folder`."""
    path = os.pathsep.join(p for p in (str(HOLD), os.environ.get("PYTHONPATH")) if p)
    env = os.environ | {"PYTHONPATH": path, hold.FOLDER: str(folder)}
    if spec is not None:
        hold.parse(spec)  # a typo fails here, not as a process that never holds
        env[hold.SPEC] = spec
    return env


def held(folder: Path) -> dict[int, dict[str, Any]]:
    """The processes holding now (or killed while holding), by pid: their markers."""
    return {int(path.stem): json.loads(path.read_text()) for path in folder.glob("*.json")}


def release(folder: Path, pid: int) -> None:
    """Let a held process go on (SIGUSR1); its marker is removed first."""
    (folder / f"{pid}.json").unlink()
    os.kill(pid, signal.SIGUSR1)


def wait_until(condition: Callable[[], T], *processes: subprocess.Popen, what: str) -> T:
    """Poll `condition()` until it returns something true, and return that.

    No deadline: how long a state takes to arrive is the machine's business, and pytest-timeout
    (pyproject.toml) fails a test that never gets there. It fails at once, with the process's
    output, when one of `processes` exits first: the state it waits for will never come.
    """
    while True:
        exited = [process for process in processes if process.poll() is not None]
        if result := condition():  # after the poll: a state reached just before exiting counts
            return result
        if exited:
            log, pipe = getattr(exited[0], "log_path", None), exited[0].stdout
            output = Path(log).read_text() if log else pipe.read() if pipe else ""
            raise AssertionError(f"process {exited[0].pid} exited with {exited[0].returncode} "
                                 f"before {what}:\n{output}")
        time.sleep(0.02)


def wait_for_server(url: str, process: subprocess.Popen) -> bytes:
    """Wait until the server `process` started answers `url` (see wait_until); the body."""
    def answer() -> bytes | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read() or b" "
        except OSError:  # not listening yet, or not ready
            return None

    return wait_until(answer, process, what=f"{url} answering")


# Debian's headless Chromium (`make chromium`), for the pages the tests render or serve.
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make chromium)"),
]
# Headless and offline: without the background-networking flags Chromium tries to connect
# out at start-up, which a closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium with a fresh profile under tmp_path (no state carried between calls)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def console_lines(stderr: str) -> list[str]:
    """Messages the page wrote to the console (errors, CSP violations): Chromium logs them
    as `...:CONSOLE:12] "message"` (or `CONSOLE(12)`) with --enable-logging."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, from its IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_digits_folder(
    root: Path,
    classes: int = 3,
    per_class: int = 20,
    sizes: tuple[int, ...] = (32,),
    mode: str = "RGB",
) -> Path:
    """root/<digit>/<i>.png from scikit-learn's digits, upscaled; returns root.

    Image i of a class is sizes[i % len(sizes)] pixels square. "RGB" images are coloured
    (R = ink, G = ink / 2, B = 255 - ink), so no channel repeats another; "L" ones are gray.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    ink = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
    for digit in range(classes):
        folder = root / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        for i, pixels in enumerate(ink[bunch.target == digit][:per_class]):
            array = np.stack([pixels, pixels // 2, 255 - pixels], -1) if mode == "RGB" else pixels
            side = sizes[i % len(sizes)]
            image = Image.fromarray(array).resize((side, side), Image.Resampling.NEAREST)
            image.save(folder / f"{i}.png")
    return root
