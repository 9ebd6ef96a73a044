"""The grid's best recipe on fewer labelled images: the other side of the crossover.

The best single recipe (chosen on validation) is trained again, as its search trial was (the
search's per-trial scale, its cell's presets), at each of `Config.training_seeds`
(`stats.seeds` trainings, the seeds the baselines train at), on each `leaderboard.fractions`
entry below 1 of the train split: the same stratified, seeded subsets the baselines get (one
subset a fraction, shared by the seeds: the spread is the training's). At fraction 1 it is
the search's own trials of the best cell, every seed the search ran (:func:`cell_trials`).
Each training is an MLflow run of kind `recipe_fraction` under the leaderboard's run.

On a small subset an epoch is a step or two, so the recipe trains for at least as many
optimizer steps as a baseline cell of the same size does (`transfer.epochs` epochs of at
least `transfer.min_steps` steps): otherwise the curve would compare 4 steps with 100.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient

from trainlab.config.params import Config
from trainlab.correctness import load_correct
from trainlab.data.prepared import PreparedData
from trainlab.data.split import Split
from trainlab.errors import DataError
from trainlab.search.grid import Cell, base_config, trial_config, trial_data
from trainlab.search.results import TrialRow
from trainlab.tracking import KIND_TAG, RECIPE_FRACTION_KIND
from trainlab.training.recipe import train_recipe
from trainlab.transfer.tasks import stratified_subset


@dataclass(frozen=True)
class RecipePoint:
    """The best recipe at one fraction of the train split."""

    fraction: float
    images: int
    correct: np.ndarray  # (n_seeds, N_test) bool: per seed, per test image
    train_seconds: float  # one training's, mean over the seeds
    run_id: str | None  # the first seed's run

    @property
    def seeds(self) -> int:
        return int(self.correct.shape[0])


def best_cell(best: TrialRow) -> Cell:
    if best.activation is None or best.regularization is None or best.augmentation is None:
        raise DataError(f"the best trial (#{best.trial}) names no grid cell in "
                        "reports/search_trials.csv; rerun `dvc repro search`")
    return Cell(best.activation, best.regularization, best.augmentation, best.preprocessing)


def cell_trials(trials: Sequence[TrialRow], best: TrialRow) -> list[TrialRow]:
    """The search's COMPLETE trials of the best trial's cell, one per seed (the latest), by
    seed: the best recipe at fraction 1 over the seeds the search trained it at (one, unless
    `search.repeats` or racing gave it more). Each saved its per-image test results."""
    kept = {t.seed: t for t in trials
            if t.cell == best.cell and t.state == "COMPLETE" and t.test_correct is not None}
    kept.setdefault(best.seed, best)
    return [kept[seed] for seed in sorted(kept, key=lambda s: -1 if s is None else s)]


def subset_epochs(cfg: Config, recipe: Config, size: int) -> int:
    """Epochs for the recipe on `size` images: its own, or enough for a baseline cell's steps."""
    t = cfg.transfer
    cell_steps = t.epochs * max(math.ceil(size / t.batch_size), t.min_steps)
    per_epoch = max(size // recipe.train.batch_size, 1)  # full batches (drop_last)
    return max(recipe.train.epochs, math.ceil(cell_steps / per_epoch))


def recipe_points(
    cfg: Config,
    data: PreparedData,
    best: TrialRow,
    trials: Sequence[TrialRow],
    sizes: list[tuple[float, int]],
    client: MlflowClient | None,
    parent_run_id: str | None,
    on_point: Callable[[RecipePoint], None] | None = None,
) -> list[RecipePoint]:
    """The best recipe at every (fraction, train images) of `sizes`, smallest first; below
    the whole split at each of `Config.training_seeds`, at it the search's `trials` of its
    cell (:func:`cell_trials`).

    Raises:
        DataError: the best trial's per-image test results are missing (rerun the search).
    """
    if best.test_correct is None or best.seconds is None:
        raise DataError(f"the best trial (#{best.trial}, run {best.run_id}) has no per-image test "
                        "results in reports/search_trials.csv; rerun `dvc repro search`")
    # The config and the data the best trial trained with (grid sampler: its cell).
    cell = best_cell(best)
    seen = trial_data(data, cell)
    points = []
    for fraction, size in sizes:
        if size >= len(data.train):
            whole = cell_trials(trials, best)
            point = RecipePoint(
                fraction, size,
                np.stack([load_correct(t.test_correct, len(data.test)) for t in whole]),
                statistics.fmean(t.seconds or 0.0 for t in whole), best.run_id)
        else:
            index = stratified_subset(data.train.labels, size, cfg.seed)
            subset = dataclasses.replace(
                seen, train=Split(data.train.images[index], data.train.labels[index]))
            results = []
            for seed in cfg.training_seeds():
                recipe = trial_config(base_config(cfg), cfg.grid, cell, seed)
                epochs = subset_epochs(cfg, recipe, size)
                results.append(train_recipe(
                    recipe.replace(**{"train.epochs": epochs}), subset,
                    Path(cfg.leaderboard.models_dir) / "recipe" / f"{size}" / f"s{seed}",
                    run_name=f"{RECIPE_FRACTION_KIND}-{best.cell}-{size}-s{seed}",
                    parent_run_id=parent_run_id, client=client,
                    tags={KIND_TAG: RECIPE_FRACTION_KIND, "leaderboard.fraction": str(fraction),
                          "recipe.cell": best.cell or "", "recipe.seed": str(seed)},
                ))
            point = RecipePoint(
                fraction, size,
                np.stack([load_correct(r.test_correct, len(data.test)) for r in results]),
                statistics.fmean(r.seconds for r in results), results[0].run_id)
        if on_point is not None:
            on_point(point)
        points.append(point)
    return points
