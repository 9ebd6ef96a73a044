"""ImageNet-pretrained baselines on the main task: the grid's own train, val and test splits.

Each `leaderboard.backbones` x `leaderboard.modes` trains at each `leaderboard.fractions` of
the prepared train split (stratified, seeded, nested), at each of `Config.training_seeds`
(`stats.seeds` trainings: the leaderboard's rows and curve are means over them, with seed x
image intervals; one subset a fraction, shared by the seeds), as the transfer stage's pretrained
cells do (:func:`trainlab.transfer.pretrained.train_pretrained_cells`: the project's one
Trainer factory, early stopping and the best snapshot on val accuracy, `transfer.*`
hyperparameters), tracked as runs of kind `baseline` under the leaderboard's run. The frozen
features are computed once per backbone for every split and shared by its cells; each cell's
training seconds include that pass, which a baseline trained alone would pay too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from mlflow.tracking import MlflowClient
from torch import nn

from trainlab.config.params import Config
from trainlab.correctness import load_correct
from trainlab.data.prepared import PreparedData
from trainlab.data.split import SPLITS
from trainlab.errors import ConfigError
from trainlab.leaderboard.costs import images_per_second, parameter_count
from trainlab.models.checkpoint import predict_proba
from trainlab.tracking import BASELINE_KIND
from trainlab.transfer.backbones import check_weights, imagenet_backbone
from trainlab.transfer.cell import CellSetup
from trainlab.transfer.features import Inputs
from trainlab.transfer.module import FEATURE_BATCH, Batches
from trainlab.transfer.pretrained import TrainedCell, train_pretrained_cells
from trainlab.transfer.results import CellResult
from trainlab.transfer.tasks import stratified_subset


@dataclass(frozen=True)
class Baseline:
    """One pretrained baseline at one fraction of the train split, trained at one seed."""

    name: str  # "<backbone> <mode>"
    fraction: float
    cell: CellResult  # its scores and MLflow run
    probs: np.ndarray  # (N_test, C) of the best snapshot
    correct: np.ndarray  # (N_test,) bool: what the cell saved (trainlab.correctness)
    params: int
    train_seconds: float  # the cell's + the shared frozen-feature pass
    # measured for the whole-split cells of the first seed only (the seeds share the network)
    images_per_second: float | None
    model: nn.Module  # as deployed: raw images in, logits out (best snapshot)


def fraction_sizes(fractions: tuple[float, ...], data: PreparedData) -> list[tuple[float, int]]:
    """(fraction, train images) per `leaderboard.fractions` entry, smallest first.

    Raises:
        ConfigError: a fraction too small to hold each class once.
    """
    available = len(data.train)
    sizes = []
    for fraction in sorted(fractions):
        size = available if fraction == 1.0 else round(fraction * available)
        if size < data.num_classes:
            raise ConfigError(
                f"leaderboard.fractions entry {fraction} takes {size} of the {available} train "
                f"images, fewer than the {data.num_classes} classes; use at least "
                f"{data.num_classes / available:.4g}"
            )
        sizes.append((fraction, size))
    return sizes


def train_baselines(
    cfg: Config,
    data: PreparedData,
    client: MlflowClient,
    parent_run_id: str,
    device: torch.device,
    on_result: Callable[[Baseline], None] | None = None,
) -> list[Baseline]:
    """Every backbone x mode x fraction, trained, scored on the test split and tracked.

    Raises:
        DataError: pretrained weights missing or unreadable.
    """
    lb, t = cfg.leaderboard, cfg.transfer
    check_weights(t.model_copy(update={"backbones": lb.backbones}))
    sizes = fraction_sizes(lb.fractions, data)
    subsets = {size: stratified_subset(data.train.labels, size, cfg.seed) for _, size in sizes}
    # A cell's requested size is its fraction, as text (its run's tag and the cell.* param).
    requested = [(str(fraction), size) for fraction, size in sizes]
    fractions = {str(fraction): fraction for fraction, _ in sizes}
    images = Inputs({name: data.splits[name].images.to(device) for name in SPLITS},
                    {name: data.splits[name].labels.to(device) for name in SPLITS})
    # The cells' checkpoints go under leaderboard.models_dir, not the transfer study's.
    setup = CellSetup(cfg.replace(**{"transfer.models_dir": lb.models_dir}), data, subsets,
                      device, client, parent_run_id)
    results = []

    def score(trained: TrainedCell) -> None:
        cell, fraction = trained.result, fractions[trained.result.requested_size]
        probs, _ = predict_proba(trained.module, Batches(trained.inputs.splits["test"],
                                                         trained.inputs.labels["test"],
                                                         FEATURE_BATCH))
        deployed = trained.deployed
        speed = (images_per_second([deployed], data.test.images[:lb.inference_images], device)
                 if fraction == 1.0 and cell.seed == cfg.seed else None)
        result = Baseline(f"{cell.backbone} {cell.mode}", fraction, cell, probs.cpu().numpy(),
                          load_correct(cell.test_correct, len(data.test)),
                          parameter_count(deployed), cell.seconds + trained.feature_seconds,
                          speed, deployed.eval())
        if on_result is not None:
            on_result(result)
        results.append(result)

    for name in lb.backbones:
        backbone = imagenet_backbone(name, True, t.image_size, t.resnet18_weights).to(device)
        train_pretrained_cells(setup, name, backbone, lb.modes, requested, images,
                               data.num_classes,
                               size_params={key: {"fraction": value}
                                            for key, value in fractions.items()},
                               kind=BASELINE_KIND, on_cell=score)
    return results
