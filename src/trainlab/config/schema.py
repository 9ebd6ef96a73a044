"""The params sections: what every section is (frozen, unknown keys forbidden), the value types
and choices they share, and the sections of the recipe and its search (data, model, train,
regularization, augmentation, tracking, presets, grid, search, ensemble) and of the outputs
(stats, report). The pretrained networks' sections are :mod:`trainlab.config.pretrained`'s,
the claims' :mod:`trainlab.config.claims`'.

A typo such as `train.lrr` stops the command before any work with a message naming the key,
the value and what is allowed (exit code 2 via :class:`~trainlab.errors.ConfigError`).
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# `Literal[NAMES]` of a tuple constant: pydantic validates the choices from the one tuple that
# names them; mypy reads only literal values there, hence its `type: ignore[valid-type]`.
DATASETS = ("fashion_mnist", "digits", "mnist", "cifar10", "cifar100", "svhn", "imagefolder")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout", "gelu")
PREPROCESSING = ("none", "mean_image", "channel_mean", "channel_standardize")
PENALTIES = ("none", "l2", "l1", "elastic")

Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]


def check_lists(section: str, model: BaseModel, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> None:
    """Each `required` list holds a value; no list, `optional` ones included, repeats one."""
    for key in required:
        if not getattr(model, key):
            raise ValueError(f"{section}.{key} is empty: list at least one value")
    for key in (*required, *optional):
        values = list(getattr(model, key) or ())
        if len(set(values)) != len(values):
            raise ValueError(f"{section}.{key} = {values} repeats a value; list each once")


class Section(BaseModel):
    """A params section: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def project_relative(value: str) -> str:
    """Keep output paths inside the project: relative, without '..' (no writes elsewhere)."""
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not value.strip():
        raise ValueError("must be a relative path inside the project without '..'; use a "
                         "folder such as 'data/prepared'")
    return value


# An output folder of the project (the error names the key: trainlab.config.params._describe).
ProjectPath = Annotated[str, AfterValidator(project_relative)]


class DataConfig(Section):
    dataset: Literal[DATASETS] = "fashion_mnist"  # type: ignore[valid-type]
    root: str | None = None  # where the raw dataset lies (None: the dataset's default places)
    train_subset: PositiveInt | None = 10_000  # stratified subset of the train pool; None = all
    val_subset: PositiveInt | None = None  # stratified subset of the val split; None = all
    test_subset: PositiveInt | None = None  # stratified subset of the test split; None = all
    val_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1  # of the train pool
    test_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2  # only without own test split
    image_size: PositiveInt | None = None  # imagefolder: resize to a square of this side
    preprocessing: Literal[PREPROCESSING] = "channel_standardize"  # type: ignore[valid-type]
    download: bool = True  # torchvision may download when the network allows
    prepared_dir: ProjectPath = "data/prepared"


# `model.arch`: a built-in network, or the user's factory (trainlab.models.custom imports it).
BUILTIN_ARCHS = ("mlp", "cnn")
_FACTORY = re.compile(r"^(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|[\w./-]+\.py):[A-Za-z_]\w*$")


def arch_name(value: str) -> str:
    """`mlp`, `cnn`, `package.module:function` or `path/to/file.py:function` (syntax only:
    :mod:`trainlab.models.custom` imports and checks the factory)."""
    path = value.partition(":")[0]
    inside = not path.startswith("/") and ".." not in path.split("/")
    if value in BUILTIN_ARCHS or (_FACTORY.match(value) and inside):
        return value
    raise ValueError(
        "allowed: 'mlp', 'cnn', or your own network's factory as 'package.module:function' "
        "or 'path/to/file.py:function' (relative to the project root, without '..')"
    )


class ModelConfig(Section):
    arch: Annotated[str, AfterValidator(arch_name)] = "cnn"
    # The file (or folder) holding the network's code: the stages that build networks list
    # `${model.arch_file}` as a DVC dependency, so editing a factory reruns them.
    arch_file: ProjectPath = "src/trainlab/models/networks.py"
    activation: Literal[ACTIVATIONS] = "relu"  # type: ignore[valid-type]
    leaky_slope: Fraction = 0.01
    elu_alpha: Positive = 1.0
    maxout_pieces: Annotated[int, Field(ge=2, le=8)] = 2
    hidden: tuple[PositiveInt, ...] = (256, 128)  # MLP hidden widths
    channels: tuple[PositiveInt, ...] = (32, 64)  # CNN conv widths, each block halves H and W
    cnn_hidden: PositiveInt = 128  # width of the CNN's fully connected hidden layer
    dropout: Fraction = 0.0

    @field_validator("hidden", "channels")
    @classmethod
    def _non_empty(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("must list at least one width, for example [128]")
        return value


class TrainConfig(Section):
    epochs: PositiveInt = 8
    batch_size: PositiveInt = 128
    lr: Positive = 2e-3
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: Fraction = 0.9  # sgd only
    patience: PositiveInt | None = 3  # early stopping on val/acc; None disables it
    min_delta: NonNegative = 0.0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: PositiveInt | None = None  # torch intra-op threads; None = torch's default
    # Train images re-scored (eval mode, no augmentation) for the train-vs-test gap. 5,000:
    # the gap's standard error is ~0.46 points with a 10,000-image test set at ~95% / ~88%
    # accuracy (0.41 with 10,000 re-scored), for half the pass: re-scoring is the largest
    # cost a training adds to its steps (a CNN scores ~3,000 images/s on a CPU core).
    gap_sample: PositiveInt = 5_000
    diagnostics_every: Annotated[int, Field(ge=0)] = 1  # epochs between diagnostics; 0 = off
    diagnostics_batch: PositiveInt = 512  # fixed validation images the diagnostics look at
    deterministic: bool = True

    @field_validator("lr")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite positive number, got {value}")
        return value


class RegularizationConfig(Section):
    """Penalty lambda*R(W) over the weights (not the biases); dropout is `model.dropout`."""

    kind: Literal[PENALTIES] = "none"  # type: ignore[valid-type]
    strength: NonNegative = 0.0  # lambda
    elastic_beta: NonNegative = 1.0  # R(W) = sum(beta * W^2 + |W|) for elastic


class AugmentationConfig(Section):
    """On-device batch augmentation; every strength 0 means off. Train batches only."""

    hflip: Probability = 0.0  # probability of a horizontal flip
    crop_scale: Fraction = 0.0  # random crop/scale: zoom in by up to this fraction, random place
    brightness: Fraction = 0.0  # additive shift up to +-this, on the [0, 1] pixel scale
    contrast: Fraction = 0.0  # contrast factor in [1 - c, 1 + c]
    translate: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0  # shift up to this fraction of size
    rotate: Annotated[float, Field(ge=0.0, le=180.0)] = 0.0  # degrees, +-
    stretch: Fraction = 0.0  # anisotropic scale: x and y scaled by independent 1 +- s
    shear: Annotated[float, Field(ge=0.0, lt=60.0)] = 0.0  # degrees, +-

    @property
    def enabled(self) -> bool:
        return any(value > 0 for value in self.model_dump().values())


class TrackingConfig(Section):
    enabled: bool = True  # false: `trainlab train` runs without MLflow (no run, no logger)
    uri: str = "sqlite:///mlflow.db"
    experiment: Annotated[str, Field(min_length=1)] = "trainlab"
    log_checkpoint: bool = True  # copy the best checkpoint into the run's artifacts
    # The search's best recipe and the ensemble as MLflow models in the registry (alias
    # `champion`): a few seconds each.
    register_models: bool = True


class RegularizationPreset(Section):
    """A named regularization setting of the grid: a penalty and/or dropout."""

    kind: Literal[PENALTIES] = "none"  # type: ignore[valid-type]
    strength: NonNegative = 0.0
    elastic_beta: NonNegative = 1.0
    dropout: Fraction = 0.0


class PresetsConfig(Section):
    """Named settings the grid's axes pick by name (`grid.regularization: [none, dropout]`):
    defined once here, so a list written over an axis (`dvc exp run -S`) keeps them."""

    regularization: dict[str, RegularizationPreset] = Field(
        default_factory=lambda: {"none": RegularizationPreset()}
    )
    augmentation: dict[str, AugmentationConfig] = Field(
        default_factory=lambda: {"none": AugmentationConfig()}
    )


class GridConfig(Section):
    """The axes of the search; `validate` has resolved preset names to their definitions."""

    activation: tuple[Literal[ACTIVATIONS], ...] = ACTIVATIONS[:6]  # type: ignore[valid-type]
    regularization: dict[str, RegularizationPreset] = Field(
        default_factory=lambda: {"none": RegularizationPreset()}
    )
    augmentation: dict[str, AugmentationConfig] = Field(
        default_factory=lambda: {"none": AugmentationConfig()}
    )
    preprocessing: tuple[Literal[PREPROCESSING], ...] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _non_empty(self) -> GridConfig:
        for key in ("activation", "regularization", "augmentation"):
            if not getattr(self, key):
                raise ValueError(
                    f"grid.{key} is empty: the grid needs at least one choice per axis"
                )
        if self.preprocessing is not None and not self.preprocessing:
            raise ValueError("grid.preprocessing is empty: list at least one or use null")
        for key in ("regularization", "augmentation"):
            for name in getattr(self, key):
                # Names build the cell id `relu|l2|flip_crop` and run names `...#s0`.
                if not name or not name.strip() or any(c in name for c in "|#"):
                    raise ValueError(
                        f"grid.{key} preset name {name!r} is not allowed: use a non-empty name "
                        "without '|' or '#', such as 'l2' or 'flip_crop'"
                    )
        return self


class Range(Section):
    low: Positive
    high: Positive
    log: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.high:
            raise ValueError(f"`low <= high` must hold, but got (low={self.low}, high={self.high})")
        return self


class RaceConfig(Section):
    """Racing (grid sampler): after every cell trained once, extra seeds only for the cells
    that cannot yet be told apart from the leader on validation, round by round. Off unless
    params.yaml turns it on (the repository's does)."""

    enabled: bool = False
    seeds_per_round: PositiveInt = 2  # extra seeds each selected cell trains per round
    max_cells: Annotated[int, Field(ge=2)] = 4  # most cells per round, the leader included
    max_rounds: Annotated[int, Field(ge=0)] = 2  # 0: no racing


class SearchConfig(Section):
    sampler: Literal["grid", "tpe"] = "grid"
    n_trials: PositiveInt = 20  # tpe only; grid trains every cell x repeats
    repeats: PositiveInt = 1  # seeds per grid cell
    race: RaceConfig = RaceConfig()  # extra seeds where the leaders are close (grid only)
    pruner: Literal["median", "hyperband", "none"] = "median"
    pruner_warmup_epochs: Annotated[int, Field(ge=0)] = 0  # 0: prunable after one epoch
    order: Literal["shuffled", "grid"] = "shuffled"  # the order grid trials are handed out
    storage: str = "sqlite:///optuna.db"
    study_name: Annotated[str, Field(min_length=1)] = "trainlab-grid"
    # Local processes on one study; auto: as many as the device holds (search/capacity.py).
    workers: PositiveInt | Literal["auto"] = 1
    top_k: PositiveInt = 5  # checkpoints kept for the ensemble stage
    lr: Range | None = None  # tpe: tune the learning rate in this range
    strength: Range | None = None  # tpe: tune the penalty strength in this range
    dropout: Range | None = None  # tpe: tune the dropout rate in this range
    models_dir: ProjectPath = "models/search"
    pruner_startup_trials: Annotated[int, Field(ge=0)] = 5  # median: finished trials first
    heartbeat_interval: PositiveInt = 30  # seconds between a running trial's heartbeats
    grace_period: PositiveInt = 120  # seconds without heartbeat before a trial counts as dead
    # Dotted keys applied to every trial (the per-trial scale), e.g. {"train.epochs": 4}.
    overrides: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        if self.dropout is not None and self.dropout.high >= 1.0:
            raise ValueError(
                f"search.dropout.high must be below 1, got {self.dropout.high}; e.g. 0.5"
            )
        if self.grace_period <= self.heartbeat_interval:
            raise ValueError(
                f"search.grace_period ({self.grace_period} s) must exceed "
                f"search.heartbeat_interval ({self.heartbeat_interval} s), e.g. 4x it"
            )
        for key in self.overrides:
            if key.split(".")[0] not in ("model", "train", "regularization",
                                         "augmentation"):
                raise ValueError(
                    f"search.overrides key {key!r} is not allowed: overrides set how each trial "
                    "trains (keys under model, train, regularization, augmentation)"
                )
        return self



class EnsembleConfig(Section):
    top_k: PositiveInt = 5  # members averaged; all of them when the manifest lists fewer
    greedy_pool: PositiveInt = 10  # greedy forward selection draws from the top-n
    greedy_steps: PositiveInt = 20  # most additions (with replacement) greedy selection makes
    greedy_metric: Literal["accuracy", "nll"] = "accuracy"  # val score greedy selection climbs
    ece_bins: PositiveInt = 15  # equal-width bins on the max probability for the ECE
    batch_size: PositiveInt = 1024  # images per inference batch
    device: Literal["auto", "cpu", "cuda"] = "auto"


class StatsConfig(Section):
    """How every comparison states its uncertainty (trainlab.stats; scipy underneath)."""

    # Confidence level of every interval, ranking and verdict in the reports.
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    # Bootstrap resamples per interval: the endpoints move by ~0.06 sd between seeds at 2000.
    resamples: Annotated[int, Field(ge=200, le=100_000)] = 2000
    # Trainings (seed, seed+1, ...) of every model a verdict, ranking or headline compares:
    # pretrained cells, baselines, the best recipe's curve, ensembles. Their spread is in every
    # interval (seed x image bootstrap); one seed gives no verdict ("one seed").
    seeds: Annotated[int, Field(ge=1, le=20)] = 3


class ReportConfig(Section):
    out: ProjectPath = "reports"
    curves: Annotated[int, Field(ge=0)] = 4  # learning curves drawn besides the best and worst
    title: Annotated[str, Field(min_length=1)] = "trainlab report"  # the page's heading
    dpi: Annotated[int, Field(ge=50, le=300)] = 110  # figure resolution, dots per inch

