"""Workers: the loop that trains queued trials, heartbeats, recovery of lost trials, and the
local worker processes of `trainlab search --workers N`.

Every worker (the coordinator itself with one worker, a spawned local process, or
`trainlab search --worker` on another machine) runs :func:`work` on the same study. A trial
that stops without telling Optuna (kill -9, a lost machine) is recovered: on a local SQLite
study by the next coordinator start, on a server database by whichever worker sees its
heartbeat go stale. Recovery fails the trial ("interrupted"), ends its MLflow run KILLED and
queues its work again.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import optuna
import torch
from mlflow.tracking import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData
from trainlab.models.device import resolve_device
from trainlab.progress import remaining
from trainlab.search.capacity import auto_workers, free_bytes, trial_bytes, wait_for_memory
from trainlab.search.objective import TrialContext, run_trial
from trainlab.search.runs import kill_children, kill_runs
from trainlab.search.study import (
    OPEN_ATTR,
    OUTCOME_ATTR,
    SearchStudy,
    cell_key,
    claim_next,
    fail_running,
    fail_stale,
    requeue,
    wait_while_running,
)
from trainlab.training.recipe import build_module

COORDINATOR_ENV = "TRAINLAB_SEARCH_COORDINATOR"  # pid of the coordinator of a spawned worker
INDEX_ENV = "TRAINLAB_SEARCH_WORKER"  # 1.. for the local worker processes a coordinator spawns
STOP_TIMEOUT_S = 120  # how long an interrupted coordinator waits for its workers to stop
POLL_S = 5.0  # seconds between checks while other workers hold the last trials


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# --- the worker loop ----------------------------------------------------------------------
def work(ctx: TrialContext, search_study: SearchStudy, label: str = "search",
         wait_for_more: float = 0.0) -> int:
    """Train trials until none is left for this study; returns how many this worker ran.

    `wait_for_more` seconds: with the queue empty, keep polling that long while the
    coordinator has the study open (it may queue another racing round).
    """
    ran = 0
    poll = min(POLL_S, float(ctx.base.search.heartbeat_interval))
    device = resolve_device(ctx.base.train.device)
    need = trial_need(ctx.base, ctx.data, device)
    idle_since = None
    while True:
        fail_stale(search_study)  # a dead worker's trial is queued again before we look
        trial = next_trial(ctx, search_study)
        if trial is None:
            if wait_while_running(search_study, poll):  # others still hold trials: they may die
                continue
            idle_since = idle_since or time.monotonic()
            if (search_study.study.user_attrs.get(OPEN_ATTR)
                    and time.monotonic() - idle_since < wait_for_more):
                time.sleep(poll)
                continue
            return ran
        idle_since = None
        with heartbeat(search_study, trial.number):
            # A trial that does not fit in the device's free memory waits for one that ends.
            prefix = f"{label}: trial {trial.number}"
            wait_for_memory(need, lambda: free_bytes(device), functools.partial(_say, prefix))
            state = run_trial(ctx, trial)
        ran += 1
        print(f"{label}: {progress(search_study, ctx.base_hash)} "
              f"{describe(search_study, trial.number, state)}", flush=True)


def _say(prefix: str, text: str) -> None:
    print(f"{prefix} {text}", flush=True)


def trial_need(cfg: Config, data: PreparedData, device: torch.device) -> int:
    """Device bytes a trial of this search needs (the base recipe's network; a rough bound)."""
    module = build_module(cfg, data)
    return trial_bytes(cfg, data, sum(p.numel() for p in module.parameters()), device)


def resolve_workers(requested: int | str, cfg: Config, data: PreparedData) -> int:
    """`search.workers` as a number: `auto` asks the device (trainlab.search.capacity)."""
    if requested != "auto":
        return int(requested)
    device = resolve_device(cfg.train.device)
    need = trial_need(cfg, data, device)
    workers = auto_workers(device, usable_cores(), free_bytes(device) or 0, need)
    print(f"search: search.workers = auto: {workers} on {device.type} "
          f"({need / 2**20:.0f} MiB a trial, {usable_cores()} cores)", flush=True)
    return workers


def next_trial(ctx: TrialContext, search_study: SearchStudy) -> optuna.Trial | None:
    """The next queued trial; for tpe a new sampled one while fewer than n_trials count."""
    trial = claim_next(search_study)
    search = ctx.base.search
    if trial is not None or search.sampler != "tpe":
        return trial
    current = [t for t in search_study.trials() if t.user_attrs.get("base_hash") == ctx.base_hash]
    held = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
               for t in current)
    diverged = sum(t.user_attrs.get(OUTCOME_ATTR) == "diverged" for t in current)
    if held >= search.n_trials:
        return None
    if diverged >= search.n_trials:
        print(f"search: {diverged} tpe trials diverged (NaN loss); stopping before "
              f"{search.n_trials} trials finished: narrow search.lr or search.strength",
              flush=True)
        return None
    with warnings.catch_warnings():  # ask() warns that heartbeats are optimize()'s: we beat
        warnings.simplefilter("ignore", UserWarning)
        return search_study.study.ask()


def progress(search_study: SearchStudy, base_hash: str) -> str:
    """'[k/N, ~12 min left]': the configuration's (cell, seed)s finished and in all (a racing
    round adds to N), the time left from their mean seconds, as many at once as run now."""
    current = [t for t in search_study.trials() if t.user_attrs.get("base_hash") == base_hash]
    pending = {cell_key(t.user_attrs) for t in current if not t.state.is_finished()}
    finished = {cell_key(t.user_attrs) for t in current if t.state.is_finished()} - pending
    seconds = [t.user_attrs["seconds"] for t in current
               if t.state.is_finished() and isinstance(t.user_attrs.get("seconds"), float)]
    running = sum(t.state == TrialState.RUNNING for t in current)
    left = (remaining(sum(seconds) / len(seconds), len(pending), running + 1) if seconds
            else "time left unknown")
    return f"[{len(finished)}/{len(finished) + len(pending)}, {left}]"


def describe(search_study: SearchStudy, number: int, state: TrialState) -> str:
    attrs = search_study.study.get_trials(deepcopy=False)[number].user_attrs
    parts = [f"trial {number} {attrs.get('cell')}#s{attrs.get('seed')}: {state.name}"]
    for key in ("val_acc", "test_acc"):
        if isinstance(attrs.get(key), float):
            parts.append(f"{key.replace('_acc', '')} {attrs[key]:.4f}")
    if "fail_reason" in attrs:
        parts.append(attrs["fail_reason"][:120])
    if "seconds" in attrs:
        parts.append(f"({attrs['seconds']:.1f} s)")
    return " ".join(parts)


@contextlib.contextmanager
def heartbeat(search_study: SearchStudy, number: int) -> Iterator[None]:
    """Record the trial's heartbeat every `heartbeat_interval` seconds while it runs."""
    trial_id = search_study.trial_id(number)
    interval = search_study.storage.get_heartbeat_interval() or 0
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed beat is retried; never crash
                search_study.storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{number}", daemon=True)
    if interval:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if interval:
            thread.join()


# --- recovery -----------------------------------------------------------------------------
class StaleTrialHandler:
    """Optuna's callback for a trial whose heartbeat stopped: end its run KILLED, queue again.

    The study is not known when the storage is built, so the parent run id is read from it.
    """

    def __init__(self, client: MlflowClient, experiment: str) -> None:
        self.client = client
        self.experiment = experiment

    def __call__(self, study: optuna.Study, frozen: FrozenTrial) -> None:
        kill_runs(self.client, self.experiment, study.study_name, frozen)
        requeue(study, frozen)
        print(f"search: trial {frozen.number} ({frozen.user_attrs.get('cell')}) lost its worker "
              "(no heartbeat); queued again", flush=True)


def recover_local(search_study: SearchStudy, client: MlflowClient, experiment: str,
                  parent_run_id: str | None) -> list[int]:
    """On a local study nobody else can be running: every RUNNING trial was interrupted.

    Fails them, ends their MLflow runs (and any RUNNING child run of the parent) KILLED, and
    queues their work again. Returns the recovered trial numbers.
    """
    recovered = []
    for frozen in search_study.trials([TrialState.RUNNING]):
        if fail_running(search_study, frozen, "interrupted (the process stopped: kill -9, crash or "
                                    "power loss)"):
            kill_runs(client, experiment, search_study.name, frozen)
            requeue(search_study.study,
                    search_study.study.get_trials(deepcopy=False)[frozen.number])
            recovered.append(frozen.number)
    if parent_run_id:
        kill_children(client, experiment, parent_run_id)
    return recovered


# --- local worker processes ---------------------------------------------------------------
def spawn(params: str, overrides: Sequence[str], count: int, threads: int | None) -> list[Any]:
    """Start `count` `trainlab search --worker` processes on this study.

    Each runs in its own session, so a terminal Ctrl-C reaches only the coordinator, which
    passes one SIGINT on (a second one would interrupt a worker's clean-up).
    """
    command = [sys.executable, "-m", "trainlab.cli", "search", "--worker", "--params", params]
    for override in overrides:
        command += ["--set", override]
    if threads is not None:
        command += ["--set", f"train.threads={threads}"]
    env = os.environ | {COORDINATOR_ENV: str(os.getpid())}
    return [
        subprocess.Popen(command, env=env | {INDEX_ENV: str(index)}, start_new_session=True)
        for index in range(1, count + 1)
    ]


def supervise(processes: Sequence[subprocess.Popen]) -> list[int]:
    """Wait for the workers; on Ctrl-C/SIGTERM stop them cleanly (SIGINT), then re-raise."""
    try:
        return [process.wait() for process in processes]
    except KeyboardInterrupt:
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT,
                                                                        signal.SIGTERM)}
        try:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for process in processes:
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        raise


def worker_index() -> int | None:
    """This process's index among its coordinator's local workers; None if started by hand."""
    index = os.environ.get(INDEX_ENV)
    return int(index) if index and index.isdigit() else None


def die_with_coordinator() -> None:
    """A spawned worker gets SIGTERM (a clean interrupt) when its coordinator dies (Linux)."""
    coordinator = os.environ.get(COORDINATOR_ENV)
    if not coordinator or not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(coordinator):
        raise KeyboardInterrupt("the coordinator stopped before this worker started")
