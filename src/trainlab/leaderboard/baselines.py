"""ImageNet-pretrained baselines on the main task: the grid's own train, val and test splits.

Each `leaderboard.backbones` x `leaderboard.modes` trains at each `leaderboard.fractions` of
the prepared train split (stratified, seeded, nested), as a transfer cell does
(:func:`trainlab.transfer.cell.run_cell`: the project's one Trainer factory, early stopping
and the best snapshot on val accuracy, `transfer.*` hyperparameters), tracked as runs of kind
`baseline` under the leaderboard's run. The frozen features are computed once per backbone
for every split and shared by its cells; each cell's training seconds include that pass,
which a baseline trained alone would pay too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from mlflow.tracking import MlflowClient
from torch import nn

from trainlab.config import Config
from trainlab.correctness import load_correct
from trainlab.data.prepared import PreparedData
from trainlab.errors import ConfigError
from trainlab.leaderboard.costs import images_per_second, parameter_count
from trainlab.models.checkpoint import predict_proba
from trainlab.tracking import BASELINE_KIND
from trainlab.transfer.backbones import check_weights, imagenet_backbone
from trainlab.transfer.cell import CellSetup, pretrained_module, run_cell
from trainlab.transfer.features import Inputs, frozen_inputs
from trainlab.transfer.module import FEATURE_BATCH, Batches
from trainlab.transfer.results import CellResult
from trainlab.transfer.tasks import stratified_subset

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Baseline:
    """One pretrained baseline at one fraction of the train split."""

    name: str  # "<backbone> <mode>"
    fraction: float
    cell: CellResult  # its scores and MLflow run
    probs: np.ndarray  # (N_test, C) of the best snapshot
    correct: np.ndarray  # (N_test,) bool: what the cell saved (trainlab.correctness)
    params: int
    train_seconds: float  # the cell's + the shared frozen-feature pass
    images_per_second: float | None  # measured for the whole-split cells only
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
    images = Inputs({name: data.splits[name].images.to(device) for name in SPLITS},
                    {name: data.splits[name].labels.to(device) for name in SPLITS})
    # The cells' checkpoints go under leaderboard.models_dir, not the transfer study's.
    setup = CellSetup(cfg.replace(**{"transfer.models_dir": lb.models_dir}), data, subsets,
                      device, client, parent_run_id)
    results = []
    for name in lb.backbones:
        backbone = imagenet_backbone(name, True, t.image_size, t.resnet18_weights).to(device)
        frozen, top = backbone.split(t.finetune_blocks)
        started = time.perf_counter()
        probe, tune = frozen_inputs(images, device, backbone, frozen, top, "finetune" in lb.modes)
        feature_seconds = time.perf_counter() - started
        for mode in lb.modes:
            inputs = probe if mode == "linear_probe" else tune
            for fraction, size in sizes:
                module = pretrained_module(mode, backbone, frozen, top, tune is images,
                                           data.num_classes, t)
                cell = run_cell(setup, name, mode, str(fraction), size, module, inputs,
                                {"fraction": fraction, "trainable_blocks":
                                 0 if mode == "linear_probe" else len(top)}, kind=BASELINE_KIND)
                probs, _ = predict_proba(module, Batches(inputs.splits["test"],
                                                         inputs.labels["test"], FEATURE_BATCH))
                # The deployed model: raw images in, the trained head (and top) out.
                deployed = (nn.Sequential(backbone, module.head) if mode == "linear_probe"
                            else nn.Sequential(frozen, module.top, module.head))
                speed = (images_per_second([deployed], data.test.images[:lb.inference_images],
                                           device) if fraction == 1.0 else None)
                result = Baseline(f"{name} {mode}", fraction, cell, probs.cpu().numpy(),
                                  load_correct(cell.test_correct, len(data.test)),
                                  parameter_count(deployed), cell.seconds + feature_seconds,
                                  speed, deployed.eval())
                if on_result is not None:
                    on_result(result)
                results.append(result)
    return results
