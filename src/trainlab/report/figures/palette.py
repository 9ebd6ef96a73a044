"""The report's colours: one per activation, per model kind, per transfer mode and per role,
defined here once and used by every figure, so a colour means the same thing throughout.

The activation and kind colours are drawn from different families (the activations from
Okabe-Ito, colour-blind safe; the kinds from tab10's blue/orange/green) so a recipe line is
never mistaken for an activation; the roles reuse the kind colours where they mean the same
(a member of an ensemble is a recipe).
"""

from __future__ import annotations

import zlib

from trainlab.config.schema import ACTIVATIONS

# One colour per activation of the grid (config.ACTIVATIONS); the same in the health
# figure, the claims' gradient profile, layer means and dead units.
ACTIVATION_COLORS = {
    "sigmoid": "#cc79a7", "tanh": "#0072b2", "relu": "#009e73", "leaky_relu": "#56b4e9",
    "elu": "#d55e00", "maxout": "#e6c700", "gelu": "#000000",
}
assert set(ACTIVATION_COLORS) == set(ACTIVATIONS), "a new activation needs its colour here"
# An activation this version does not know (an older run, a plug-in) still gets one
# colour, the same in every figure: picked by a stable hash of its name.
_SPARE = ("#8c564b", "#9467bd", "#bcbd22", "#17becf", "#7f7f7f", "#e377c2")

# One colour per kind of model: the leaderboard's rows, the ensemble's bars.
KIND_COLORS = {"recipe": "#1f77b4", "ensemble": "#e69f00", "baseline": "#2ca02c"}
OTHER = "#7f7f7f"  # a kind or mode with no colour of its own; reference lines

# The transfer modes: a pretrained backbone (probe, fine-tune) against the same network
# from scratch; the baselines of the leaderboard are these modes too.
MODE_COLORS = {"linear_probe": "#2ca02c", "finetune": "#9467bd", "scratch": OTHER}

# Roles within one figure.
TRAIN = KIND_COLORS["recipe"]  # train accuracy; complete trials; importance bars
VAL = "#d62728"  # validation accuracy; pruned trials
ACCENT = KIND_COLORS["ensemble"]  # the highlight: best so far, the gap bars, side B
REFERENCE = "#555555"  # a marked epoch, the zero line
FADED = "#888888"  # text of what is not scored (n/a, pruned)
ON_DARK, ON_LIGHT = "white", "black"  # a number written on a heatmap cell
# Heatmaps: accuracy on viridis (dark at its low end), the gap on magma_r (dark at its high).
ACCURACY_MAP, GAP_MAP = "viridis", "magma_r"


def activation_color(name: str) -> str:
    """The colour of activation `name`, the same in every figure."""
    return ACTIVATION_COLORS.get(name) or _SPARE[zlib.crc32(name.encode()) % len(_SPARE)]


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, OTHER)


def mode_color(mode: str) -> str:
    return MODE_COLORS.get(mode, OTHER)


def model_color(kind: str, name: str) -> str:
    """A leaderboard model's colour: its kind's (recipe, ensemble), or for a baseline
    ("<backbone> <mode>") its transfer mode's, as in the transfer figure."""
    if kind == "baseline":
        return MODE_COLORS.get(name.rsplit(" ", 1)[-1], KIND_COLORS["baseline"])
    return kind_color(kind)
