"""Accuracy: of predicted scores against labels, and of a network over batches.

Imports only torch, so the ensemble's metrics and the claims' loops can share it cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples (N,) whose argmax over scores (N, C) is the label.

    Scores are probabilities or logits (the argmax is the same); the mean runs in float64, so
    the result is the exact count / N, whatever the order of the samples or members.
    """
    return (scores.argmax(dim=-1) == labels).double().mean().item()


@torch.inference_mode()
def module_accuracy(module: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
                    ) -> float:
    """Top-1 accuracy of `module` in eval mode over (images, labels) batches; 0 for none.

    The count stays on the device until the end: one host sync per evaluation, not per batch.
    """
    was_training = module.training
    module.eval()
    try:
        correct, total = 0, 0
        for x, y in batches:
            correct = correct + (module(x).argmax(dim=1) == y).sum()
            total += len(y)
    finally:
        module.train(was_training)
    return int(correct) / max(total, 1)


@torch.inference_mode()
def module_correct(module: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
                   ) -> torch.Tensor:
    """Per sample, whether `module` (eval mode) predicts its label: bool (N,), in order.

    What paired comparisons need (trainlab.correctness); its mean is `module_accuracy`.
    """
    was_training = module.training
    module.eval()
    try:
        parts = [module(x).argmax(dim=1) == y for x, y in batches]
    finally:
        module.train(was_training)
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.bool)
