"""Trials -> the tables the report shows: recipes over seeds, heatmap grids, effects, health.

Every function is pure pandas on the trial rows of :mod:`trainlab.report.trials`; metric
means and spreads are over the *finished* runs of a recipe (its seeds), the spread is the
sample standard deviation (ddof=1; missing with one seed). Accuracies stay fractions here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainlab.config.schema import ACTIVATIONS
from trainlab.report.trials import RECIPE_AXES
from trainlab.search.results import BEST_RECIPE, CellStanding

KEYS = ["cell", *RECIPE_AXES]
METRICS = ["val_acc", "test_acc", "final_train_acc", "gap_acc", "epochs_run", "seconds"]
PRUNED_METRICS = ["test_acc", "gap_acc", "epochs_run"]  # `<metric>_pruned`: pruned runs' mean
_LAYER = re.compile(r"^metrics\.(?:diag/layer(\d+)/(dead|saturated)|grad_norm/layer(\d+))$")


def recipe_table(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per grid cell, best validation accuracy first.

    Columns: label, cell, the recipe axes, seeds (finished runs), `<metric>_mean` and
    `<metric>_std` for :data:`METRICS`, the trial counts finished, pruned, failed
    (killed runs count as failed), running, and when a run was pruned `<metric>_pruned`
    for :data:`PRUNED_METRICS` (the mean over the cell's pruned runs, scored where they
    stopped).
    """
    if trials.empty:
        return pd.DataFrame(columns=["label", *KEYS, "seeds"])
    done = trials[trials["state"] == "finished"]
    stats = done.groupby(KEYS, sort=False)[METRICS].agg(["mean", "std"])
    stats.columns = [f"{metric}_{stat}" for metric, stat in stats.columns]
    stats["seeds"] = done.groupby(KEYS, sort=False).size()
    states = trials["state"].replace({"killed": "failed"})
    counts = pd.crosstab([trials[k] for k in KEYS], states)
    counts = counts.reindex(columns=["finished", "pruned", "failed", "running"], fill_value=0)
    table = counts.join(stats, how="left")
    # Pruned runs are scored where they stopped: kept apart, for cells no run finished.
    pruned = trials[trials["state"] == "pruned"]
    if not pruned.empty:
        early = pruned.groupby(KEYS, sort=False)[PRUNED_METRICS].mean()
        table = table.join(early.add_suffix("_pruned"), how="left")
    table = table.reset_index()
    table["seeds"] = table["seeds"].fillna(0).astype(int)
    several = trials["preprocessing"].nunique() > 1
    table.insert(0, "label", table["cell"] + (" / " + table["preprocessing"] if several else ""))
    table = table.sort_values(["val_acc_mean", "test_acc_mean", "label"],
                              ascending=[False, False, True], na_position="last")
    return table.reset_index(drop=True)


STANDING_COLUMNS = ["val_low", "val_high", "test_low", "test_high", "test_interval", "vs_best",
                    "vs_best_low", "vs_best_high", "vs_best_confidence", "p_adjusted", "best",
                    "in_best_set", "raced_seeds"]


def with_standings(table: pd.DataFrame, cells: Sequence[CellStanding]) -> pd.DataFrame:
    """The recipe table with each cell's intervals and standing against the best (the search
    computed them: search_cells.csv); NaN where the search wrote none."""
    frame = pd.DataFrame([c.model_dump() for c in cells],
                         columns=["cell", *STANDING_COLUMNS])
    if table.empty:
        return table
    return table.merge(frame, on="cell", how="left")


def best_and_worst(table: pd.DataFrame) -> tuple[pd.Series | None, pd.Series | None]:
    """The recipes with the highest and the lowest mean validation accuracy (the selection
    metric: the test set only reports, it never chooses)."""
    ranked = table[table["seeds"] > 0] if "seeds" in table else table.iloc[:0]
    if ranked.empty:
        return None, None
    return ranked.iloc[0], (ranked.iloc[-1] if len(ranked) > 1 else None)


@dataclass(frozen=True)
class Regime:
    """Where the best recipe's training stood when its budget ran out (its finished seeds)."""

    cell: str
    gap_points: float  # final train accuracy - test accuracy, pp, mean over seeds
    train_acc: float  # final train accuracy, mean over seeds
    seeds: int
    rising: int  # seeds whose best validation epoch was their last one and the budget's
    epochs: int  # the budget: the most epochs a seed could run

    def text(self) -> str:
        """One or two sentences for the report: which regime the grid trained in."""
        state = (
            f"its validation accuracy was still rising at the last epoch in {self.rising} of "
            f"{self.seeds} seed(s) (best epoch = epoch {self.epochs}, the budget): the grid "
            f"compares recipes that had not converged, so every effect in this report (an "
            f"augmentation preset's cost included) is a statement about {self.epochs} epochs"
            if 2 * self.rising > self.seeds else
            f"its validation accuracy peaked before the last epoch in "
            f"{self.seeds - self.rising} of {self.seeds} seed(s): trained to a plateau at this "
            f"budget ({self.epochs} epochs)")
        return (f"Regime: the {BEST_RECIPE} ({self.cell}) has a train-test gap of "
                f"{self.gap_points:+.2f} pp (final train accuracy {100 * self.train_acc:.2f}%, "
                f"mean over {self.seeds} seed(s)), and {state}.")


def regime(trials: pd.DataFrame, best: pd.Series | None) -> Regime | None:
    """The best recipe's regime from its finished trials' gap and best epoch (search_trials:
    best_epoch counted from 1, epochs_run, max_epochs); None without them."""
    needed = {"cell", "state", "gap_acc", "final_train_acc", "best_epoch", "epochs_run"}
    if best is None or trials.empty or not needed <= set(trials.columns):
        return None
    own = trials[(trials["cell"] == best["cell"]) & (trials["state"] == "finished")]
    own = own.dropna(subset=["gap_acc", "best_epoch", "epochs_run"])
    if own.empty:
        return None
    budget = own["max_epochs"] if "max_epochs" in own and own["max_epochs"].notna().all() \
        else own["epochs_run"]
    epochs = int(budget.max())
    rising = int(((own["best_epoch"] == own["epochs_run"]) & (own["epochs_run"] >= budget)).sum())
    return Regime(cell=str(best["cell"]), gap_points=100 * float(own["gap_acc"].mean()),
                  train_acc=float(own["final_train_acc"].mean()), seeds=len(own),
                  rising=rising, epochs=epochs)


def ordered(values, preferred: tuple[str, ...] = ()) -> list[str]:
    """Axis order: 'none' first, then the preferred order, then alphabetical."""
    rank = {name: i for i, name in enumerate(("none", *preferred))}
    return sorted(set(values), key=lambda v: (rank.get(v, len(rank)), v))


def heatmap_grids(table: pd.DataFrame, value: str) -> dict[str, pd.DataFrame]:
    """Per augmentation preset: activation (rows) x regularization (columns) of `value`.

    Cells without a finished run are NaN; several preprocessings are averaged. A `value`
    the table lacks (e.g. `test_acc_pruned` when nothing was pruned) gives all-NaN grids.
    """
    if table.empty:
        return {}
    if value not in table:
        table = table.assign(**{value: np.nan})
    rows = ordered(table["activation"], ACTIVATIONS)
    cols = ordered(table["regularization"])
    grids = {}
    for aug in ordered(table["augmentation"]):
        part = table[table["augmentation"] == aug]
        grid = part.pivot_table(index="activation", columns="regularization", values=value,
                                aggfunc="mean", dropna=False)
        grids[aug] = grid.reindex(index=rows, columns=cols).astype(float)
    return grids


def augmentation_effect(table: pd.DataFrame) -> pd.DataFrame:
    """Per augmentation preset: mean gap and test accuracy over its cells, and the paired
    change against no augmentation (same activation, regularization and preprocessing).

    Columns: augmentation, cells, gap_mean, gap_std (over cells), test_mean, gap_vs_none,
    test_vs_none (NaN when there is no 'none' preset).
    """
    done = table[table["seeds"] > 0] if "seeds" in table else table.iloc[:0]
    if done.empty:
        return pd.DataFrame(columns=["augmentation", "cells", "gap_mean", "gap_std", "test_mean",
                                     "gap_vs_none", "test_vs_none"])
    pair = ["activation", "regularization", "preprocessing"]
    none = done[done["augmentation"] == "none"].set_index(pair)
    rows = []
    for aug in ordered(done["augmentation"]):
        part = done[done["augmentation"] == aug].set_index(pair)
        shared = part.index.intersection(none.index)
        rows.append({
            "augmentation": aug,
            "cells": len(part),
            "gap_mean": part["gap_acc_mean"].mean(),
            "gap_std": part["gap_acc_mean"].std(),
            "test_mean": part["test_acc_mean"].mean(),
            "gap_vs_none": (part.loc[shared, "gap_acc_mean"]
                            - none.loc[shared, "gap_acc_mean"]).mean() if len(shared) else np.nan,
            "test_vs_none": (part.loc[shared, "test_acc_mean"]
                             - none.loc[shared, "test_acc_mean"]).mean() if len(shared) else np.nan,
        })
    return pd.DataFrame(rows)


def activation_health(trials: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Last logged diagnostics per layer, averaged over the finished runs of each activation.

    Returns long rows: activation, layer (1 = first), quantity (dead | saturated |
    grad_norm), value (fractions for dead/saturated), runs (how many runs averaged).
    """
    done = trials.loc[trials["state"] == "finished", ["run_id", "activation"]]
    matches = [(c, m) for c in runs.columns if (m := _LAYER.match(c))]
    if done.empty or not matches:
        return pd.DataFrame(columns=["activation", "layer", "quantity", "value", "runs"])
    merged = done.merge(runs, on="run_id", how="inner")
    long = []
    for col, m in matches:
        layer, quantity = (int(m[1]), m[2]) if m[1] else (int(m[3]), "grad_norm")
        values = merged[["activation", col]].dropna()
        for activation, group in values.groupby("activation"):
            long.append({"activation": activation, "layer": layer, "quantity": quantity,
                         "value": float(group[col].mean()), "runs": len(group)})
    frame = pd.DataFrame(long, columns=["activation", "layer", "quantity", "value", "runs"])
    return frame.sort_values(["quantity", "activation", "layer"]).reset_index(drop=True)


def health_summary(health: pd.DataFrame) -> pd.DataFrame:
    """Per activation: mean dead and saturated fraction over layers, gradient norms of the
    first and last layer and their ratio (well below 1: the gradient vanishes on its way back)."""
    if health.empty:
        return pd.DataFrame(columns=["activation", "dead", "saturated", "grad_first",
                                     "grad_last", "grad_ratio"])
    rows = []
    for activation in ordered(health["activation"], ACTIVATIONS):
        part = health[health["activation"] == activation]
        grads = part[part["quantity"] == "grad_norm"].sort_values("layer")["value"]
        first = grads.iloc[0] if len(grads) else np.nan
        last = grads.iloc[-1] if len(grads) else np.nan
        rows.append({
            "activation": activation,
            "dead": part.loc[part["quantity"] == "dead", "value"].mean(),
            "saturated": part.loc[part["quantity"] == "saturated", "value"].mean(),
            "grad_first": first,
            "grad_last": last,
            "grad_ratio": first / last if last else np.nan,
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CurvePick:
    """A run whose learning curves the report draws."""

    role: str  # best | worst | other
    label: str  # the recipe
    run_id: str
    seed: str
    epochs_run: float
    max_epochs: float
    best_epoch: float


def curve_picks(trials: pd.DataFrame, table: pd.DataFrame, others: int) -> list[CurvePick]:
    """The best and the worst recipe and `others` recipes spread evenly over the ranking
    between them; each drawn with its seed of highest validation accuracy."""
    ranked = table[table["seeds"] > 0].reset_index(drop=True) if "seeds" in table else table
    if ranked.empty:
        return []
    last = len(ranked) - 1
    spots = np.round(np.linspace(0, last, min(others, max(last - 1, 0)) + 2)[1:-1])
    middle = sorted({int(i) for i in spots} - {0, last})
    chosen = [(0, "best"), *[(i, "other") for i in middle]]
    if len(ranked) > 1:
        chosen.append((len(ranked) - 1, "worst"))
    done = trials[trials["state"] == "finished"]
    picks = []
    for i, role in chosen:
        recipe = ranked.iloc[i]
        runs = done[(done[KEYS] == recipe[KEYS]).all(axis=1)].sort_values("val_acc")
        run = runs.iloc[-1]
        picks.append(CurvePick(role, recipe["label"], run["run_id"], run["seed"],
                               run["epochs_run"], run["max_epochs"], run["best_epoch"]))
    return picks
