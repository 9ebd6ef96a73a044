"""The lecture's loss penalty lambda * R(W) over the weights of Linear/Conv2d layers.

Biases are left out (they do not scale the input, so shrinking them does not smooth the
function), and so are frozen weights (requires_grad False): the optimiser cannot move them, so
they would only add a constant to the loss, for example a linear probe's frozen backbone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from trainlab.config.schema import RegularizationConfig
from trainlab.models.networks import weighted_layers


def _terms(beta: float) -> dict[str, Callable[[Tensor], Tensor]]:
    """R(W) of one weight tensor per penalty kind, each a 0-dim tensor on W's device."""
    return {
        "l2": lambda w: w.square().sum(),
        "l1": lambda w: w.abs().sum(),
        "elastic": lambda w: (beta * w.square() + w.abs()).sum(),
    }


def penalty(net: nn.Module, cfg: RegularizationConfig) -> Tensor:
    """lambda * R(W) summed over the trainable Linear/Conv2d weights of ``net``.

    Args:
        net: Any module; its Linear and Conv2d weights are penalised, biases are not.
        cfg: The regularization section: ``kind``, ``strength`` (lambda), ``elastic_beta``.

    Returns:
        A 0-dim tensor on the weights' device, differentiable, with no host sync.
        ``kind="none"`` or ``strength=0`` give a constant zero without touching the weights.
    """
    weights = [m.weight for _, m in weighted_layers(net) if m.weight.requires_grad]
    first = next(net.parameters(), None)
    zero = torch.zeros((), device=first.device if first is not None else None)
    if cfg.kind == "none" or cfg.strength == 0 or not weights:
        return zero
    terms = _terms(cfg.elastic_beta)
    if cfg.kind not in terms:
        raise ValueError(
            f"regularization.kind = {cfg.kind!r} is not allowed: allowed: {['none', *terms]}"
        )
    term = terms[cfg.kind]
    # One small kernel chain per layer; stacking keeps everything on the device.
    return cfg.strength * torch.stack([term(w) for w in weights]).sum()
