"""The lecture's per-layer diagnostics: saturated sigmoid/tanh units, dead ReLUs, gradient flow.

A *unit* is a feature of a Linear layer or a channel of a Conv2d layer. Activation statistics
are computed on device and brought to the host once per call; gradient norms stay tensors.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from trainlab.models.activations import RELU_FAMILY
from trainlab.models.networks import hidden_activations, weighted_layers

SATURATION = 0.01  # distance from the output bound that counts as saturated (sigmoid' < 0.0099)
_LAYER_KEY = re.compile(r"(?:.*/)?grad_norm/layer(\d+)")


def _saturated_count(name: str, y: Tensor) -> Tensor:
    """Unit-examples in a flat region: sigmoid near 0 or 1, tanh near +-1 (0 for others)."""
    if name == "sigmoid":
        return ((y < SATURATION) | (y > 1 - SATURATION)).sum()
    if name == "tanh":
        return (y.abs() > 1 - SATURATION).sum()
    return y.new_zeros((), dtype=torch.long)


def _unit_max(y: Tensor) -> Tensor:
    """Per unit (dim 1), the largest output over the examples (and positions): a unit is
    dead when it is <= 0. One reduction, no copy: a conv channel is one unit."""
    return y.amax(dim=[d for d in range(y.dim()) if d != 1])


@torch.no_grad()
def activation_stats(net: nn.Module, x: Tensor) -> dict[str, float]:
    """Mean, spread, saturation and dead-unit fraction of each hidden activation on batch ``x``.

    Runs ``net`` once in eval mode (dropout off) with forward hooks on its hidden activations;
    the hooks are removed and every submodule's train/eval mode restored afterwards.

    Args:
        net: A network whose hidden activations are :class:`Activation` modules.
        x: A fixed batch (B, C, H, W); moved to the network's device.

    Returns:
        Per layer ``diag/layerN/{mean,std,saturated}`` and, for the ReLU family,
        ``diag/layerN/dead`` (fraction of units whose output is <= 0 on the whole batch;
        "inactive" for leaky_relu/elu/gelu). Aggregates: ``diag/saturated`` (mean over layers),
        ``diag/mean_abs_mean`` (mean over layers of |mean|) and, for the ReLU family,
        ``diag/dead`` (dead units / all units).
    """
    probe = ActivationProbe(net, len(x))
    modes = {module: module.training for module in net.modules()}
    try:
        net.eval()
        first = next(net.parameters(), None)
        with probe.watch(len(x)):
            net(x.to(first.device) if first is not None else x)
    finally:
        for module, training in modes.items():
            module.training = training
    return probe.stats()


@dataclass(frozen=True)
class _LayerSums:
    """One layer's outputs summed over the images seen so far (device tensors, no sync)."""

    count: int  # elements
    total: Tensor  # sum, float64
    squares: Tensor  # sum of squares, float64
    saturated: Tensor  # saturated elements
    unit_max: Tensor  # (U,) largest output of each unit

    @classmethod
    def of(cls, kind: str, y: Tensor) -> _LayerSums:
        # A batch's sums in float32 (torch reduces pairwise: ~1e-7 relative error; a float64
        # reduction is 20x slower on a CPU core), carried across batches in float64. The
        # variance E[y^2] - E[y]^2 then keeps ~3 digits even for a sigmoid layer at mean 0.5
        # and spread 0.01.
        return cls(y.numel(), y.sum().double(), torch.linalg.vector_norm(y).double().square(),
                   _saturated_count(kind, y), _unit_max(y))

    def __add__(self, other: _LayerSums) -> _LayerSums:
        return _LayerSums(self.count + other.count, self.total + other.total,
                          self.squares + other.squares, self.saturated + other.saturated,
                          torch.maximum(self.unit_max, other.unit_max))


class ActivationProbe:
    """:func:`activation_stats`' numbers over the first `images` images a network sees while
    watched, accumulated batch by batch.

    The training's validation pass uses it to take the diagnostics from the forward pass it
    runs anyway (its first batches are the diagnostics images), instead of a second forward
    over them. Each batch adds to per-layer sums (values, squares, saturated outputs) and a
    per-unit running maximum, so no activation is kept or copied. For the CNN on a CPU core
    the diagnostics took 353 ms an epoch with a second forward over 512 images and copies of
    their activations (4.7% of its training); read this way, ~25 ms.

        probe = ActivationProbe(net, 512)
        for x in batches:
            with probe.watch(len(x)):  # hooks on while this batch goes through
                net(x)
        probe.stats()
    """

    def __init__(self, net: nn.Module, images: int) -> None:
        self.layers = hidden_activations(net)
        self.images = images
        self.seen = 0
        self._sums: dict[str, _LayerSums] = {}

    @property
    def full(self) -> bool:
        return self.seen >= self.images or not self.layers

    @contextlib.contextmanager
    def watch(self, batch_size: int) -> Iterator[None]:
        """Record the hidden activations of the forward passes in the block (one batch)."""
        take = min(batch_size, self.images - self.seen)
        if take <= 0:
            yield
            return

        def hook(name: str, kind: str):
            def record(module: nn.Module, inputs: tuple[Tensor, ...], y: Tensor) -> None:
                self._add(name, kind, y[:take].detach())
            return record

        handles = [act.register_forward_hook(hook(name, act.name)) for name, act in self.layers]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
        self.seen += take

    def _add(self, name: str, kind: str, y: Tensor) -> None:
        batch = _LayerSums.of(kind, y)
        self._sums[name] = self._sums[name] + batch if name in self._sums else batch

    def stats(self) -> dict[str, float]:
        """The statistics over the recorded images (one host sync); {} when none were seen."""
        if not self.layers or not self._sums:
            return {}
        stats: dict[str, Tensor] = {}
        dead_units: list[Tensor] = []  # (U,) bool per ReLU-family layer
        for name, act in self.layers:
            sums = self._sums[name]
            mean = sums.total / sums.count
            stats[f"diag/{name}/mean"] = mean
            stats[f"diag/{name}/std"] = (sums.squares / sums.count
                                         - mean.square()).clamp_min(0).sqrt()
            stats[f"diag/{name}/saturated"] = sums.saturated / sums.count
            if act.name in RELU_FAMILY:
                dead = sums.unit_max <= 0
                dead_units.append(dead)
                stats[f"diag/{name}/dead"] = dead.float().mean()
        means = torch.stack([stats[f"diag/{name}/mean"] for name, _ in self.layers])
        saturated = torch.stack([stats[f"diag/{name}/saturated"] for name, _ in self.layers])
        stats["diag/saturated"] = saturated.mean()
        stats["diag/mean_abs_mean"] = means.abs().mean()
        if dead_units:
            stats["diag/dead"] = torch.cat(dead_units).float().mean()
        keys = list(stats)
        values = torch.stack([stats[key].double() for key in keys]).tolist()  # one host sync
        return dict(zip(keys, values, strict=True))


def grad_norms(net: nn.Module) -> dict[str, Tensor]:
    """L2 norm of each weighted layer's weight gradient, ``grad_norm/layerN`` (0-dim tensors).

    Layers without a gradient (frozen, or before the first backward) are skipped; the others
    keep their position's name, so ``layer1`` is always the first layer of the network.
    """
    return {
        f"grad_norm/{name}": torch.linalg.vector_norm(layer.weight.grad.detach())
        for name, layer in weighted_layers(net)
        if layer.weight.grad is not None
    }


def first_to_last_grad_ratio(norms: Mapping[str, Tensor | float]) -> Tensor | float:
    """Gradient norm of the first layer over that of the last (the output layer).

    Well below 1 means the gradient shrinks on its way back (the lecture's saturated sigmoid).

    Args:
        norms: :func:`grad_norms`' output, or logged values under keys ending in
            ``grad_norm/layerN``; other keys are ignored.

    Returns:
        The ratio, a tensor for tensor inputs (no host sync), else a float (inf over a zero).
    """
    layers = sorted(
        (
            (int(match.group(1)), value)
            for key, value in norms.items()
            if (match := _LAYER_KEY.fullmatch(key))
        ),
        key=lambda item: item[0],
    )
    if len(layers) < 2:
        raise ValueError(
            f"the ratio needs the gradient norms of at least 2 layers, got keys {sorted(norms)}"
        )
    first, last = layers[0][1], layers[-1][1]
    if isinstance(first, Tensor) or isinstance(last, Tensor):
        return torch.as_tensor(first) / torch.as_tensor(last)
    return first / last if last else math.inf
