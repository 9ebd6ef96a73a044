"""One trial: the recipe it trains, the MLflow child run, and how its outcome is told to Optuna.

Outcomes (trial user attr `outcome`, MLflow tags `trainlab.outcome` and `optuna.state`):

| what happened            | Optuna                         | MLflow run                     |
|--------------------------|--------------------------------|--------------------------------|
| trained                  | COMPLETE, value = best val acc | FINISHED, finished             |
| pruned by the pruner     | PRUNED, scored like a complete | FINISHED, pruned               |
| NaN/inf loss (diverged)  | FAIL, final for the cell       | FAILED, failed + reason        |
| Ctrl-C / SIGTERM         | FAIL "interrupted", re-queued  | KILLED, killed                 |
| any other error          | FAIL, re-queued, search stops  | FAILED, failed + reason        |
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from lightning.pytorch.callbacks import Callback
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from optuna_integration import PyTorchLightningPruningCallback

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData
from trainlab.errors import ConfigError, TrainingError
from trainlab.io import project_path
from trainlab.search.grid import Cell, recipe_hash, trial_config, trial_data
from trainlab.search.runs import tag_pruned, tag_state, trial_tags
from trainlab.search.study import OBJECTIVE, OUTCOME_ATTR, RUN_ATTR
from trainlab.training.recipe import TrainResult, train_recipe
from trainlab.training.trainer import MONITOR


class PruningCallback(PyTorchLightningPruningCallback):
    """Reports val/acc per epoch to the trial; when the pruner prunes, the training ends
    after this epoch (Lightning's `should_stop`) instead of raising out of fit.

    The training then ends as any other: its best snapshot so far (ModelCheckpoint runs after
    this callback) is scored on test and train, so a pruned recipe keeps its test accuracy
    and train-vs-test gap at the epoch it stopped, and the report shows every cell.
    """

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        super().__init__(trial, monitor)
        self.values: list[float] = []  # the reported val/acc, one per epoch
        self.pruned: str | None = None  # the pruner's message, once it pruned
        # False: the trial only records its values. A seed that racing or the ensembles add
        # measures the seed-to-seed spread; stopping it against the median of other cells'
        # first seeds would censor that spread (and lose a seed's ensemble).
        self.prunable = True

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        score = trainer.callback_metrics.get(self.monitor)
        if score is not None and not trainer.sanity_checking:
            self.values.append(float(score))
        if not self.prunable:
            return
        try:
            super().on_validation_end(trainer, pl_module)
        except optuna.TrialPruned as pruned:
            self.pruned = str(pruned)
            trainer.should_stop = True


class RunIdRecorder(Callback):
    """Stores the MLflow run id in the trial before the first step, so a `kill -9` recovery
    can find the run and end it KILLED."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial
        self.run_id: str | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.run_id = getattr(trainer.logger, "run_id", None)
        if self.run_id:
            self.trial.set_user_attr(RUN_ATTR, self.run_id)


@dataclass
class TrialContext:
    """What every trial of one worker shares."""

    base: Config  # params with search.overrides applied
    data: PreparedData
    client: MlflowClient
    parent_run_id: str
    study_name: str
    models_dir: Path
    base_hash: str  # recipe hash of `base`: which trials belong to these params (tpe)

    @property
    def checkpoint_dir(self) -> Path:
        return self.models_dir / "trials"  # train_recipe adds <run_id>/best.ckpt


def suggest(ctx: TrialContext, trial: optuna.Trial) -> tuple[Cell, int, dict[str, Any]]:
    """The trial's cell, seed and continuous overrides (grid: all fixed by the queue)."""
    grid, search = ctx.base.grid, ctx.base.search
    axes = {
        "activation": trial.suggest_categorical("activation", list(grid.activation)),
        "regularization": trial.suggest_categorical("regularization", list(grid.regularization)),
        "augmentation": trial.suggest_categorical("augmentation", list(grid.augmentation)),
    }
    if grid.preprocessing:
        axes["preprocessing"] = trial.suggest_categorical("preprocessing", list(grid.preprocessing))
    if search.sampler == "grid":
        first, race = ctx.base.seed, search.race
        # Racing's rounds add seeds after the repeats (search.racing.round_seeds); the
        # ensembles' seeds are the first stats.seeds (search.ensemble_seeds).
        raced = race.max_rounds * race.seeds_per_round if race.enabled else 0
        last = first + max(search.repeats + raced, ctx.base.stats.seeds) - 1
        seed = trial.suggest_int("seed", first, last)
    else:
        seed = ctx.base.seed
    extra: dict[str, Any] = {}
    if search.sampler == "tpe":
        if search.lr:
            extra["train.lr"] = trial.suggest_float("lr", search.lr.low, search.lr.high,
                                                    log=search.lr.log)
        penalised = grid.regularization[axes["regularization"]].kind != "none"
        if search.strength and penalised:
            extra["regularization.strength"] = trial.suggest_float(
                "strength", search.strength.low, search.strength.high, log=search.strength.log)
        if search.dropout:
            extra["model.dropout"] = trial.suggest_float(
                "dropout", search.dropout.low, search.dropout.high, log=search.dropout.log)
    return Cell(**axes), seed, extra


def run_trial(ctx: TrialContext, trial: optuna.Trial) -> TrialState:
    """Train the trial's recipe as a child run and tell Optuna how it ended.

    Raises:
        KeyboardInterrupt: after telling the trial FAIL (interrupted); the run ends KILLED.
        Exception: an unexpected error, after telling the trial FAIL.
    """
    recorder = RunIdRecorder(trial)
    pruning = PruningCallback(trial, monitor=MONITOR)
    started = time.perf_counter()
    try:
        cfg, data, run_name, tags = _recipe(ctx, trial)
        # The grid's own seeds (search.repeats) may be pruned; the seeds added after them
        # (racing, the ensembles' seeds) train to the end.
        pruning.prunable = cfg.seed < ctx.base.seed + ctx.base.search.repeats
        result = train_recipe(
            cfg, data, ctx.checkpoint_dir, run_name=run_name, parent_run_id=ctx.parent_run_id,
            tags=tags, callbacks=[recorder, pruning], client=ctx.client,
        )
    except TrainingError as err:  # NaN/inf loss: deterministic for this recipe and seed
        return _finish(ctx, trial, recorder.run_id, pruning.values, TrialState.FAIL,
                       "diverged", started, err)
    except KeyboardInterrupt:
        _finish(ctx, trial, recorder.run_id, pruning.values, TrialState.FAIL, "interrupted",
                started, "interrupted (Ctrl-C or SIGTERM)")
        raise
    except Exception as err:
        _finish(ctx, trial, recorder.run_id, pruning.values, TrialState.FAIL, "error",
                started, err)
        raise
    if pruning.pruned:
        return _pruned(ctx, trial, result, pruning.values)
    return _complete(ctx, trial, result)


def _recipe(
    ctx: TrialContext, trial: optuna.Trial
) -> tuple[Config, PreparedData, str, dict[str, str]]:
    """The trial's config, data, run name and run tags; records the recipe on the trial."""
    try:
        cell, seed, extra = suggest(ctx, trial)
    except ValueError as err:  # an enqueued value this worker's grid does not offer
        raise ConfigError(
            f"trial {trial.number} was queued with a choice this params file's grid lacks "
            f"({err}); every worker must use the coordinator's params.yaml"
        ) from None
    cfg = trial_config(ctx.base, ctx.base.grid, cell, seed, extra)
    data = trial_data(ctx.data, cell)
    preprocessing = cell.preprocessing or data.preprocessing
    recipe = recipe_hash(cfg, data.fingerprint)
    attrs = {
        "cell": cell.id, "seed": seed, **cell.params(), "preprocessing": preprocessing,
        "recipe_hash": recipe, "base_hash": ctx.base_hash,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    tags = trial_tags(cell, preprocessing, seed, trial.number, ctx.study_name, recipe)
    suffix = f"s{seed}" if ctx.base.search.sampler == "grid" else f"t{trial.number}"
    return cfg, data, f"{cell.id}#{suffix}", tags


def _complete(ctx: TrialContext, trial: optuna.Trial, result: TrainResult) -> TrialState:
    value = result.metrics.get(OBJECTIVE)
    if value is None or not math.isfinite(value):
        err = TrainingError(
            f"trial {trial.number}: the training returned no finite {OBJECTIVE!r} "
            f"(metrics: {sorted(result.metrics)}); the objective needs it"
        )
        _finish(ctx, trial, result.run_id, [], TrialState.FAIL, "error", None, err)
        raise err
    _set_attrs(trial, _scores(result) | {"checkpoint": project_path(result.checkpoint),
                                         "test_correct": project_path(result.test_correct),
                                         "val_correct": project_path(result.val_correct)
                                         if result.val_correct else None,
                                         OUTCOME_ATTR: "complete"})
    _tell(ctx, trial, TrialState.COMPLETE, result.run_id, value)
    return TrialState.COMPLETE


def _pruned(
    ctx: TrialContext, trial: optuna.Trial, result: TrainResult, values: list[float]
) -> TrialState:
    """A pruned trial: PRUNED in Optuna (its value is the last reported val/acc), its run
    FINISHED with outcome pruned, its scores kept, its checkpoint dropped (no ensemble member:
    it stopped before its budget)."""
    _set_attrs(trial, _scores(result) | {"val_acc": max(values), OUTCOME_ATTR: "pruned"})
    _tell(ctx, trial, TrialState.PRUNED, result.run_id)
    if result.run_id:
        tag_pruned(ctx.client, result.run_id)
    shutil.rmtree(result.checkpoint.parent, ignore_errors=True)
    return TrialState.PRUNED


def _scores(result: TrainResult) -> dict[str, Any]:
    """What a trained trial records: the best snapshot's accuracies and gap, epochs, time."""
    m = result.metrics
    scores: dict[str, Any] = {key: float(m[metric]) for key, metric in (
        ("val_acc", "val/acc_best"), ("test_acc", "test/acc"),
        ("final_train_acc", "final/train_acc"), ("gap_acc", "gap/acc"), ("gap_loss", "gap/loss"),
    )}
    return scores | {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
                     "seconds": round(result.seconds, 3)}


def _finish(
    ctx: TrialContext, trial: optuna.Trial, run_id: str | None, values: list[float],
    state: TrialState, outcome: str, started: float | None,
    reason: Exception | str | None = None,
) -> TrialState:
    """Record a trial that did not complete, tell Optuna, drop its partial checkpoint."""
    attrs: dict[str, Any] = {OUTCOME_ATTR: outcome}
    if values:
        attrs |= {"val_acc": max(values), "epochs_run": len(values)}
    if started is not None:
        attrs["seconds"] = round(time.perf_counter() - started, 3)
    if reason is not None:
        text = f"{type(reason).__name__}: {reason}" if isinstance(reason, Exception) else reason
        attrs["fail_reason"] = text.splitlines()[0][:500]
    _set_attrs(trial, attrs)
    _tell(ctx, trial, state, run_id)
    if run_id:
        shutil.rmtree(ctx.checkpoint_dir / run_id, ignore_errors=True)
    return state


def _set_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    try:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
    except optuna.exceptions.UpdateFinishedTrialError:
        print(f"search: trial {trial.number} was already ended by another worker (no heartbeat "
              "seen); its cell is queued again", flush=True)


def _tell(
    ctx: TrialContext, trial: optuna.Trial, state: TrialState, run_id: str | None,
    value: float | None = None,
) -> TrialState:
    # skip_if_finished: a worker presumed dead (no heartbeat) may already have been failed
    # by another worker; its result then stays in MLflow and the cell runs again.
    trial.study.tell(trial, value, state=state if value is None else None,
                     skip_if_finished=True)
    if run_id:
        tag_state(ctx.client, run_id, state)
    return state
