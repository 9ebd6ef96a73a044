"""The pretrained cells of one backbone: every mode x size, on frozen inputs computed once.

The transfer stage (on its target task) and the leaderboard (its baselines on the main task)
train pretrained networks the same way, here: split the backbone at
`transfer.finetune_blocks`, compute the frozen part's output once for every split
(:func:`trainlab.transfer.features.frozen_inputs`), then train one cell per mode, size and
seed of `Config.training_seeds` (:func:`trainlab.transfer.cell.run_cell`), each from the
pretrained weights. The seeds differ in the head's initialisation and the batch order; the
frozen inputs do not depend on the seed, so every seed shares them (the seeds cost only the
cells' own training, not another feature pass).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from torch import nn

from trainlab.tracking import TRANSFER_KIND
from trainlab.transfer.backbones import Backbone
from trainlab.transfer.cell import CellSetup, pretrained_module, run_cell
from trainlab.transfer.features import Inputs, frozen_inputs
from trainlab.transfer.module import TransferModule
from trainlab.transfer.results import CellResult


@dataclass(frozen=True)
class TrainedCell:
    """One pretrained cell as trained, with what a caller scores or deploys beyond its result."""

    result: CellResult  # its scores and MLflow run
    module: TransferModule  # the best snapshot, loaded
    inputs: Inputs  # what it trained and was tested on: cached features or raw images
    deployed: nn.Module  # raw images in, logits out: the frozen part, the trained top, the head
    feature_seconds: float  # the frozen-input pass its backbone's cells share (not in result)


@dataclass(frozen=True)
class PretrainedCells:
    """Every pretrained cell of one backbone, in training order (mode, size, then seed)."""

    cells: list[CellResult]
    feature_seconds: float  # the frozen inputs, computed once for all the cells


def train_pretrained_cells(
    setup: CellSetup,
    name: str,
    backbone: Backbone,
    modes: Sequence[str],
    sizes: Sequence[tuple[str, int]],
    images: Inputs,
    num_classes: int,
    *,
    size_params: Mapping[str, dict[str, Any]] | None = None,
    kind: str = TRANSFER_KIND,
    on_cell: Callable[[TrainedCell], None] | None = None,
) -> PretrainedCells:
    """Train `backbone` (pretrained, on the device) in each of `modes` at each of `sizes`, at
    each of `setup.cfg.training_seeds()` (`stats.seeds` trainings a cell).

    Args:
        setup: what every cell shares (config, data, subsets by size, device, runs).
        name: the backbone's name, as the runs are tagged.
        modes: `linear_probe` and/or `finetune`.
        sizes: (requested, actual train images) per cell; `setup.subsets` holds each actual.
        images: the raw train/val/test images and labels, on the device.
        num_classes: the head's outputs.
        size_params: extra `cell.*` params per requested size (the leaderboard's fraction).
        kind: the runs' kind tag.
        on_cell: called with each cell once trained (progress, scoring, deployment).
    """
    t = setup.cfg.transfer
    frozen, top = backbone.split(t.finetune_blocks)
    started = time.perf_counter()
    probe, tune = frozen_inputs(images, setup.device, backbone, frozen, top, "finetune" in modes)
    # Computed once, shared by the cells (whose own seconds leave it out).
    feature_seconds = time.perf_counter() - started
    cells = []
    for mode in modes:
        inputs = probe if mode == "linear_probe" else tune
        trainable = {"trainable_blocks": 0 if mode == "linear_probe" else len(top)}
        for (requested, size), seed in product(sizes, setup.cfg.training_seeds()):
            module = pretrained_module(mode, backbone, frozen, top, tune is images, num_classes,
                                       t)
            extra = dict((size_params or {}).get(requested, {})) | trainable
            result = run_cell(setup, name, mode, requested, size, module, inputs, extra,
                              kind=kind, seed=seed)
            if on_cell is not None:
                deployed = (nn.Sequential(backbone, module.head) if mode == "linear_probe"
                            else nn.Sequential(frozen, module.top, module.head))
                on_cell(TrainedCell(result, module, inputs, deployed, feature_seconds))
            cells.append(result)
    return PretrainedCells(cells, feature_seconds)
