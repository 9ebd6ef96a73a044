"""The search's MLflow side: the parent run, the trials' child runs, their recovery, the results.

`study` is the Optuna side; this module is everything the search writes to or asks of
MLflow (the trainings themselves are `train_recipe`'s runs):
- the parent run of a study: created on first use, set RUNNING again on resume, ended with a
  status that tells what happened (:func:`parent`), its results logged (:func:`log_parent`);
- a trial's child run: its tags (:func:`trial_tags`), the Optuna state and outcome it ended in;
- recovery: ending KILLED the runs of trials whose worker stopped (:func:`kill_runs`,
  :func:`kill_children`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from trainlab.config.params import Config
from trainlab.errors import ConfigError
from trainlab.provenance import provenance_tags
from trainlab.search.grid import Cell, grid_cells
from trainlab.search.results import SearchSummary
from trainlab.search.study import PARENT_ATTR, PARENTS_ATTR, RUN_ATTR, SearchStudy, redact
from trainlab.tracking import (
    CONFIG_TAG,
    KIND_TAG,
    OUTCOME_TAG,
    PARENT_TAG,
    RECIPE_TAG,
    SEARCH_KIND,
    SEARCH_TRIAL_KIND,
    client_for,
    end_run,
    ending,
    experiment_id,
    log_metrics,
    log_params,
    run_tags,
)

STATE_TAG = "optuna.state"  # a trial run's Optuna state: COMPLETE, PRUNED, FAIL
STUDY_TAG = "optuna.study"
TRIAL_TAG = "optuna.trial_number"


def open_client(cfg: Config) -> MlflowClient:
    """The search's tracking client.

    Raises:
        ConfigError: tracking is off (every trial is a child run of the parent run).
    """
    if not cfg.tracking.enabled:
        raise ConfigError(
            "tracking.enabled = false is not allowed for the search: every trial is an MLflow "
            "run under the search's parent run; set tracking.enabled: true"
        )
    return client_for(cfg.tracking)


# --- the parent run -----------------------------------------------------------------------
def parent_run(client: MlflowClient, cfg: Config, search_study: SearchStudy,
               config_id: str) -> str:
    """The MLflow parent run of this configuration of the study (`config_id`: what decides
    its results), set RUNNING again on resume; created on first use. A changed configuration
    gets a parent run of its own, so the MLflow UI groups each configuration's trials."""
    exp = experiment_id(client, cfg.tracking.experiment)
    parents = dict(search_study.study.user_attrs.get(PARENTS_ATTR) or {})
    run_id = parents.get(config_id)
    if run_id:
        try:
            run = client.get_run(run_id)
            if run.info.lifecycle_stage == "active" and run.info.experiment_id == exp:
                client.update_run(run_id, status="RUNNING")
                search_study.study.set_user_attr(PARENT_ATTR, run_id)
                return run_id
        except MlflowException:
            pass  # the tracking database was reset: start a new parent run
    tags = provenance_tags() | {"trainlab.study": search_study.name, KIND_TAG: SEARCH_KIND,
                                CONFIG_TAG: config_id,
                                "optuna.storage": redact(cfg.search.storage)}
    run_id = client.create_run(exp, run_name=f"{search_study.name}@{config_id}",
                               tags=run_tags(tags)).info.run_id
    params = cfg.flat("search")
    params["search.storage"] = redact(cfg.search.storage)
    grid = cfg.grid
    params |= {"grid.activation": list(grid.activation),
               "grid.regularization": list(grid.regularization),
               "grid.augmentation": list(grid.augmentation),
               "grid.preprocessing": list(grid.preprocessing or []),
               "grid.n_cells": len(grid_cells(grid))}
    log_params(client, run_id, params)
    search_study.study.set_user_attr(PARENTS_ATTR, parents | {config_id: run_id})
    search_study.study.set_user_attr(PARENT_ATTR, run_id)
    return run_id


@contextlib.contextmanager
def parent(client: MlflowClient, cfg: Config, search_study: SearchStudy,
           config_id: str) -> Iterator[str]:
    """The parent run (:func:`parent_run`) for the block; it ends FINISHED, FAILED with the
    reason, or KILLED (Ctrl-C, SIGTERM) with the block."""
    run_id = parent_run(client, cfg, search_study, config_id)
    with ending(client, run_id):
        yield run_id


def log_parent(client: MlflowClient, run_id: str, result: SearchSummary,
               files: list[Path]) -> None:
    """The search's numbers on its parent run: best recipe, trials by state, wall time."""
    metrics = {f"trials/{state}": n for state, n in result.trials.model_dump().items()}
    metrics["time/wall_seconds"] = result.wall_seconds
    if result.best is not None:
        metrics["best/val_acc"] = result.best.val_acc
        if result.best.test_acc is not None:
            metrics["best/test_acc"] = result.best.test_acc
        for key in ("cell", "run_id", "trial"):
            client.set_tag(run_id, f"best.{key}", str(getattr(result.best, key)))
    if result.best_set is not None:  # the cells not told apart from the best, and how
        metrics |= {"best_set/size": len(result.best_set.cells),
                    "best_set/compared": result.best_set.compared,
                    "stats/confidence": result.confidence}
        client.set_tag(run_id, "best_set.cells", ", ".join(result.best_set.cells)[:5000])
        client.set_tag(run_id, "best_set.method", result.best_set.method[:5000])
    if result.race is not None:
        metrics["race/extra_trials"] = result.race.extra_trials
    log_metrics(client, run_id, metrics)
    for path in files:
        client.log_artifact(run_id, str(path))


# --- a trial's child run ------------------------------------------------------------------
def trial_tags(cell: Cell, preprocessing: str, seed: int, number: int,
               study: str, recipe_hash: str) -> dict[str, str]:
    """The tags of a trial's run: its recipe (and the hash of all that decides its result),
    its trial, its kind."""
    return {
        RECIPE_TAG: recipe_hash,
        "recipe.cell": cell.id, "recipe.activation": cell.activation,
        "recipe.regularization": cell.regularization, "recipe.augmentation": cell.augmentation,
        "recipe.preprocessing": preprocessing, "recipe.seed": str(seed),
        TRIAL_TAG: str(number), STUDY_TAG: study,
        KIND_TAG: SEARCH_TRIAL_KIND,
    }


def tag_state(client: MlflowClient, run_id: str, state: TrialState) -> None:
    """Record the Optuna state the trial ended in on its run."""
    client.set_tag(run_id, STATE_TAG, state.name)


def tag_pruned(client: MlflowClient, run_id: str) -> None:
    """A pruned trial's run FINISHED (its scores are kept) with outcome `pruned`."""
    client.set_tag(run_id, OUTCOME_TAG, "pruned")


# --- recovery -----------------------------------------------------------------------------
def kill_runs(client: MlflowClient, experiment: str, study: str, frozen: FrozenTrial) -> None:
    """End the trial's MLflow run(s) KILLED: the recorded id, and any RUNNING run tagged with
    the trial (the id is recorded when training starts, a moment after the run is created)."""
    run_ids = {frozen.user_attrs[RUN_ATTR]} if RUN_ATTR in frozen.user_attrs else set()
    found = _running_runs(client, experiment, f"tags.`{STUDY_TAG}` = '{study}' and "
                                              f"tags.`{TRIAL_TAG}` = '{frozen.number}'")
    run_ids |= {run.info.run_id for run in found}
    for run_id in run_ids:
        with contextlib.suppress(MlflowException):
            if client.get_run(run_id).info.status == "RUNNING":
                end_run(client, run_id, "KILLED", "killed")
            client.set_tag(run_id, STATE_TAG, "FAIL")


def kill_children(client: MlflowClient, experiment: str, parent_run_id: str) -> None:
    """End KILLED every child run of the parent still RUNNING (no worker is left to)."""
    for run in _running_runs(client, experiment, f"tags.`{PARENT_TAG}` = '{parent_run_id}'"):
        end_run(client, run.info.run_id, "KILLED", "killed")


def _running_runs(client: MlflowClient, experiment: str, where: str) -> list[Any]:
    try:
        return client.search_runs([experiment_id(client, experiment)],
                                  f"{where} and attributes.status = 'RUNNING'", max_results=1000)
    except MlflowException:
        return []
