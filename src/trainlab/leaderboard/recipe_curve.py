"""The grid's best recipe on fewer labelled images: the other side of the crossover.

The best single recipe (chosen on validation) is trained again, as its search trial was (the
search's per-trial scale, its cell's presets, its seed), on each `leaderboard.fractions`
entry below 1 of the train split: the same stratified, seeded subsets the baselines get.
At fraction 1 it is the search's own trial. Each training is an MLflow run of kind
`recipe_fraction` under the leaderboard's run.

On a small subset an epoch is a step or two, so the recipe trains for at least as many
optimizer steps as a baseline cell of the same size does (`transfer.epochs` epochs of at
least `transfer.min_steps` steps): otherwise the curve would compare 4 steps with 100.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
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
    correct: np.ndarray  # per test image
    train_seconds: float
    run_id: str | None


def best_cell(best: TrialRow) -> Cell:
    if best.activation is None or best.regularization is None or best.augmentation is None:
        raise DataError(f"the best trial (#{best.trial}) names no grid cell in "
                        "reports/search_trials.csv; rerun `dvc repro search`")
    return Cell(best.activation, best.regularization, best.augmentation, best.preprocessing)


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
    sizes: list[tuple[float, int]],
    client: MlflowClient | None,
    parent_run_id: str | None,
    on_point: Callable[[RecipePoint], None] | None = None,
) -> list[RecipePoint]:
    """The best recipe at every (fraction, train images) of `sizes`, smallest first.

    Raises:
        DataError: the best trial's per-image test results are missing (rerun the search).
    """
    if best.test_correct is None or best.seconds is None:
        raise DataError(f"the best trial (#{best.trial}, run {best.run_id}) has no per-image test "
                        "results in reports/search_trials.csv; rerun `dvc repro search`")
    # The config and the data the best trial trained with (grid sampler: its cell and seed).
    cell = best_cell(best)
    recipe = trial_config(base_config(cfg), cfg.grid, cell, best.seed or 0)
    seen = trial_data(data, cell)
    points = []
    for fraction, size in sizes:
        if size >= len(data.train):
            point = RecipePoint(fraction, size, load_correct(best.test_correct, len(data.test)),
                                best.seconds, best.run_id)
        else:
            index = stratified_subset(data.train.labels, size, cfg.seed)
            subset = dataclasses.replace(
                seen, train=Split(data.train.images[index], data.train.labels[index]))
            epochs = subset_epochs(cfg, recipe, size)
            result = train_recipe(
                recipe.replace(**{"train.epochs": epochs}), subset,
                Path(cfg.leaderboard.models_dir) / "recipe" / f"{size}",
                run_name=f"{RECIPE_FRACTION_KIND}-{best.cell}-{size}",
                parent_run_id=parent_run_id, client=client,
                tags={KIND_TAG: RECIPE_FRACTION_KIND, "leaderboard.fraction": str(fraction),
                      "recipe.cell": best.cell or ""},
            )
            point = RecipePoint(fraction, size, load_correct(result.test_correct, len(data.test)),
                                result.seconds, result.run_id)
        if on_point is not None:
            on_point(point)
        points.append(point)
    return points
