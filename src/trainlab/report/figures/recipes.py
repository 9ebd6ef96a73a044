"""The search's figures: heatmaps, augmentation, learning curves, activation health, the
Optuna study, and two experiments compared (see :mod:`.base` for units and text)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from trainlab.report.document import Figure
from trainlab.report.figures.base import STYLE, new_figure, plain, png_bytes
from trainlab.report.figures.palette import (
    ACCENT,
    ACCURACY_MAP,
    FADED,
    GAP_MAP,
    ON_DARK,
    ON_LIGHT,
    REFERENCE,
    TRAIN,
    VAL,
    activation_color,
)
from trainlab.report.tables import CurvePick


@dataclass(frozen=True)
class HeatGrids:
    """Activation x regularization grids (fractions) of one augmentation preset: test
    accuracy, train - test gap, and for pruned runs the epochs they ran."""

    test: pd.DataFrame
    gap: pd.DataFrame
    epochs: pd.DataFrame | None = None
    half: pd.DataFrame | None = None  # half-width of the test accuracy's interval
    marked: pd.DataFrame | None = None  # 1: not distinguishable from the best


def heatmap(aug: str, finished: HeatGrids, pruned: HeatGrids, name: str, dpi: int) -> Figure:
    """Activation x regularization heatmaps of mean test accuracy and mean gap; a cell with
    no finished run but a pruned one shows the pruned run's numbers in grey, uncoloured."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(10.5, max(2.8, 0.5 * len(finished.test.index) + 1.8))
        axes = fig.subplots(1, 2)
        _heat(axes[0], 100 * finished.test, ACCURACY_MAP, "mean test accuracy (%)",
              100 * pruned.test, pruned.epochs,
              None if finished.half is None else 100 * finished.half, finished.marked)
        _heat(axes[1], 100 * finished.gap, GAP_MAP, "train − test gap (points)",
              100 * pruned.gap, pruned.epochs)
        fig.suptitle(plain(f"Augmentation preset: {aug}"), fontweight="bold")
        png = png_bytes(fig, dpi)
    return Figure(name, f"Heatmaps, augmentation {aug}",
                  f"Mean over seeds of test accuracy (left) and train − test gap (right) for "
                  f"augmentation preset '{aug}'; ± the half-width of the test accuracy's "
                  f"interval (see the recipes table), ★ not distinguishable from the best "
                  f"recipe. Grey numbers marked 'pruned @k' are recipes "
                  f"the pruner stopped after k epochs, scored at that point (not comparable "
                  f"with the coloured cells, which trained their full budget); n/a: no run "
                  f"scored.", png)


def _heat(ax, grid: pd.DataFrame, cmap: str, label: str, pruned: pd.DataFrame,
          pruned_epochs: pd.DataFrame | None, half: pd.DataFrame | None = None,
          marked: pd.DataFrame | None = None) -> None:
    values = grid.to_numpy(dtype=float)
    nan = np.full_like(values, np.nan)
    halves = half.reindex_like(grid).to_numpy(dtype=float) if half is not None else nan
    stars = marked.reindex_like(grid).to_numpy(dtype=float) if marked is not None else nan
    early = pruned.reindex_like(grid).to_numpy(dtype=float)
    epochs = (pruned_epochs.reindex_like(grid).to_numpy(dtype=float)
              if pruned_epochs is not None else np.full_like(values, np.nan))
    shown = np.ma.masked_invalid(values)
    image = ax.imshow(shown, cmap=cmap, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [plain(c, 14) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [plain(r, 14) for r in grid.index])
    ax.set_xlabel("regularization")
    ax.set_ylabel("activation")
    ax.grid(False)
    finite = values[np.isfinite(values)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    dark_low = cmap == ACCURACY_MAP  # dark at its low end; the gap map at its high end
    for (i, j), value in np.ndenumerate(values):
        if math.isnan(value) and not math.isnan(early[i, j]):
            stopped = "" if math.isnan(epochs[i, j]) else f" @{epochs[i, j]:.0f}"
            ax.text(j, i, f"{early[i, j]:.1f}\npruned{stopped}", ha="center", va="center",
                    color=FADED, fontsize=7.5, style="italic")
        elif math.isnan(value):
            ax.text(j, i, "n/a", ha="center", va="center", color=FADED)
        else:
            dark = value < middle if dark_low else value > middle
            text = f"{value:.1f}" + ("" if math.isnan(halves[i, j]) else f"\n±{halves[i, j]:.1f}")
            star = "★ " if stars[i, j] == 1.0 else ""
            ax.text(j, i, star + text, ha="center", va="center", fontsize=8,
                    color=ON_DARK if dark else ON_LIGHT)
    fig = ax.get_figure()
    fig.colorbar(image, ax=ax, label=label, shrink=0.9)


def augmentation_bars(effect: pd.DataFrame, dpi: int) -> Figure:
    """Mean gap and mean test accuracy per augmentation preset, spread over cells."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(10.5, 3.6)
        left, right = fig.subplots(1, 2)
        x = np.arange(len(effect))
        labels = [plain(a, 14) for a in effect["augmentation"]]
        left.bar(x, 100 * effect["gap_mean"], yerr=100 * effect["gap_std"].fillna(0),
                 color=ACCENT, capsize=4)
        left.set(title="Train − test gap by augmentation", ylabel="mean gap (points)",
                 xlabel="augmentation preset")
        right.bar(x, 100 * effect["test_mean"], color=TRAIN)
        low = 100 * effect["test_mean"].min()
        right.set_ylim(max(0.0, low - 5), min(100.0, 100 * effect["test_mean"].max() + 2))
        right.set(title="Test accuracy by augmentation", ylabel="mean test accuracy (%)",
                  xlabel="augmentation preset")
        for ax in (left, right):
            ax.set_xticks(x, labels)
        png = png_bytes(fig, dpi)
    return Figure("augmentation_gap", "Augmentation and the gap",
                  "Mean over grid cells (each a mean over seeds); error bars: standard deviation "
                  "over cells.", png)


def learning_curves(picks: Sequence[tuple[CurvePick, pd.DataFrame]], dpi: int) -> Figure:
    """Train vs validation accuracy per epoch; the kept (best) epoch marked."""
    cols = min(3, len(picks))
    rows = math.ceil(len(picks) / cols)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(4.0 * cols, 3.1 * rows)
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
        for ax, (pick, curves) in zip(axes, picks, strict=False):
            ax.plot(curves["epoch"], 100 * curves["train_acc"], color=TRAIN, marker="o",
                    markersize=3, label="train")
            ax.plot(curves["epoch"], 100 * curves["val_acc"], color=VAL, marker="o",
                    markersize=3, label="validation")
            best = curves[curves["best"] == 1]
            if not best.empty:
                epoch = best["epoch"].iloc[0]
                ax.axvline(epoch, color=REFERENCE, linestyle="--", linewidth=1)
                ax.plot(epoch, 100 * best["val_acc"].iloc[0], marker="*", markersize=12,
                        color=VAL, label=f"kept: epoch {epoch:.0f}")
            if pick.epochs_run < pick.max_epochs:
                ax.set_xlabel(f"epoch (stopped early: {pick.epochs_run:.0f} of "
                              f"{pick.max_epochs:.0f})")
            else:
                ax.set_xlabel("epoch")
            ax.set_ylabel("accuracy (%)")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(plain(f"{pick.role}: {pick.label} (seed {pick.seed})", 42), fontsize=9)
            ax.legend(loc="lower right")
        for ax in axes[len(picks):]:
            ax.set_visible(False)
        png = png_bytes(fig, dpi)
    return Figure("learning_curves", "Learning curves",
                  "Train and validation accuracy per epoch of the best recipe, the worst and "
                  "recipes in between (each at its best seed); the star and the dashed line "
                  "mark the epoch whose snapshot was kept.", png)


def activation_health(health: pd.DataFrame, dpi: int) -> Figure:
    """Dead units, saturation and gradient norms per layer, one line per activation."""
    panels = [("dead", "dead units (%)", "Dead units (ReLU family)", 100.0),
              ("saturated", "saturated outputs (%)", "Saturation (sigmoid/tanh)", 100.0),
              ("grad_norm", "gradient L2 norm", "Gradient norm per layer", 1.0)]
    with matplotlib.rc_context(STYLE):
        fig = new_figure(12.0, 3.5)
        axes = fig.subplots(1, 3)
        for ax, (quantity, label, title, scale) in zip(axes, panels, strict=True):
            part = health[health["quantity"] == quantity]
            for activation, group in part.groupby("activation", sort=True):
                ax.plot(group["layer"], scale * group["value"], marker="o",
                        color=activation_color(str(activation)), label=plain(activation))
            ax.set(title=title, xlabel="layer (1 = first)", ylabel=label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if quantity == "grad_norm" and (part["value"] > 0).all() and not part.empty:
                ax.set_yscale("log")
            if part.empty:
                ax.text(0.5, 0.5, "not logged", ha="center", va="center",
                        transform=ax.transAxes, color=FADED)
            else:
                ax.legend()
        png = png_bytes(fig, dpi)
    return Figure("activation_health", "Activation health",
                  "Last logged diagnostics of the finished runs, averaged per activation: dead "
                  "units, saturated outputs and the weight-gradient norm of each layer.", png)


def importance_bars(importances: dict[str, float], dpi: int,
                    gap: dict[str, float] | None = None) -> Figure:
    """fANOVA importances for the objective (validation accuracy) and, beside them, for the
    train-test gap: what decides accuracy need not be what decides overfitting."""
    panels = [("validation accuracy", importances)] + ([("train-test gap", gap)] if gap else [])
    rows = max(len(values) for _, values in panels)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.5 if len(panels) == 1 else 11.0, 0.45 * rows + 1.3)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (what, values) in zip(axes, panels, strict=True):
            items = sorted(values.items(), key=lambda kv: kv[1])
            ax.barh([plain(k) for k, _ in items], [100 * v for _, v in items], color=TRAIN)
            ax.set(xlabel="importance (% of explained variance)", title=f"for {what}")
        png = png_bytes(fig, dpi)
    return Figure("optuna_importances", "Parameter importances",
                  "fANOVA importances of the search parameters (Optuna), for the objective "
                  "(validation accuracy) and for the train-test gap, over the current "
                  "configuration's complete trials.", png)


def optimisation_history(trials: pd.DataFrame, maximize: bool, dpi: int) -> Figure:
    """Objective per trial, the best so far, and where pruned trials stopped."""
    complete = trials[trials["state"] == "COMPLETE"].dropna(subset=["value"])
    pruned = trials[trials["state"] == "PRUNED"].dropna(subset=["last_intermediate"])
    values = pd.concat([complete["value"], pruned["last_intermediate"]])
    scale = 100.0 if values.between(0, 1).all() else 1.0
    with matplotlib.rc_context(STYLE):
        fig = new_figure(8.5, 3.6)
        ax = fig.subplots()
        ax.scatter(complete["number"], scale * complete["value"], color=TRAIN, s=18,
                   label="complete", zorder=3)
        if not pruned.empty:
            ax.scatter(pruned["number"], scale * pruned["last_intermediate"], marker="x",
                       color=VAL, s=22, label="pruned (last reported)", zorder=3)
        best = complete["value"].cummax() if maximize else complete["value"].cummin()
        ax.step(complete["number"], scale * best, where="post", color=ACCENT,
                label="best so far")
        unit = " (%)" if scale == 100.0 else ""
        ax.set(xlabel="trial number", ylabel=f"objective: validation accuracy{unit}",
               title="Optimisation history")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="lower right")
        png = png_bytes(fig, dpi)
    return Figure("optuna_history", "Optimisation history",
                  "Objective of each complete trial, the best so far, and the last reported "
                  "value of pruned trials.", png)


def compare_bars(merged: pd.DataFrame, names: tuple[str, str], dpi: int) -> Figure:
    """Test accuracy per cell for two experiments, with their spread over seeds."""
    merged = merged.sort_values("test_a", na_position="first")
    y = np.arange(len(merged))
    with matplotlib.rc_context(STYLE):
        fig = new_figure(9.5, 0.34 * len(merged) + 1.6)
        ax = fig.subplots()
        for offset, side, color, name in ((-0.2, "a", TRAIN, names[0]),
                                          (0.2, "b", ACCENT, names[1])):
            ax.barh(y + offset, 100 * merged[f"test_{side}"], height=0.38, color=color,
                    xerr=100 * merged[f"test_std_{side}"].fillna(0), capsize=2,
                    label=plain(name))
        ax.set_yticks(y, [plain(c, 40) for c in merged["label"]])
        low = 100 * np.nanmin(merged[["test_a", "test_b"]].to_numpy(dtype=float))
        ax.set_xlim(max(0.0, low - 5), 100.0)
        ax.set(xlabel="mean test accuracy (%)", title="Test accuracy per cell")
        ax.legend(loc="lower right")
        png = png_bytes(fig, dpi)
    return Figure("compare_test_acc", "Test accuracy per cell",
                  "Mean test accuracy over seeds for each grid cell in both experiments; "
                  "error bars: standard deviation over seeds.", png)
