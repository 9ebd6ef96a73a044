"""One coordinator run of the search, as its steps in order (:meth:`SearchRun.run`).

Recover what a stopped run left RUNNING, queue every grid cell x seed not done yet, train the
queue (here, in `--workers N` local processes, or in `--worker`s elsewhere), race extra seeds
for the cells not yet told apart from the leader, then write the trial table, the cells'
standings, the summary, the DVC metrics and the top-k checkpoints, and log them to the MLflow
parent run of this configuration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.tracking import MlflowClient

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData
from trainlab.errors import TrainingError
from trainlab.registry import ALIAS, example_images, register
from trainlab.search import ensemble_seeds, outputs, queueing, racing, runs
from trainlab.search.grid import base_config, grid_cells, recipe_hash, search_hash
from trainlab.search.objective import TrialContext
from trainlab.search.results import RaceSummary, SearchSummary
from trainlab.search.standings import cell_standings
from trainlab.search.study import (
    OPEN_ATTR,
    PARAMS_ATTR,
    READY_ATTR,
    SearchStudy,
    cell_key,
    wait_while_running,
)
from trainlab.search.workers import recover_local, spawn, supervise, usable_cores, work
from trainlab.stagefile import write_dvc_metrics
from trainlab.tracking_inputs import log_dataset


def trial_context(base: Config, data: PreparedData, client: MlflowClient,
                  search_study: SearchStudy, parent: str) -> TrialContext:
    """What every trial of this process shares (the coordinator's and a `--worker`'s)."""
    return TrialContext(base, data, client, parent, search_study.name,
                        Path(base.search.models_dir), recipe_hash(base, data.fingerprint))


@dataclass(frozen=True)
class Outputs:
    """The files the coordinator writes (the paths dvc.yaml gives `trainlab search`)."""

    summary: str = "reports/search.json"
    metrics: str = "metrics/search.json"  # DVC metrics (numbers only)
    trials: str = "reports/search_trials.csv"
    cells: str = "reports/search_cells.csv"


@dataclass(frozen=True)
class Launch:
    """How local worker processes are started: the command line this one was given."""

    workers: int  # 1: train here; N > 1: N local processes; 0: wait for `--worker`s
    params: str  # --params, passed on to each worker process
    overrides: list[str]  # --set, passed on as well


@dataclass
class SearchRun:
    """The coordinator: one configuration's search, from queue to written outputs.

    Attributes:
        cfg: the params as given (the parent run records them).
        data: the prepared data every trial trains on.
        client: MLflow, where the parent run and every trial's run go.
        study: the opened (or resumed) Optuna study.
        outputs: where the results are written.
        launch: who trains the queue.
        started: `time.perf_counter()` when the command started (the summary's wall time).
    """

    cfg: Config
    data: PreparedData
    client: MlflowClient
    study: SearchStudy
    outputs: Outputs
    launch: Launch
    started: float
    # What the steps below find out, in order:
    base: Config = field(init=False)  # the params with search.overrides applied
    config_id: str = field(init=False)  # this configuration's id (search_hash)
    expected: set[queueing.Key] = field(init=False, default_factory=set)  # the pairs queued
    rounds: list[dict] = field(init=False, default_factory=list)  # racing rounds decided
    top_cells: list[str] = field(init=False, default_factory=list)  # the ensembles' cells
    failed_workers: list[int] = field(init=False, default_factory=list)  # their exit codes

    def __post_init__(self) -> None:
        self.base = base_config(self.cfg)
        self.config_id = search_hash(self.base, self.data.fingerprint)

    def run(self) -> tuple[SearchSummary, str]:
        """The search of this configuration; (its summary, its MLflow parent run id).

        Raises:
            TrainingError: a worker process failed, or no trial completed.
        """
        with runs.parent(self.client, self.cfg, self.study, self.config_id) as parent:
            # the prepared data as the parent run's input (on resume: a no-op)
            log_dataset(self.client, parent, self.data, self.base.data.prepared_dir)
            trials = trial_context(self.base, self.data, self.client, self.study, parent)
            self.study.study.set_user_attr(OPEN_ATTR, True)  # `--worker`s wait for more rounds
            try:
                self.recover(parent)
                self.queue_grid()
                self.train(trials)
                race = self.race(trials)
                self.ensemble_seeds(trials)
                result = self.write_outputs(trials, race)
            finally:
                self.study.study.set_user_attr(OPEN_ATTR, False)
            self.check(result)
        return result, parent

    def recover(self, parent: str) -> None:
        """Trials a stopped run left RUNNING: failed as interrupted (their cells queued again)."""
        if self.study.local:
            recovered = recover_local(self.study, self.client, self.base.tracking.experiment,
                                      parent)
            if recovered:
                print(f"search: trial(s) {recovered} were left RUNNING by a stopped run: marked "
                      "FAIL (interrupted), their MLflow runs KILLED, their cells queued again",
                      flush=True)
        else:
            wait_while_running(self.study, 0.0)  # only fails trials whose heartbeat is stale

    def queue_grid(self) -> None:
        """Every grid pair not done yet, and the racing rounds already decided (a resume
        replays them); then tell `--worker`s the queue is ready and for which params."""
        self.rounds = racing.stored_rounds(self.study, self.config_id)
        pairs = queueing.grid_pairs(self.base) + racing.round_pairs(self.base, self.rounds)
        if self.base.search.sampler == "grid":
            self.top_cells = ensemble_seeds.stored_cells(
                self.study, self.config_id, self.cfg.ensemble.top_k) or []
            pairs += ensemble_seeds.pairs(self.cfg, self.top_cells)
        self.expected = queueing.enqueue(self.base, self.data, self.study, pairs)
        self.study.study.set_user_attr(PARAMS_ATTR, self.config_id)
        self.study.study.set_user_attr(READY_ATTR, True)

    def train(self, trials: TrialContext) -> None:
        """Train until the queue is empty; keeps the exit codes of failed worker processes."""
        workers = self.launch.workers
        if workers == 1:
            work(trials, self.study)
            return
        if workers > 1:
            threads = None if self.base.train.threads else max(1, usable_cores() // workers)
            print(f"search: {workers} local workers, {threads or self.base.train.threads} torch "
                  "thread(s) each", flush=True)
            codes = supervise(spawn(self.launch.params, self.launch.overrides, workers, threads))
            self.failed_workers += [code for code in codes if code != 0]
            return
        print("search: waiting for `trainlab search --worker` processes to train the queue",
              flush=True)
        while wait_while_running(self.study, 5.0):
            pass

    def race(self, trials: TrialContext) -> RaceSummary | None:
        """Rounds of extra seeds for the cells not yet told apart from the leader on
        validation, until none is left, `max_rounds` or a worker fails (grid only)."""
        race = self.base.search.race
        if self.base.search.sampler != "grid" or not race.enabled:
            return None
        stopped = ""
        while not self.failed_workers:
            if len(self.rounds) >= race.max_rounds:
                stopped = f"search.race.max_rounds = {race.max_rounds} reached"
                break
            rows = queueing.expected_rows(self.study, self.expected)
            decision = racing.decide(
                self.base, rows, self.cfg.stats.confidence,
                outputs.val_correctness(rows, self.client, len(self.data.val)),
                self.cfg.stats.resamples)
            if decision is None or not decision.selected:
                stopped = "every cell is told apart from the leader on validation"
                break
            self.rounds = racing.store_round(self.study, self.config_id, decision)
            seeds = racing.round_seeds(self.base, len(self.rounds) - 1)
            print(f"search: racing round {len(self.rounds)}: {len(decision.unresolved)} cell(s) "
                  f"not yet told apart from the leader {decision.leader} on validation; "
                  f"{len(decision.selected)} of them (leader included) train seed(s) {seeds}: "
                  f"{', '.join(decision.selected)}", flush=True)
            self.expected |= queueing.enqueue(self.base, self.data, self.study,
                                              racing.round_pairs(self.base, self.rounds))
            self.train(trials)
        return racing.summary(self.base, self.rounds, stopped or "stopped by failed workers")

    def ensemble_seeds(self, trials: TrialContext) -> None:
        """Train the seeds of `stats.seeds` the top `ensemble.top_k` cells lack (grid only):
        the ensemble stage builds one ensemble per seed from them (search/ensemble_seeds.py).
        The cells are decided once, after racing, and stored before their trials queue."""
        if self.base.search.sampler != "grid" or self.failed_workers:
            return
        rows = queueing.expected_rows(self.study, self.expected)
        if not self.top_cells:
            self.top_cells = ensemble_seeds.top_cells(rows, self.cfg.ensemble.top_k)
            ensemble_seeds.store_cells(self.study, self.config_id, self.cfg.ensemble.top_k,
                                       self.top_cells)
        todo = ensemble_seeds.missing(self.cfg, rows, self.top_cells)
        seeds = ensemble_seeds.ensemble_seeds(self.cfg)
        print(f"search: ensemble seeds: the top {len(self.top_cells)} cell(s) "
              f"({', '.join(self.top_cells)}) at seeds {seeds} (stats.seeds = "
              f"{self.cfg.stats.seeds}): {len(todo)} trial(s) to train", flush=True)
        if todo:
            self.expected |= queueing.enqueue(self.base, self.data, self.study,
                                              ensemble_seeds.pairs(self.cfg, self.top_cells))
            self.train(trials)

    def write_outputs(self, trials: TrialContext, race: RaceSummary | None) -> SearchSummary:
        """The trial table, the cells' standings, the summary, the DVC metrics and the top-k
        checkpoints; logged to the parent run, the best recipe registered."""
        wall = time.perf_counter() - self.started  # the training's, not the writing's
        search, stats, client = self.base.search, self.cfg.stats, self.client
        if search.sampler == "grid":
            done = [t for t in self.study.trials() if cell_key(t.user_attrs) in self.expected]
        else:
            done = [t for t in self.study.trials()
                    if t.user_attrs.get("base_hash") == trials.base_hash]
        rows = outputs.trial_rows(done)
        correct = outputs.test_correctness(rows, client, len(self.data.test))
        standings, best_set = cell_standings(rows, correct, stats.confidence, stats.resamples,
                                             racing.raced_seeds(self.base, self.rounds),
                                             seed=self.base.seed)
        result = outputs.summary(
            rows, outputs.counts(done), study=self.study.name, sampler=search.sampler,
            n_cells=len(grid_cells(self.base.grid)),
            n_trials_expected=len(self.expected) if search.sampler == "grid" else search.n_trials,
            wall_seconds=round(wall, 3),
            parent_run_id=trials.parent_run_id,
            train_seconds=round(sum(row.seconds or 0.0 for row in rows), 3),
            config_id=self.config_id, confidence=stats.confidence, best_set=best_set, race=race,
            best_recipe=standings[0] if standings else None,
        )
        members = outputs.keep_top_k(rows, search.top_k, search.models_dir, client)
        files = [outputs.write_csv(self.outputs.trials, rows),
                 outputs.write_json(self.outputs.summary, result),
                 outputs.write_cells(self.outputs.cells, standings)]
        write_dvc_metrics(self.outputs.metrics, result.metrics())
        seeded = ensemble_seeds.seed_ensembles(self.cfg, rows, self.top_cells,
                                               search.models_dir, client)
        outputs.write_manifest(search.models_dir, self.study.name, trials.parent_run_id,
                               search.top_k, members, seeded)
        runs.log_parent(client, trials.parent_run_id, result, files)
        if self.base.tracking.register_models and members:
            name = f"{self.base.tracking.experiment}-recipe"
            version = register(client, trials.parent_run_id, name, [members[0].checkpoint],
                               example_images(self.data))
            print(f"search: best recipe registered as MLflow model {name} version {version} "
                  f"({ALIAS})", flush=True)
        return result

    def check(self, result: SearchSummary) -> None:
        """Raises TrainingError if work is left: a failed worker, or no completed trial."""
        if self.failed_workers:
            raise TrainingError(
                f"{len(self.failed_workers)} worker process(es) stopped with an error (exit "
                f"codes {self.failed_workers}, printed above); finished trials are kept, rerun "
                "to resume"
            )
        if result.best is None:
            raise TrainingError(
                f"no trial of study {self.study.name!r} completed ({result.trials}); see "
                f"{self.outputs.trials} for why, then rerun"
            )
