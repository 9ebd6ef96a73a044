"""`trainlab search`: the coordinator (and `--worker`) of the Optuna search over recipes.

The coordinator opens or resumes the study, recovers trials a killed run left RUNNING, queues
every grid cell x seed not done yet (exactly once), trains them (itself, or `--workers N`
local processes, or any `--worker` elsewhere on a server database), races extra seeds for
the cells it cannot yet tell apart from the leader (:mod:`trainlab.search.racing`), then writes
the trial table, the cells' standings (intervals, the set not distinguishable from the best),
the summary and the top-k checkpoints, and logs them to the MLflow parent run of this
configuration (one per `search_hash`: a changed configuration gets its own).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient

from trainlab.config import Config, StatsConfig
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.errors import ConfigError, TrainingError
from trainlab.registry import ALIAS, example_images, register
from trainlab.search import outputs, racing, runs
from trainlab.search.grid import (
    base_config,
    grid_cells,
    handout_order,
    recipe_hash,
    search_hash,
    trial_config,
)
from trainlab.search.objective import TrialContext
from trainlab.search.results import RaceSummary, SearchSummary, TrialRow
from trainlab.search.standings import cell_standings
from trainlab.search.study import (
    OPEN_ATTR,
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
    resolve_workers,
    spawn,
    supervise,
    usable_cores,
    work,
    worker_index,
)
from trainlab.stagefile import write_dvc_metrics
from trainlab.tracking_inputs import log_dataset

PARAMS_ATTR = "trainlab.params_hash"  # study user attr: what workers must agree on


def add_arguments_search(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-json", default="reports/search.json", help="the search's summary")
    parser.add_argument("--metrics", default="metrics/search.json",
                        help="DVC metrics file (numbers only)")
    parser.add_argument("--out-csv", default="reports/search_trials.csv", help="trial table")
    parser.add_argument("--out-cells", default="reports/search_cells.csv",
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
    client = runs.open_client(cfg)
    storage = open_storage(cfg.search, StaleTrialHandler(client, cfg.tracking.experiment))
    data = load_prepared(cfg.data.prepared_dir)
    pruner = make_pruner(cfg, base.train.epochs)
    if args.worker:
        die_with_coordinator()
        search_study = join(storage, cfg, pruner, args.wait, worker_index())
        _check_same_params(search_study, search_hash(base, data.fingerprint))
        ctx = _context(base, data, client, search_study, search_study.study.user_attrs[PARENT_ATTR])
        # Started by hand (not spawned per round by a local coordinator): wait while the
        # coordinator may still queue racing rounds, up to --wait seconds idle.
        ran = work(ctx, search_study, label=f"search worker {search_study.name}",
                   wait_for_more=args.wait if worker_index() is None else 0.0)
        print(f"search worker: trained {ran} trial(s); no queued trial left", flush=True)
        return 0
    started = time.perf_counter()
    workers = resolve_workers(requested, base, data)
    search_study = create_or_load(storage, cfg, pruner)
    config_id = search_hash(base, data.fingerprint)
    with runs.parent(client, cfg, search_study, config_id) as parent:
        log_dataset(client, parent, data, base.data.prepared_dir)  # on resume: a no-op
        search_study.study.set_user_attr(OPEN_ATTR, True)  # `--worker`s wait for more rounds
        try:
            result = _coordinate(base, data, client, search_study, parent, args, workers,
                                 started, config_id, cfg.stats)
        finally:
            search_study.study.set_user_attr(OPEN_ATTR, False)
    best, tally = result.best, result.trials
    print(f"search: {tally.complete} complete, {tally.pruned} pruned, {tally.fail} "
          f"failed: {tally.total} trials for {result.n_trials_expected} expected; "
          f"best {best.cell}#s{best.seed} "
          f"val {best.val_acc:.4f} test {best.test_acc:.4f} (configuration {config_id}, "
          f"MLflow parent run {parent})", flush=True)
    if result.best_set is not None:
        print(f"search: not distinguishable from the best at {result.confidence:.0%}: "
              f"{len(result.best_set.cells)} of {result.best_set.compared} cells "
              f"({', '.join(result.best_set.cells[:6])}"
              f"{', ...' if len(result.best_set.cells) > 6 else ''})", flush=True)
    return 0


def _coordinate(base: Config, data: PreparedData, client: MlflowClient, search_study: SearchStudy,
                parent: str, args: argparse.Namespace, workers: int, started: float,
                config_id: str, stats: StatsConfig) -> SearchSummary:
    """Queue, train, race, write the outputs; the summary. Raises TrainingError if work is
    left."""
    _recover(base, client, search_study, parent)
    rounds = racing.stored_rounds(search_study, config_id)
    pairs = _grid_pairs(base) + racing.round_pairs(base, rounds)  # a resume replays the rounds
    expected = _queue(base, data, search_study, pairs)
    search_study.study.set_user_attr(PARAMS_ATTR, config_id)
    search_study.study.set_user_attr(READY_ATTR, True)
    ctx = _context(base, data, client, search_study, parent)
    failed_workers = _train(ctx, search_study, args, workers)
    stopped = ""
    while base.search.sampler == "grid" and base.search.race.enabled and not failed_workers:
        if len(rounds) >= base.search.race.max_rounds:
            stopped = f"search.race.max_rounds = {base.search.race.max_rounds} reached"
            break
        decision = racing.decide(base, _rows(search_study, expected), stats.confidence)
        if decision is None or not decision.selected:
            stopped = "every cell is told apart from the leader on validation"
            break
        rounds = racing.store_round(search_study, config_id, decision)
        seeds = racing.round_seeds(base, len(rounds) - 1)
        print(f"search: racing round {len(rounds)}: {len(decision.unresolved)} cell(s) not yet "
              f"told apart from the leader {decision.leader} on validation; "
              f"{len(decision.selected)} of them (leader included) train seed(s) {seeds}: "
              f"{', '.join(decision.selected)}", flush=True)
        expected |= _queue(base, data, search_study, racing.round_pairs(base, rounds))
        failed_workers += _train(ctx, search_study, args, workers)
    race = (racing.summary(base, rounds, stopped or "stopped by failed workers")
            if base.search.sampler == "grid" and base.search.race.enabled else None)
    result = _write_outputs(ctx, search_study, args, expected, time.perf_counter() - started,
                            config_id, stats, race, racing.raced_seeds(base, rounds))
    if failed_workers:
        raise TrainingError(
            f"{len(failed_workers)} worker process(es) stopped with an error (exit codes "
            f"{failed_workers}, printed above); finished trials are kept, rerun to resume"
        )
    if result.best is None:
        raise TrainingError(
            f"no trial of study {search_study.name!r} completed ({result.trials}); see "
            f"{args.out_csv} for why, then rerun"
        )
    return result


def _context(base: Config, data: PreparedData, client: MlflowClient, search_study: SearchStudy,
             parent: str) -> TrialContext:
    return TrialContext(base, data, client, parent, search_study.name, Path(base.search.models_dir),
                        recipe_hash(base, data.fingerprint))


def _recover(base: Config, client: MlflowClient, search_study: SearchStudy, parent: str) -> None:
    """Trials a stopped run left RUNNING: failed as interrupted (their cells queued again)."""
    if search_study.local:
        recovered = recover_local(search_study, client, base.tracking.experiment, parent)
        if recovered:
            print(f"search: trial(s) {recovered} were left RUNNING by a stopped run: marked "
                  "FAIL (interrupted), their MLflow runs KILLED, their cells queued again",
                  flush=True)
    else:
        wait_while_running(search_study, 0.0)  # only fails trials whose heartbeat is stale


def _grid_pairs(base: Config) -> list[tuple[str, int]]:
    """(cell id, seed) of every grid cell x `search.repeats` seeds; none for tpe."""
    if base.search.sampler != "grid":
        return []
    seeds = range(base.seed, base.seed + base.search.repeats)
    return [(cell.id, seed) for cell in grid_cells(base.grid) for seed in seeds]


def _queue(base: Config, data: PreparedData, search_study: SearchStudy,
           pairs: list[tuple[str, int]]) -> set[tuple[str, int, str]]:
    """Enqueue each (cell, seed) not done or held yet, exactly once; their keys."""
    cells = {cell.id: cell for cell in grid_cells(base.grid)}
    expected: dict[tuple[str, int, str], dict] = {}
    for cell_id, seed in pairs:
        cell = cells[cell_id]
        cfg = trial_config(base, base.grid, cell, seed)
        attrs = {"cell": cell.id, "seed": seed, **cell.params(),
                 "recipe_hash": recipe_hash(cfg, data.fingerprint),
                 "base_hash": recipe_hash(base, data.fingerprint)}
        expected[cell_key(attrs)] = {"params": cell.params() | {"seed": seed},
                                     "user_attrs": attrs}
    if not expected:
        return set()
    trials = search_study.trials()
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
        search_study.study.enqueue_trial(**job)
    print(f"search: study {search_study.name!r} in {redact(base.search.storage)}: "
          f"{len(expected)} grid trials, {len(expected) - len(missing)} already done or "
          f"held, {len(missing)} queued", flush=True)
    return set(expected)


def _rows(search_study: SearchStudy, expected: set[tuple[str, int, str]]) -> list[TrialRow]:
    return outputs.trial_rows([t for t in search_study.trials()
                               if cell_key(t.user_attrs) in expected])


def _check_same_params(search_study: SearchStudy, mine: str) -> None:
    coordinator = search_study.study.user_attrs.get(PARAMS_ATTR)
    if coordinator != mine:
        raise ConfigError(
            f"this worker's params differ from those the coordinator of study "
            f"{search_study.name!r} queued (hash {mine} vs {coordinator}: recipe, grid, search "
            "or prepared data); "
            "run every worker with the coordinator's params.yaml and prepared data"
        )


def _train(ctx: TrialContext, search_study: SearchStudy, args: argparse.Namespace,
           workers: int) -> list[int]:
    """Train until the queue is empty; the exit codes of worker processes that failed."""
    if workers == 1:
        work(ctx, search_study)
        return []
    if workers > 1:
        threads = None if ctx.base.train.threads else max(1, usable_cores() // workers)
        print(f"search: {workers} local workers, {threads or ctx.base.train.threads} torch "
              "thread(s) each", flush=True)
        codes = supervise(spawn(args.params, args.overrides, workers, threads))
        return [code for code in codes if code != 0]
    print("search: waiting for `trainlab search --worker` processes to train the queue",
          flush=True)
    while wait_while_running(search_study, 5.0):
        pass
    return []


def _write_outputs(ctx: TrialContext, search_study: SearchStudy, args: argparse.Namespace,
                   expected: set[tuple[str, int, str]], wall: float, config_id: str,
                   stats: StatsConfig, race: RaceSummary | None,
                   raced: dict[str, int]) -> SearchSummary:
    search = ctx.base.search
    if search.sampler == "grid":
        trials = [t for t in search_study.trials() if cell_key(t.user_attrs) in expected]
    else:
        trials = [t for t in search_study.trials()
                  if t.user_attrs.get("base_hash") == ctx.base_hash]
    rows = outputs.trial_rows(trials)
    correct = outputs.test_correctness(rows, ctx.client, len(ctx.data.test))
    standings, best_set = cell_standings(rows, correct, stats.confidence, stats.resamples,
                                         raced, seed=ctx.base.seed)
    n_cells = len(grid_cells(ctx.base.grid))
    result = outputs.summary(
        rows, outputs.counts(trials), study=search_study.name, sampler=search.sampler,
        n_cells=n_cells,
        n_trials_expected=len(expected) if search.sampler == "grid" else search.n_trials,
        wall_seconds=round(wall, 3), parent_run_id=ctx.parent_run_id,
        train_seconds=round(sum(row.seconds or 0.0 for row in rows), 3),
        config_id=config_id, confidence=stats.confidence, best_set=best_set, race=race,
    )
    members = outputs.keep_top_k(rows, search.top_k, search.models_dir, ctx.client)
    files = [outputs.write_csv(args.out_csv, rows), outputs.write_json(args.out_json, result),
             outputs.write_cells(args.out_cells, standings)]
    write_dvc_metrics(args.metrics, result.metrics())
    outputs.write_manifest(search.models_dir, search_study.name, ctx.parent_run_id, search.top_k,
                           members)
    runs.log_parent(ctx.client, ctx.parent_run_id, result, files)
    if ctx.base.tracking.register_models and members:
        version = register(ctx.client, ctx.parent_run_id, f"{ctx.base.tracking.experiment}-recipe",
                           [members[0].checkpoint], example_images(ctx.data))
        print(f"search: best recipe registered as MLflow model "
              f"{ctx.base.tracking.experiment}-recipe version {version} ({ALIAS})", flush=True)
    return result
