"""The lecture's activation functions, built by name from ``model.activation``.

Every module that :func:`make_activation` returns is an :class:`Activation`, so diagnostics
find the hidden activations of any network by type and know which function each one applies.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from trainlab.config.schema import ModelConfig

# Units that can go "dead" (output <= 0 for every input): ReLU and the variants meant to fix it.
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu"})


class Maxout(nn.Module):
    """Max over ``pieces`` linear pieces per unit: max(w1.x + b1, ..., wk.x + bk).

    The preceding Linear/Conv2d produces ``width * pieces`` features (or channels); feature
    ``u * pieces + p`` is piece ``p`` of unit ``u``, so each unit's pieces sit next to each other.
    (B, width * pieces[, H, W]) -> (B, width[, H, W]).
    """

    def __init__(self, pieces: int) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout needs pieces >= 1, got pieces={pieces}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] % self.pieces:
            raise ValueError(
                f"Maxout with pieces={self.pieces} needs a multiple of {self.pieces} features "
                f"in dim 1, got input shape {tuple(x.shape)}"
            )
        if torch.is_grad_enabled() and x.requires_grad:
            # Training: max(dim).values, not amax: its backward sends the gradient to the
            # argmax (the first piece on ties), where amax's splits it over ties in four
            # elementwise passes: the search's channels-last maxout CNN trains a step 1.9x
            # faster on one thread (bench/maxout.py).
            return x.unflatten(1, (-1, self.pieces)).max(dim=2).values
        # Prediction (no gradient: validation, test scoring, ensembles): the same values from
        # elementwise maxima of the pieces' strided views. On a CPU max(dim)'s values-and-
        # indices reduction over the 2-wide pieces of a channels-last tensor is ~6x slower
        # than this; the search's maxout CNN predicts 2.8x faster, to identical logits
        # (bench/maxout.py). (In training, elementwise passes for the winners' gradient cost
        # more than max(dim)'s scatter.)
        values = x[:, 0 :: self.pieces]
        for piece in range(1, self.pieces):
            values = torch.maximum(values, x[:, piece :: self.pieces])  # a NaN propagates
        return values

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class Activation(nn.Module):
    """A hidden activation: ``name`` is its key in :data:`ACTIVATIONS`, ``fn`` the function."""

    def __init__(self, name: str, fn: nn.Module) -> None:
        super().__init__()
        self.name = name
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


ACTIVATIONS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "sigmoid": lambda cfg: nn.Sigmoid(),
    "tanh": lambda cfg: nn.Tanh(),
    "relu": lambda cfg: nn.ReLU(),
    "leaky_relu": lambda cfg: nn.LeakyReLU(cfg.leaky_slope),
    "elu": lambda cfg: nn.ELU(cfg.elu_alpha),
    "maxout": lambda cfg: Maxout(cfg.maxout_pieces),
    "gelu": lambda cfg: nn.GELU(),  # exact erf form
}


def make_activation(cfg: ModelConfig) -> Activation:
    """A fresh activation module for ``cfg.activation``.

    Args:
        cfg: The model section; ``leaky_slope``, ``elu_alpha`` and ``maxout_pieces`` apply.

    Returns:
        An :class:`Activation` wrapping the function.
    """
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(
            f"model.activation = {cfg.activation!r} is not allowed: allowed: {sorted(ACTIVATIONS)}"
        )
    return Activation(cfg.activation, ACTIVATIONS[cfg.activation](cfg))


def width_factor(cfg: ModelConfig) -> int:
    """How many outputs the layer before an activation needs per unit (maxout pieces, else 1)."""
    return cfg.maxout_pieces if cfg.activation == "maxout" else 1
