"""`trainlab search`: the coordinator (and `--worker`) of the Optuna search over recipes.

The coordinator opens or resumes the study, recovers trials a killed run left RUNNING, queues
every grid cell x seed not done yet (exactly once), trains them (itself, or `--workers N`
local processes, or any `--worker` elsewhere on a server database), then writes the trial
table, the summary and the top-k checkpoints, and logs them to one MLflow parent run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import optuna
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from trainlab.config import Config
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.errors import ConfigError, TrainingError
from trainlab.provenance import provenance_tags
from trainlab.search import outputs
from trainlab.search.grid import (
    base_config,
    grid_cells,
    handout_order,
    recipe_hash,
    search_hash,
    trial_config,
)
from trainlab.search.objective import TrialContext
from trainlab.search.study import (
    PARENT_ATTR,
    READY_ATTR,
    SearchStudy,
    cell_key,
    create_or_load,
    is_done,
    join,
    make_pruner,
    open_storage,
    redact,
    wait_while_running,
)
from trainlab.search.workers import (
    StaleTrialHandler,
    die_with_coordinator,
    recover_local,
    spawn,
    supervise,
    usable_cores,
    work,
    worker_index,
)
from trainlab.tracking import client_for, end_run, experiment_id, log_params, run_tags
from trainlab.tracking_inputs import log_dataset

SEARCH_KIND = "search"
PARAMS_ATTR = "trainlab.params_hash"  # study user attr: what workers must agree on


def add_arguments_search(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-json", default="reports/search.json", help="DVC metrics file")
    parser.add_argument("--out-csv", default="reports/search_trials.csv", help="trial table")
    parser.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="local worker processes (default search.workers); 0 = only coordinate and wait "
             "for `--worker` processes elsewhere",
    )
    parser.add_argument(
        "--worker", action="store_true",
        help="join the study of search.study_name in search.storage and train queued trials "
             "until none is left (the coordinator queues them and writes the outputs)",
    )
    parser.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                        help="--worker: how long to wait for the coordinator to create the study")


def run_search(cfg: Config, args: argparse.Namespace) -> int:
    """Run the search of `cfg` (see the module docstring); returns the exit code."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # trainlab prints one line a trial
    workers = cfg.search.workers if args.workers is None else args.workers
    if workers < 0:
        raise ConfigError(f"--workers = {workers} is not allowed: use 0 or more")
    if not cfg.tracking.enabled:
        raise ConfigError(
            "tracking.enabled = false is not allowed for the search: every trial is an MLflow "
            "run under the search's parent run; set tracking.enabled: true"
        )
    base = base_config(cfg)
    client = client_for(cfg.tracking)
    storage = open_storage(cfg.search, StaleTrialHandler(client, cfg.tracking.experiment))
    data = load_prepared(cfg.data.prepared_dir)
    pruner = make_pruner(cfg, base.train.epochs)
    if args.worker:
        die_with_coordinator()
        ss = join(storage, cfg, pruner, args.wait, worker_index())
        _check_same_params(ss, search_hash(base, data.fingerprint))
        ctx = _context(base, data, client, ss, ss.study.user_attrs[PARENT_ATTR])
        ran = work(ctx, ss, label=f"search worker {ss.name}")
        print(f"search worker: trained {ran} trial(s); no queued trial left", flush=True)
        return 0
    started = time.perf_counter()
    ss = create_or_load(storage, cfg, pruner)
    parent = parent_run(client, cfg, ss)
    log_dataset(client, parent, data, cfg.data.prepared_dir)  # again on resume: a no-op
    try:
        result = _coordinate(base, data, client, ss, parent, args, workers, started)
    except KeyboardInterrupt:
        end_run(client, parent, "KILLED", "killed")
        raise
    except BaseException as err:
        end_run(client, parent, "FAILED", "failed", reason=f"{type(err).__name__}: {err}")
        raise
    end_run(client, parent, "FINISHED", "finished")
    best, tally = result["best"], result["trials"]
    print(f"search: {tally['complete']} complete, {tally['pruned']} pruned, {tally['fail']} "
          f"failed: {tally['total']} trials for {result['n_trials_expected']} expected; "
          f"best {best['cell']}#s{best['seed']} "
          f"val {best['val_acc']:.4f} test {best['test_acc']:.4f} (MLflow parent run {parent})",
          flush=True)
    return 0


def _coordinate(base: Config, data: PreparedData, client: MlflowClient, ss: SearchStudy,
                parent: str, args: argparse.Namespace, workers: int, started: float) -> dict:
    """Queue, train, write the outputs; the summary. Raises TrainingError if work is left."""
    expected = _prepare_queue(base, data, client, ss, parent)
    ctx = _context(base, data, client, ss, parent)
    failed_workers = _train(ctx, ss, args, workers)
    if ss.local and workers > 1:  # every local worker has exited: RUNNING ones are orphans
        recover_local(ss, client, base.tracking.experiment, parent)
    result = _write_outputs(ctx, ss, args, expected, time.perf_counter() - started)
    if failed_workers:
        raise TrainingError(
            f"{len(failed_workers)} worker process(es) stopped with an error (exit codes "
            f"{failed_workers}, printed above); finished trials are kept, rerun to resume"
        )
    if result["best"] is None:
        raise TrainingError(
            f"no trial of study {ss.name!r} completed ({result['trials']}); see "
            f"{args.out_csv} for why, then rerun"
        )
    return result


def _context(base: Config, data: PreparedData, client: MlflowClient, ss: SearchStudy,
             parent: str) -> TrialContext:
    return TrialContext(base, data, client, parent, ss.name, Path(base.search.models_dir),
                        recipe_hash(base, data.fingerprint))


def parent_run(client: MlflowClient, cfg: Config, ss: SearchStudy) -> str:
    """The study's MLflow parent run, set RUNNING again on resume; created on first use."""
    exp = experiment_id(client, cfg.tracking.experiment)
    run_id = ss.study.user_attrs.get(PARENT_ATTR)
    if run_id:
        try:
            run = client.get_run(run_id)
            if run.info.lifecycle_stage == "active" and run.info.experiment_id == exp:
                client.update_run(run_id, status="RUNNING")
                return run_id
        except MlflowException:
            pass  # the tracking database was reset: start a new parent run
    tags = provenance_tags() | {"trainlab.study": ss.name, "trainlab.kind": SEARCH_KIND,
                                "optuna.storage": redact(cfg.search.storage)}
    run_id = client.create_run(exp, run_name=ss.name, tags=run_tags(tags)).info.run_id
    params = cfg.flat("search")
    params["search.storage"] = redact(cfg.search.storage)
    grid = cfg.grid
    params |= {"grid.activation": list(grid.activation),
               "grid.regularization": list(grid.regularization),
               "grid.augmentation": list(grid.augmentation),
               "grid.preprocessing": list(grid.preprocessing or []),
               "grid.n_cells": len(grid_cells(grid))}
    log_params(client, run_id, params)
    ss.study.set_user_attr(PARENT_ATTR, run_id)
    return run_id


def _prepare_queue(base: Config, data: PreparedData, client: MlflowClient, ss: SearchStudy,
                   parent: str) -> set[tuple[str, int, str]]:
    """Recover interrupted trials, queue every missing grid cell x seed; the expected keys."""
    if ss.local:
        recovered = recover_local(ss, client, base.tracking.experiment, parent)
        if recovered:
            print(f"search: trial(s) {recovered} were left RUNNING by a stopped run: marked "
                  "FAIL (interrupted), their MLflow runs KILLED, their cells queued again",
                  flush=True)
    else:
        wait_while_running(ss, 0.0)  # only fails trials whose heartbeat is stale
    expected: dict[tuple[str, int, str], dict] = {}
    if base.search.sampler == "grid":
        seeds = range(base.seed, base.seed + base.search.repeats)
        for cell in grid_cells(base.grid):
            for seed in seeds:
                cfg = trial_config(base, base.grid, cell, seed)
                attrs = {"cell": cell.id, "seed": seed, **cell.params(),
                         "recipe_hash": recipe_hash(cfg, data.fingerprint),
                         "base_hash": recipe_hash(base, data.fingerprint)}
                expected[cell_key(attrs)] = {"params": cell.params() | {"seed": seed},
                                             "user_attrs": attrs}
        trials = ss.trials()
        taken = {cell_key(t.user_attrs) for t in trials
                 if is_done(t, base.search.pruner) or not t.state.is_finished()}
        # The latest interrupted attempt of each cell (Ctrl-C), for the record of the retry.
        retry_of = {cell_key(t.user_attrs): t.number for t in trials if t.state.is_finished()}
        missing = [key for key in expected if key not in taken]
        missing = handout_order(missing, base.search.order, base.seed)
        for key in missing:
            job = expected[key]
            if key in retry_of:
                job["user_attrs"] |= {"retry_of": retry_of[key]}
            ss.study.enqueue_trial(**job)
        print(f"search: study {ss.name!r} in {redact(base.search.storage)}: "
              f"{len(expected)} grid trials, {len(expected) - len(missing)} already done or "
              f"held, {len(missing)} queued", flush=True)
    ss.study.set_user_attr(PARAMS_ATTR, search_hash(base, data.fingerprint))
    ss.study.set_user_attr(READY_ATTR, True)
    return set(expected)


def _check_same_params(ss: SearchStudy, mine: str) -> None:
    coordinator = ss.study.user_attrs.get(PARAMS_ATTR)
    if coordinator != mine:
        raise ConfigError(
            f"this worker's params differ from those the coordinator of study {ss.name!r} "
            f"queued (hash {mine} vs {coordinator}: recipe, grid, search or prepared data); "
            "run every worker with the coordinator's params.yaml and prepared data"
        )


def _train(ctx: TrialContext, ss: SearchStudy, args: argparse.Namespace,
           workers: int) -> list[int]:
    """Train until the queue is empty; the exit codes of worker processes that failed."""
    if workers == 1:
        work(ctx, ss)
        return []
    if workers > 1:
        threads = None if ctx.base.train.threads else max(1, usable_cores() // workers)
        print(f"search: {workers} local workers, {threads or ctx.base.train.threads} torch "
              "thread(s) each", flush=True)
        codes = supervise(spawn(args.params, args.overrides, workers, threads))
        return [code for code in codes if code != 0]
    print("search: waiting for `trainlab search --worker` processes to train the queue",
          flush=True)
    while wait_while_running(ss, 5.0):
        pass
    return []


def _write_outputs(ctx: TrialContext, ss: SearchStudy, args: argparse.Namespace,
                   expected: set[tuple[str, int, str]], wall: float) -> dict:
    search = ctx.base.search
    if search.sampler == "grid":
        trials = [t for t in ss.trials() if cell_key(t.user_attrs) in expected]
    else:
        trials = [t for t in ss.trials() if t.user_attrs.get("base_hash") == ctx.base_hash]
    rows = outputs.trial_rows(trials)
    n_cells = len(grid_cells(ctx.base.grid))
    result = outputs.summary(
        rows, outputs.counts(trials), study=ss.name, sampler=search.sampler, n_cells=n_cells,
        n_trials_expected=len(expected) if search.sampler == "grid" else search.n_trials,
        wall_seconds=round(wall, 3), parent_run_id=ctx.parent_run_id,
        train_seconds=round(sum(row["seconds"] or 0.0 for row in rows), 3),
    )
    members = outputs.keep_top_k(rows, search.top_k, search.models_dir, ctx.client)
    files = [outputs.write_csv(args.out_csv, rows), outputs.write_json(args.out_json, result)]
    outputs.write_manifest(search.models_dir, ss.name, ctx.parent_run_id, search.top_k, members)
    outputs.log_parent(ctx.client, ctx.parent_run_id, result, files)
    return result
