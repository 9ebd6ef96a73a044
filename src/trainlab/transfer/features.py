"""The frozen-feature cache: what a backbone's frozen part outputs, computed once per task.

The linear probe trains on the whole backbone's features; fine-tuning on the cached output
of the frozen bottom blocks when that is no bigger than the input. Every cell of the backbone
(each mode at each size) reads the same cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from trainlab.transfer.backbones import Backbone
from trainlab.transfer.module import frozen_features


@dataclass
class Inputs:
    """What one kind of module eats, for the whole target task, on the device.

    `splits` maps train/val/test to uint8 images or float features (N, ...); labels alike.
    """

    splits: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]


def frozen_inputs(
    images: Inputs, device: torch.device, backbone: Backbone, frozen: nn.Sequential,
    top: nn.Module, finetune: bool,
) -> tuple[Inputs, Inputs]:
    """(linear-probe features, fine-tune inputs), each computed once for the whole task.

    Fine-tuning trains on the cached output of the frozen bottom blocks when there are any
    and that output is no bigger per image than the resized input (so caching never costs
    more memory than the input itself); else on the raw `images`, through `frozen` per batch.
    """
    labels = images.labels
    bottom = {}
    if finetune and len(frozen) > 1 and _cache_fits(backbone, frozen, images, device):
        bottom = {k: frozen_features(frozen, v, device) for k, v in images.splits.items()}
    if bottom:
        probe = {k: frozen_features(top, v, device) for k, v in bottom.items()}
        return Inputs(probe, labels), Inputs(bottom, labels)
    probe = {k: frozen_features(backbone, v, device) for k, v in images.splits.items()}
    return Inputs(probe, labels), images


def _cache_fits(backbone: Backbone, frozen: nn.Module, images: Inputs,
                device: torch.device) -> bool:
    sample = images.splits["train"][:1]
    prep = frozen_features(backbone.prep, sample, device)
    return frozen_features(frozen, sample, device).numel() <= prep.numel()
