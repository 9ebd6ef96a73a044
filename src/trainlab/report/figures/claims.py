"""The claims' figures: gradient norm per layer (claim 1), mean activation per layer
(claim 2), dead units against the learning rate (claim 4); one colour per activation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes

from trainlab.claims.results import Band, DeadUnits, Details
from trainlab.report.document import Figure
from trainlab.report.figures.base import axes_png, plain
from trainlab.report.figures.palette import REFERENCE, activation_color

# Claim 1's two profiles per activation, as SaturationDetails keys them, and their line styles.
STATE_STYLES: tuple[tuple[Literal["init", "trained"], str], ...] = (
    ("trained", "-"), ("init", "--"))


def figure(name: str, details: Details, dpi: int) -> Figure | None:
    """The figure `name` (a key of :data:`FIGURES`, named by its claim's row of the
    catalogue, trainlab.claims.catalogue) of that claim's details; None when they hold
    nothing to draw."""
    spec = FIGURES[name]
    part = spec.part(details)
    if not part:
        return None
    return Figure(spec.name, spec.title, spec.caption,
                  axes_png(7.5, spec.height, dpi, lambda ax: spec.draw(ax, part)))


def _gradient_profile(ax: Axes, profiles: dict[str, dict[str, Band]]) -> None:
    """Claim 1: weight-gradient norm of each layer of the deep MLP, per activation."""
    for activation, states in sorted(profiles.items()):
        color = activation_color(activation)
        for state, style in STATE_STYLES:
            band = states.get(state)
            values = np.array([np.nan if v is None else v for v in band.mean] if band else [],
                              dtype=float)
            if values.size:
                layers = np.arange(1, values.size + 1)
                ax.plot(layers, values, style, marker="o", markersize=3, color=color,
                        label=plain(f"{activation} ({state})"))
    ax.set_yscale("log")
    ax.set(xlabel="layer (1 = first, last = output)", ylabel="gradient L2 norm (log)",
           title="Gradient norm per layer, deep MLP")
    ax.legend(ncols=2)


def _layer_means(ax: Axes, means: dict[str, Band]) -> None:
    """Claim 2: mean output of each hidden layer, per activation (± sd over seeds)."""
    for activation, stats in sorted(means.items()):
        mean = np.array([np.nan if v is None else v for v in stats.mean], dtype=float)
        sd = np.array([0.0 if v is None else v for v in stats.sd], dtype=float)
        ax.errorbar(np.arange(1, mean.size + 1), mean, yerr=sd, marker="o", markersize=3,
                    capsize=3, color=activation_color(activation), label=plain(activation))
    ax.axhline(0.0, color=REFERENCE, linewidth=1, linestyle=":")
    ax.set(xlabel="hidden layer", ylabel="mean activation",
           title="Mean output per hidden layer")
    ax.legend()


def _dead_by_lr(ax: Axes, table: list[DeadUnits]) -> None:
    """Claim 4: dead (and inactive) unit fraction against the learning rate."""
    activations = sorted({row.activation for row in table})
    for i, activation in enumerate(activations):
        color = activation_color(activation)
        rows = sorted((r for r in table if r.activation == activation), key=lambda r: r.lr)
        lrs = np.array([r.lr for r in rows], dtype=float)
        dead = np.array([np.nan if r.dead_mean is None else 100 * r.dead_mean
                         for r in rows], dtype=float)
        sd = np.array([100 * r.dead_sd for r in rows], dtype=float)
        inactive = np.array([np.nan if r.inactive_mean is None else
                             100 * r.inactive_mean for r in rows], dtype=float)
        ax.errorbar(lrs, dead, yerr=sd, marker="o", markersize=4, capsize=3, color=color,
                    label=plain(f"{activation}: dead"))
        ax.plot(lrs, inactive, ":", marker=".", color=color,
                label=plain(f"{activation}: inactive"))
        for lr, row in zip(lrs, rows, strict=True):
            if row.diverged:
                ax.annotate(f"{row.diverged} diverged", (lr, 0), fontsize=7,
                            color=color, textcoords="offset points", xytext=(0, 4 + 8 * i))
    ax.set_xscale("log")
    ax.set(xlabel="learning rate (log)", ylabel="units (%)",
           title="Dead units against the learning rate")
    ax.legend(ncols=2)


@dataclass(frozen=True)
class ClaimFigure:
    """A claim's figure: its file name, title and caption, the part of the claim's details
    it draws (empty: no figure) and what draws that part on one axes 7.5 inches wide."""

    name: str
    title: str
    caption: str
    part: Callable[[Any], Any]
    draw: Callable[[Axes, Any], None]
    height: float = 3.6  # inches


FIGURES = {
    "gradient_profile": ClaimFigure(
        "claims_gradient_profile", "Claim 1: gradient norm per layer",
        "Weight-gradient norm of every layer of the deep MLP on one batch, geometric mean over "
        "seeds; solid after the brief training, dashed at initialisation. A line falling "
        "towards layer 1 is the gradient vanishing on its way back.",
        lambda details: details.grad_norm, _gradient_profile),
    "layer_means": ClaimFigure(
        "claims_layer_means", "Claim 2: mean activation per layer",
        "Mean output of each hidden layer of the deep MLP on one batch (error bars: sd over "
        "seeds). Zero-centred outputs sit on the dotted line.",
        lambda details: details.layer_mean, _layer_means, height=3.4),
    "dead_by_lr": ClaimFigure(
        "claims_dead_units", "Claim 4: dead units against the learning rate",
        "Fraction of hidden units through which no gradient passes (|f'(z)| below "
        "claims.dead_units.grad_eps on every probe image; solid, ± sd over seeds) and of units "
        "whose output is ≤ 0 on every image (dotted: leaky_relu/elu units can be silent yet "
        "alive).",
        lambda details: details.by_lr, _dead_by_lr),
}
