"""The grid of recipes: cells, their stable ids, and the config one trial trains.

A cell is one choice per grid axis (activation x regularization preset x augmentation preset,
x preprocessing when that axis is set); its id joins the choices with '|', e.g.
`relu|l2|flip_crop`. A trial trains the base config (params with `search.overrides` applied)
with the cell's overrides and one seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from trainlab.config.params import Config
from trainlab.config.schema import BUILTIN_ARCHS, GridConfig
from trainlab.errors import ConfigError

T = TypeVar("T")

if TYPE_CHECKING:  # torch stays unimported for code that only needs the cells
    from trainlab.data.prepared import PreparedData

AXES = ("activation", "regularization", "augmentation", "preprocessing")

@dataclass(frozen=True)
class Cell:
    """One grid cell: a choice per axis (preprocessing None when that axis is not searched)."""

    activation: str
    regularization: str
    augmentation: str
    preprocessing: str | None = None

    @property
    def id(self) -> str:
        parts = [self.activation, self.regularization, self.augmentation]
        return "|".join(parts + ([self.preprocessing] if self.preprocessing else []))

    def params(self) -> dict[str, str]:
        """The cell as Optuna categorical params (what the report's importances read)."""
        return {axis: value for axis in AXES if (value := getattr(self, axis)) is not None}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Cell:
        return cls(**{axis: params[axis] for axis in AXES if params.get(axis) is not None})


def grid_cells(grid: GridConfig) -> list[Cell]:
    """Every cell, activation-major, in params.yaml order."""
    preprocessing = grid.preprocessing or (None,)
    return [
        Cell(*choice)
        for choice in itertools.product(
            grid.activation, grid.regularization, grid.augmentation, preprocessing
        )
    ]


def handout_order(jobs: Sequence[T], order: str, seed: int) -> list[T]:
    """Grid trials in the order workers take them: `search.order` shuffled (seeded) or grid.

    Shuffled by default: a pruner compares a trial with the trials finished before it, and
    activation-major those would all be sigmoid cells, a weak bar. Replaying a default
    search's per-epoch val accuracies through the median pruner gave 0.73x the unpruned
    epochs in grid order and 0.47x shuffled, for the same best cell.
    """
    jobs = list(jobs)
    if order == "shuffled":
        random.Random(seed).shuffle(jobs)
    return jobs


def cell_overrides(grid: GridConfig, cell: Cell) -> dict[str, Any]:
    """Dotted config keys the cell sets (a regularization preset includes its dropout)."""
    try:
        preset = grid.regularization[cell.regularization]
        augmentation = grid.augmentation[cell.augmentation]
    except KeyError as err:
        raise ConfigError(
            f"cell {cell.id!r} names the preset {err.args[0]!r}, which this params file's grid "
            f"does not define; every worker must use the coordinator's params.yaml"
        ) from None
    overrides: dict[str, Any] = {
        "model.activation": cell.activation,
        "regularization.kind": preset.kind,
        "regularization.strength": preset.strength,
        "regularization.elastic_beta": preset.elastic_beta,
        "model.dropout": preset.dropout,
        "augmentation": augmentation.model_dump(),
    }
    if cell.preprocessing is not None:
        overrides["data.preprocessing"] = cell.preprocessing
    return overrides


def base_config(cfg: Config) -> Config:
    """`cfg` with `search.overrides` applied: the per-trial scale of the search."""
    try:
        return cfg.replace(**cfg.search.overrides)
    except ConfigError as err:
        raise ConfigError(f"search.overrides: {err}".replace("override: ", "")) from None


def trial_config(
    base: Config, grid: GridConfig, cell: Cell, seed: int, extra: dict[str, Any] | None = None
) -> Config:
    """The config one trial trains: base + the cell's overrides + seed (+ tpe's suggestions)."""
    return base.replace(**(cell_overrides(grid, cell) | {"seed": seed} | (extra or {})))


def trial_data(data: PreparedData, cell: Cell) -> PreparedData:
    """The prepared data as the cell sees it (the preprocessing axis swaps the Normalize mode;
    every mode's statistics are in the prepared data)."""
    if cell.preprocessing is None or cell.preprocessing == data.preprocessing:
        return data
    return dataclasses.replace(data, preprocessing=cell.preprocessing)


def recipe_hash(cfg: Config, fingerprint: str) -> str:
    """12 hex digits identifying what a trial learns: the recipe keys
    (:data:`~trainlab.config.RECIPE_KEYS`, an allow-list) and the data.

    A resumed study keeps a finished trial only when its hash matches the current params, so
    `dvc exp run -S train.epochs=8` retrains instead of reusing 4-epoch results, while a new
    config section or a runtime key (where a trial runs or logs) retrains nothing.
    """
    parts: list[Any] = [cfg.recipe(), fingerprint]
    if cfg.model.arch not in BUILTIN_ARCHS:
        # A user's network: editing its file retrains (the built-ins' hash stays as it was).
        from trainlab.models.custom import code_digest  # torch: only for a user's network

        parts.append(code_digest(cfg.model.arch))
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


SEARCH_RUNTIME_KEYS = ("storage", "study_name", "workers", "top_k", "models_dir",
                       "heartbeat_interval", "grace_period")


def search_hash(base: Config, fingerprint: str) -> str:
    """What every worker of one study must agree on: the recipes, the grid, the sampler and
    pruner settings and the data (not where or how many processes run)."""
    search = base.search.model_dump(mode="json", exclude=set(SEARCH_RUNTIME_KEYS))
    blob = json.dumps([recipe_hash(base, fingerprint), base.grid.model_dump(mode="json"), search],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
