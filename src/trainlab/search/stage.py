"""`trainlab search`: the coordinator (and `--worker`) of the Optuna search over recipes.

The coordinator opens or resumes the study and runs :class:`trainlab.search.pipeline.SearchRun`:
recover trials a killed run left RUNNING, queue every grid cell x seed not done yet (exactly
once), train them (itself, or `--workers N` local processes, or any `--worker` elsewhere on a
server database), race extra seeds for the cells it cannot yet tell apart from the leader
(:mod:`trainlab.search.racing`), then write the trial table, the cells' standings (intervals,
the set not distinguishable from the best), the summary and the top-k checkpoints, and log
them to the MLflow parent run of this configuration (one per `search_hash`: a changed
configuration gets its own). A `--worker` joins the study and trains queued trials.
"""

from __future__ import annotations

import argparse
import time

import optuna
from mlflow.tracking import MlflowClient

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.errors import ConfigError
from trainlab.models.custom import check_network, is_custom
from trainlab.search import runs
from trainlab.search.grid import base_config, search_hash
from trainlab.search.pipeline import Launch, Outputs, SearchRun, trial_context
from trainlab.search.study import (
    PARAMS_ATTR,
    PARENT_ATTR,
    SearchStudy,
    create_or_load,
    join,
    make_pruner,
    open_storage,
)
from trainlab.search.workers import (
    StaleTrialHandler,
    die_with_coordinator,
    resolve_workers,
    work,
    worker_index,
)


def add_arguments_search(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-json", default=Outputs.summary, help="the search's summary")
    parser.add_argument("--metrics", default=Outputs.metrics,
                        help="DVC metrics file (numbers only)")
    parser.add_argument("--out-csv", default=Outputs.trials, help="trial table")
    parser.add_argument("--out-cells", default=Outputs.cells,
                        help="per cell: seeds, intervals, difference from the best")
    parser.add_argument(
        "--workers", type=_workers_arg, default=None, metavar="N",
        help="local worker processes (default search.workers); auto = as many as the device "
             "holds; 0 = only coordinate and wait for `--worker` processes elsewhere",
    )
    parser.add_argument(
        "--worker", action="store_true",
        help="join the study of search.study_name in search.storage and train queued trials "
             "until none is left (the coordinator queues them and writes the outputs)",
    )
    parser.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                        help="--worker: how long to wait for the coordinator to create the study")


def _workers_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--workers {text!r}: give a number of processes or auto") from None


def run_search(cfg: Config, args: argparse.Namespace) -> int:
    """Run the search of `cfg` (see the module docstring); returns the exit code."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # trainlab prints one line a trial
    requested = cfg.search.workers if args.workers is None else args.workers
    if requested != "auto" and int(requested) < 0:
        raise ConfigError(f"--workers = {requested} is not allowed: use 0 or more, or auto")
    base = base_config(cfg)
    data = None
    if is_custom(base.model.arch):
        # A user's network is checked on every activation of the grid before any database
        # opens; the checks need the data's image shape and classes.
        data = load_prepared(cfg.data.prepared_dir)
        check_network(base.model, data.image_shape, data.num_classes, base.grid.activation)
    client = runs.open_client(cfg)
    storage = open_storage(cfg.search, StaleTrialHandler(client, cfg.tracking.experiment))
    if data is None:
        data = load_prepared(cfg.data.prepared_dir)
    pruner = make_pruner(cfg, base.train.epochs)
    if args.worker:
        die_with_coordinator()  # before waiting for the study: a spawned worker never outlives it
        return _run_worker(base, data, client, join(storage, cfg, pruner, args.wait,
                                                    worker_index()), args.wait)
    started = time.perf_counter()
    launch = Launch(resolve_workers(requested, base, data), args.params, args.overrides)
    search = SearchRun(cfg, data, client, create_or_load(storage, cfg, pruner),
                       Outputs(args.out_json, args.metrics, args.out_csv, args.out_cells),
                       launch, started)
    result, parent = search.run()
    best, tally = result.best, result.trials
    assert best is not None  # SearchRun.run() raises when no trial completed
    print(f"search: {tally.complete} complete, {tally.pruned} pruned, {tally.fail} "
          f"failed: {tally.total} trials for {result.n_trials_expected} expected; "
          f"best {best.cell}#s{best.seed} "
          f"val {best.val_acc:.4f} test {best.test_acc:.4f} (configuration {search.config_id}, "
          f"MLflow parent run {parent})", flush=True)
    if result.best_set is not None:
        print(f"search: not distinguishable from the best at {result.confidence:.0%}: "
              f"{len(result.best_set.cells)} of {result.best_set.compared} cells "
              f"({', '.join(result.best_set.cells[:6])}"
              f"{', ...' if len(result.best_set.cells) > 6 else ''})", flush=True)
    return 0


def _run_worker(base: Config, data: PreparedData, client: MlflowClient,
                search_study: SearchStudy, wait: float) -> int:
    """`--worker`: train queued trials of the coordinator's study until none is left."""
    _check_same_params(search_study, search_hash(base, data.fingerprint))
    ctx = trial_context(base, data, client, search_study, search_study.study.user_attrs[
        PARENT_ATTR])
    # Started by hand (not spawned per round by a local coordinator): wait while the
    # coordinator may still queue racing rounds, up to --wait seconds idle.
    ran = work(ctx, search_study, label=f"search worker {search_study.name}",
               wait_for_more=wait if worker_index() is None else 0.0)
    print(f"search worker: trained {ran} trial(s); no queued trial left", flush=True)
    return 0


def _check_same_params(search_study: SearchStudy, mine: str) -> None:
    coordinator = search_study.study.user_attrs.get(PARAMS_ATTR)
    if coordinator != mine:
        raise ConfigError(
            f"this worker's params differ from those the coordinator of study "
            f"{search_study.name!r} queued (hash {mine} vs {coordinator}: recipe, grid, search "
            "or prepared data); "
            "run every worker with the coordinator's params.yaml and prepared data"
        )
