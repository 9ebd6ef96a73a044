"""Two experiments side by side: headline numbers, every cell's test accuracy, the deltas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from trainlab.report import tables
from trainlab.report.document import (
    DASH,
    Cell,
    Column,
    Document,
    FigureBlock,
    Notice,
    Paragraph,
    Section,
    Table,
    duration,
    pct,
    pct_cell,
    points,
    points_cell,
    spread,
    text_cell,
)
from trainlab.report.figures import recipes as figures
from trainlab.report.inputs import ReportInputs
from trainlab.report.sections import RECIPE_COLUMNS, recipe_rows
from trainlab.report.summary import distinct, state_counts, transfer_headline, wall_time


def merged_cells(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per recipe of either experiment: test/val/gap of each and B − A in points."""
    keep = ["label", "val_acc_mean", "test_acc_mean", "test_acc_std", "gap_acc_mean"]

    def side(table: pd.DataFrame, suffix: str) -> pd.DataFrame:
        part = table.reindex(columns=keep).set_index("label")
        return part.rename(columns={"val_acc_mean": f"val_{suffix}", "test_acc_mean":
                                    f"test_{suffix}", "test_acc_std": f"test_std_{suffix}",
                                    "gap_acc_mean": f"gap_{suffix}"})

    merged = side(a, "a").join(side(b, "b"), how="outer").reset_index()
    merged["delta_test"] = 100 * (merged["test_b"] - merged["test_a"])
    merged["delta_gap"] = 100 * (merged["gap_b"] - merged["gap_a"])
    return merged.sort_values("test_a", ascending=False, na_position="last").reset_index(drop=True)


LOWER_IS_BETTER = {"its train − test gap", "trials pruned", "trials failed", "trials killed"}


def _headline(found: ReportInputs) -> dict[str, tuple[str, float]]:
    """label -> (text, number for the delta or NaN)."""
    best, _ = tables.best_and_worst(found.table)
    counts = state_counts(found.trials)
    nan = np.nan
    gain = transfer_headline(found)
    seconds, _ = wall_time(found)
    ens = found.ensemble.gain[0] if found.ensemble else None  # over seeds where there are
    rows = {
        "best recipe (validation)": (best["label"] if best is not None else DASH, nan),
        "its test accuracy": (spread(best["test_acc_mean"], best["test_acc_std"])
                              if best is not None else DASH,
                              100 * best["test_acc_mean"] if best is not None else nan),
        "its validation accuracy": (pct(best["val_acc_mean"]) if best is not None else DASH,
                                    100 * best["val_acc_mean"] if best is not None else nan),
        "its train − test gap": (points(100 * best["gap_acc_mean"]) if best is not None
                                 else DASH,
                                 100 * best["gap_acc_mean"] if best is not None else nan),
        "ensemble gain": (points(ens), ens if ens is not None else nan),
        "transfer vs scratch (smallest size)": (
            points(gain.gain_points) if gain is not None else DASH,
            gain.gain_points if gain is not None else nan),
    }
    rows |= {f"trials {s}": (str(counts[s]), counts[s]) for s in
             ("total", "finished", "pruned", "failed", "killed")}
    rows |= {
        "wall time": (duration(seconds), nan),
        "hardware": (f"{distinct(found, 'hardware.cpu')}; GPU {distinct(found, 'hardware.gpu')}",
                     nan),
        "git commit": (distinct(found, "trainlab.git_commit"), nan),
        "dataset fingerprint": (distinct(found, "data.fingerprint"), nan),
    }
    return rows


def summary_section(a: ReportInputs, b: ReportInputs) -> Section:
    section = Section("summary", "Summary")
    for found in (a, b):
        stage = found.stages["search"]
        if not stage.ran:
            section.add(Notice(f"Experiment {found.experiment.name!r} has no search results: "
                               f"{stage.problem}. Run the search for it with", stage.command))
    left, right = _headline(a), _headline(b)
    rows = []
    for label, (text_a, value_a) in left.items():
        text_b, value_b = right[label]
        delta = value_b - value_a
        unit = "trials" if label.startswith("trials") else "points"
        better = label not in LOWER_IS_BETTER
        rows.append([Cell(label), Cell(text_a), Cell(text_b),
                     points_cell(delta, better) if unit == "points" else
                     (Cell(f"{delta:+.0f}", delta) if not np.isnan(delta) else Cell(DASH))])
    section.add(Table([Column("measure"), Column(a.experiment.name), Column(b.experiment.name),
                       Column("B − A", True, "percentage points (counts for trials)")], rows,
                      caption="B − A: the second experiment minus the first.", sortable=False))
    return section


def cells_section(a: ReportInputs, b: ReportInputs, dpi: int) -> Section:
    section = Section("cells", "Test accuracy per cell")
    merged = merged_cells(a.table, b.table)
    if merged.empty:
        return section.add(Paragraph("Neither experiment has finished trials to compare."))
    names = (a.experiment.name, b.experiment.name)
    if merged[["test_a", "test_b"]].notna().any().any():
        section.add(FigureBlock(figures.compare_bars(merged, names, dpi)))
    rows = [[text_cell(r["label"]), pct_cell(r["val_a"]),
             Cell(spread(r["test_a"], r["test_std_a"]), _num(r["test_a"])),
             points_cell(100 * r["gap_a"], higher_is_better=False), pct_cell(r["val_b"]),
             Cell(spread(r["test_b"], r["test_std_b"]), _num(r["test_b"])),
             points_cell(100 * r["gap_b"], higher_is_better=False),
             points_cell(r["delta_test"]), points_cell(r["delta_gap"], higher_is_better=False)]
            for _, r in merged.iterrows()]
    columns = [Column("recipe")]
    for side, name in zip("AB", names, strict=True):
        columns += [Column(f"{side} val acc", True, name), Column(f"{side} test acc", True, name),
                    Column(f"{side} gap", True, name)]
    columns += [Column("Δ test", True, "B − A, percentage points"),
                Column("Δ gap", True, "B − A, percentage points")]
    section.add(Table(columns, rows, caption=f"A = {names[0]}, B = {names[1]}; {len(merged)} "
                                             "recipes; a dash: the recipe has no finished run "
                                             "in that experiment."))
    return section


def _num(value: Any) -> float | None:  # a pandas cell
    return None if pd.isna(value) else float(value)


def recipes_section(found: ReportInputs, index: int) -> Section:
    section = Section(f"recipes-{index}", f"Recipes: {found.experiment.name}")
    if found.table.empty:
        return section.add(Paragraph("No trials."))
    return section.add(Table(RECIPE_COLUMNS, recipe_rows(found.table),
                             caption=f"{len(found.table)} recipes, {len(found.trials)} trials."))


def build_comparison(a: ReportInputs, b: ReportInputs, title: str, dpi: int) -> Document:
    sections = [summary_section(a, b), cells_section(a, b, dpi), recipes_section(a, 1),
                recipes_section(b, 2)]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = [("A", a.experiment.name), ("B", b.experiment.name), ("generated", when)]
    return Document(f"{title}: comparison", f"{a.experiment.name} (A) vs "
                    f"{b.experiment.name} (B)", meta, sections)
