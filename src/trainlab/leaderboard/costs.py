"""What a model costs beside its accuracy: parameters and inference images per second.

Throughput is measured here, on this machine, the same way for every row: the models' own
forward passes over the first `leaderboard.inference_images` raw test images, in batches of
FEATURE_BATCH, after one warm-up batch, in eval mode without gradients. An ensemble runs its
members one after another (its cost is their sum).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import nn

from trainlab.transfer.module import FEATURE_BATCH


def parameter_count(*modules: nn.Module) -> int:
    """Every parameter of the modules (trained or frozen), each tensor counted once."""
    seen: dict[int, int] = {}
    for module in modules:
        for parameter in module.parameters():
            seen[id(parameter)] = parameter.numel()
    return sum(seen.values())


@torch.inference_mode()
def images_per_second(models: Sequence[nn.Module], images: torch.Tensor,
                      device: torch.device) -> float:
    """Test images classified per second by `models` run in turn (one model: itself).

    Args:
        images: uint8 (N, C, H, W), taken as [0, 1] like every stage's input.
    """
    batches = [chunk.to(device).float().div_(255.0) for chunk in images.split(FEATURE_BATCH)]
    modes = [model.training for model in models]
    for model in models:
        model.eval()
        model(batches[0])  # warm-up: first-call allocations and kernel selection
    _sync(device)
    started = time.perf_counter()
    for batch in batches:
        for model in models:
            model(batch)
    _sync(device)
    seconds = time.perf_counter() - started
    for model, mode in zip(models, modes, strict=True):
        model.train(mode)
    return len(images) / seconds


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
