"""The ensemble and transfer stages' figures (see :mod:`.base` for units and text)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from trainlab.report.document import Figure
from trainlab.report.figures.base import STYLE, new_figure, plain, png_bytes
from trainlab.report.figures.palette import KIND_COLORS, mode_color


def ensemble_bars(members: pd.DataFrame, scores: dict[str, float], dpi: int) -> Figure:
    """Test accuracy of each member (columns name, test_acc) and of the ensembles."""
    members = members.sort_values("test_acc")
    labels = [plain(n, 38) for n in members["name"]] + [plain(k) for k in scores]
    values = list(100 * members["test_acc"]) + [100 * v for v in scores.values()]
    # a member is a recipe: the kind colours of the leaderboard
    colors = [KIND_COLORS["recipe"]] * len(members) + [KIND_COLORS["ensemble"]] * len(scores)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(9.0, 0.38 * len(values) + 1.4)
        ax = fig.subplots()
        y = np.arange(len(values))
        ax.barh(y, values, color=colors)
        ax.set_yticks(y, labels)
        for yi, value in enumerate(values):
            ax.text(value, yi, f" {value:.2f}", va="center", fontsize=8)
        ax.set_xlim(max(0.0, min(values) - 3), min(100.0, max(values) + 1.5))
        ax.set(xlabel="test accuracy (%)", title="Ensemble vs its members")
        png = png_bytes(fig, dpi)
    return Figure("ensemble", "Ensemble vs members",
                  "Test accuracy of each member (blue) and of the ensembles (orange).", png)


def transfer_lines(transfer: pd.DataFrame, dpi: int) -> Figure:
    """Test accuracy against target-data size per backbone and mode (log x axis); columns
    backbone, mode, size (images), test_acc."""
    backbones = [b for b in dict.fromkeys(transfer["backbone"])
                 if (transfer.loc[transfer["backbone"] == b, "mode"] != "scratch").any()]
    backbones = backbones or list(dict.fromkeys(transfer["backbone"]))
    with matplotlib.rc_context(STYLE):
        fig = new_figure(4.6 * len(backbones), 3.6)
        axes = np.atleast_1d(fig.subplots(1, len(backbones), squeeze=False).ravel())
        for ax, backbone in zip(axes, backbones, strict=True):
            _transfer_panel(ax, transfer, backbone)
        png = png_bytes(fig, dpi)
    return Figure("transfer", "Transfer learning",
                  "Linear probe and fine-tuning of pretrained backbones against training from "
                  "scratch, by number of target training images (log scale).", png)


def _transfer_panel(ax, transfer: pd.DataFrame, backbone: str) -> None:
    own = transfer[transfer["backbone"] == backbone]
    if not (own["mode"] == "scratch").any():
        own = pd.concat([own, transfer[transfer["mode"] == "scratch"]])
    sizes = set()
    for mode, group in own.groupby("mode", sort=True):
        means = group.groupby("size")["test_acc"].mean()  # sorted by size
        sizes |= set(means.index)
        ax.plot(means.index, 100 * means.to_numpy(), marker="o", color=mode_color(str(mode)),
                label=plain(mode))
    ax.set_xscale("log")
    ax.set_xticks(sorted(sizes), [str(size) for size in sorted(sizes)])
    ax.minorticks_off()
    ax.set(title=plain(backbone), xlabel="target training images", ylabel="test accuracy (%)")
    ax.legend()
