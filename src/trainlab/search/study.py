"""The Optuna side of the search: storage, sampler, pruner, the work queue and its recovery.

Grid cells are a work queue of enqueued (WAITING) trials, created once by the coordinator;
workers claim them one at a time with an atomic WAITING -> RUNNING update (never GridSampler,
which hands the same cell to several workers). A trial's outcome decides whether its cell is
done: COMPLETE, PRUNED and a diverged FAIL are; an interrupted or lost one is queued again.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from trainlab.config.params import Config
from trainlab.config.schema import SearchConfig
from trainlab.databases import absolute_uri
from trainlab.errors import ConfigError, DataError

READY_ATTR = "trainlab.enqueued"  # study user attr: the coordinator finished enqueueing
PARAMS_ATTR = "trainlab.params_hash"  # study user attr: what workers must agree on
PARENT_ATTR = "mlflow_parent_run_id"  # study user attr: the current search's MLflow parent run
PARENTS_ATTR = "trainlab.parent_runs"  # study user attr: configuration id -> its parent run
OPEN_ATTR = "trainlab.open"  # study user attr: a coordinator may still queue trials (racing)
RACE_ATTR = "trainlab.race/"  # + configuration id: the racing rounds decided so far
RUN_ATTR = "mlflow_run_id"  # trial user attr, set when training starts
OUTCOME_ATTR = "outcome"  # trial user attr: complete | pruned | diverged | error | interrupted
DONE_OUTCOMES = ("diverged",)  # FAIL outcomes that are final: retraining gives the same NaN
AXIS_ATTRS = ("activation", "regularization", "augmentation", "preprocessing")
# A trial's value, the name optuna-dashboard and Optuna's plots show: the best epoch's
# validation accuracy of the recipe's training.
OBJECTIVE = "val/acc_best"
SQLITE_TIMEOUT_S = 60  # how long a SQLite writer waits for the lock before "database is locked"


@dataclass
class SearchStudy:
    """A study with the raw storage beside it (the study wraps it in a cache)."""

    study: optuna.Study
    storage: RDBStorage
    study_id: int

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def local(self) -> bool:
        """A SQLite file: only processes on this machine can hold its trials."""
        return self.storage.engine.name == "sqlite"

    def trials(self, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=tuple(states) if states else None)

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)


def redact(url: str) -> str:
    """The storage URL without its password, for messages and MLflow params."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_storage(
    search: SearchConfig, on_stale: Callable[[optuna.Study, FrozenTrial], None] | None = None
) -> RDBStorage:
    """The RDB storage of `search.storage`, with heartbeats so a dead worker's trial is found.

    SQLite: every transaction takes the write lock up front (BEGIN IMMEDIATE). Otherwise two
    processes can both read a trial as WAITING and both claim it (pysqlite opens the
    transaction only at the UPDATE, so Optuna's SELECT ... FOR UPDATE does not lock).

    Raises:
        ConfigError: the URL is malformed or names an unknown database driver.
        DataError: the database cannot be reached or opened.
    """
    try:
        parsed = make_url(absolute_uri(search.storage))  # a DVC experiment: the project's
    except ArgumentError:
        raise ConfigError(
            f"search.storage = {search.storage!r} is not a database URL; use e.g. "
            "sqlite:///optuna.db or postgresql://user:password@host:5432/db"
        ) from None
    sqlite = parsed.get_backend_name() == "sqlite"
    if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg") is None:
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; trainlab installs psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    url = parsed.render_as_string(hide_password=False)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if sqlite else {}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url, engine_kwargs=kwargs, heartbeat_interval=search.heartbeat_interval,
                grace_period=search.grace_period, heartbeat_stale_trial_callback=on_stale,
            )
    except (ImportError, SQLAlchemyError, ValueError) as err:
        reason = " ".join(str(err).split())[:300]
        raise DataError(
            f"cannot open the Optuna storage {redact(url)} ({reason}); check search.storage "
            "and that the database server is running"
        ) from None
    if sqlite:
        _begin_immediate(storage.engine)
    return storage


def _begin_immediate(engine: Any) -> None:
    # SQLAlchemy's recipe for serializable SQLite transactions (pysqlite docs).
    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners would skip them


def make_sampler(cfg: Config, worker: int | None = 0) -> optuna.samplers.BaseSampler:
    """The sampler of one worker; tpe seeds differ per worker (`worker` None: a random seed),
    or parallel workers would draw the same recipes."""
    if cfg.search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=None if worker is None else cfg.seed + worker)
    # Grid trials carry every parameter fixed, so the sampler is never consulted.
    return optuna.samplers.RandomSampler(seed=cfg.seed)


def make_pruner(cfg: Config, max_epochs: int) -> optuna.pruners.BasePruner:
    """The pruner of `search.pruner`; steps are epochs (counted from 0)."""
    search = cfg.search
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=search.pruner_startup_trials,
            n_warmup_steps=search.pruner_warmup_epochs,
        )
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=max(1, search.pruner_warmup_epochs), max_resource=max_epochs,
        )
    return optuna.pruners.NopPruner()


def create_or_load(
    storage: RDBStorage, cfg: Config, pruner: optuna.pruners.BasePruner
) -> SearchStudy:
    """Open the study named in params, creating it (maximising val accuracy) if needed."""
    study = optuna.create_study(
        storage=storage, study_name=cfg.search.study_name, direction="maximize",
        sampler=make_sampler(cfg), pruner=pruner, load_if_exists=True,
    )
    if study.metric_names != [OBJECTIVE]:  # also names an older study's value
        with warnings.catch_warnings():  # "experimental" since Optuna 3.2, still the API in 5.0
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([OBJECTIVE])
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(
            f"search.study_name = {cfg.search.study_name!r} is an existing study that minimises; "
            "choose another study name"
        )
    return SearchStudy(study, storage, storage.get_study_id_from_name(study.study_name))


def join(
    storage: RDBStorage, cfg: Config, pruner: optuna.pruners.BasePruner, wait_s: float,
    worker: int | None = None,
) -> SearchStudy:
    """Load a study the coordinator created, waiting up to `wait_s` for it to be ready.

    `worker`: the index of a local worker process (None for one started by hand).
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            study = optuna.load_study(
                study_name=cfg.search.study_name, storage=storage,
                sampler=make_sampler(cfg, worker), pruner=pruner,
            )
            if study.user_attrs.get(READY_ATTR):
                return SearchStudy(study, storage, storage.get_study_id_from_name(study.study_name))
        except KeyError:
            pass  # not created yet
        if time.monotonic() > deadline:
            raise DataError(
                f"study {cfg.search.study_name!r} is not ready in {redact(cfg.search.storage)} "
                f"after {wait_s:.0f} s; start the coordinator (`trainlab search` without "
                "--worker) first, or pass --wait SECONDS"
            )
        time.sleep(2.0)


def claim_next(search_study: SearchStudy) -> optuna.Trial | None:
    """Atomically take the oldest WAITING trial (WAITING -> RUNNING), or None if none is left.

    Unlike `study.ask()`, never creates a new trial when the queue is empty.
    """
    for frozen in search_study.trials([TrialState.WAITING]):
        trial_id = search_study.trial_id(frozen.number)
        try:
            # False (or the error) when another worker claimed or finished it first.
            if search_study.storage.set_trial_state_values(trial_id, TrialState.RUNNING):
                return optuna.Trial(search_study.study, trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def is_done(trial: FrozenTrial, pruner: str) -> bool:
    """A finished cell: not to be trained again.

    A pruned cell is done while a pruner is on; with `search.pruner: none` it trains its whole
    budget, as the user asked for when switching pruning off.
    """
    if trial.state == TrialState.COMPLETE:
        return True
    if trial.state == TrialState.PRUNED:
        return pruner != "none"
    return trial.state == TrialState.FAIL and trial.user_attrs.get(OUTCOME_ATTR) in DONE_OUTCOMES


def cell_key(attrs: dict[str, Any]) -> tuple[str, int, str]:
    """(cell id, seed, recipe hash): what makes two grid trials the same work."""
    return attrs.get("cell", ""), int(attrs.get("seed", -1)), attrs.get("recipe_hash", "")


def fail_running(search_study: SearchStudy, frozen: FrozenTrial, reason: str) -> bool:
    """Mark a RUNNING trial FAIL as interrupted; False if it finished meanwhile."""
    trial_id = search_study.trial_id(frozen.number)
    try:
        search_study.storage.set_trial_user_attr(trial_id, OUTCOME_ATTR, "interrupted")
        search_study.storage.set_trial_user_attr(trial_id, "fail_reason", reason)
        return search_study.storage.set_trial_state_values(trial_id, TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def requeue(study: optuna.Study, frozen: FrozenTrial) -> None:
    """Enqueue an interrupted trial's work again: same params, same recipe attributes."""
    keep = ("cell", "seed", "recipe_hash", "base_hash", *AXIS_ATTRS)
    attrs = {k: v for k, v in frozen.user_attrs.items() if k in keep}
    params = frozen.system_attrs.get("fixed_params") or dict(frozen.params)
    study.enqueue_trial(params, user_attrs=attrs | {"retry_of": frozen.number})


def wait_while_running(search_study: SearchStudy, poll_s: float) -> bool:
    """With work left (WAITING) or held (RUNNING), fail stale trials and wait one poll.

    Returns False when the study has nothing WAITING or RUNNING any more.
    """
    fail_stale(search_study)
    if not search_study.trials([TrialState.WAITING, TrialState.RUNNING]):
        return False
    time.sleep(poll_s)
    return True


def fail_stale(search_study: SearchStudy) -> None:
    """Fail RUNNING trials whose heartbeat stopped; the storage's callback queues them again."""
    with warnings.catch_warnings():  # experimental since Optuna 2.9, still the API in 5.0
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(search_study.study)
