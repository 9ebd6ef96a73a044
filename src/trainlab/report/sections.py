"""The sections of one experiment's report from Recipes to Search, each from the gathered
inputs; their titles, anchors and order are the table in :mod:`trainlab.report.outline`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trainlab.ensemble.summary_file import OverSeeds
from trainlab.io import flatten
from trainlab.report import baselines, tables
from trainlab.report.document import (
    DASH,
    Callout,
    Cell,
    Column,
    FigureBlock,
    FileLink,
    KeyValues,
    Notice,
    Paragraph,
    Section,
    Table,
    duration,
    interval,
    num_cell,
    pct_cell,
    points_cell,
    spread,
    text_cell,
)
from trainlab.report.figures import recipes as figures
from trainlab.report.figures import stages as stage_figures
from trainlab.report.inputs import ReportInputs, Stage
from trainlab.search.results import BEST_RECIPE, BEST_SEED
from trainlab.stats.intervals import percent


def _missing(section: Section, stage: Stage) -> Section:
    """The short notice of a section; the summary says what exactly is missing."""
    return section.add(Notice(f"Nothing to show until the {stage.name} stage has run (the "
                              "summary says what is missing). Run it with", stage.command))


def recipe_rows(table: pd.DataFrame) -> list[list[Cell]]:
    rows = []
    for _, r in table.iterrows():
        marked = r.get("in_best_set") is True or r.get("best") is True
        rows.append([
            Cell(f"{r['label']} ★" if marked else r["label"], None, "good" if marked else ""),
            _interval_cell(r, "val_acc_mean", "val_low", "val_high", "val_acc_std"),
            _interval_cell(r, "test_acc_mean", "test_low", "test_high", "test_acc_std"),
            _versus_best(r),
            pct_cell(r.get("final_train_acc_mean")),
            points_cell(100 * r.get("gap_acc_mean", float("nan")), higher_is_better=False),
            num_cell(r.get("epochs_run_mean")),
            *(num_cell(r[state], 0) for state in ("finished", "pruned", "failed")),
            num_cell(r.get("raced_seeds"), 0),
        ])
    return rows


def _interval_cell(r: pd.Series, mean: str, low: str, high: str, std: str) -> Cell:
    """The mean with its interval from the search's standings; without them (an older
    search), the mean ± standard deviation over seeds."""
    if pd.notna(r.get(low)):
        return Cell(interval(r.get(mean), r.get(low), r.get(high)), _sort(r.get(mean)))
    return Cell(spread(r.get(mean), r.get(std)), _sort(r.get(mean)))


def _versus_best(r: pd.Series) -> Cell:
    if r.get("best") is True:
        return Cell("best", None, "good")
    if pd.isna(r.get("vs_best")):
        return Cell(DASH)
    text = interval(r["vs_best"], r.get("vs_best_low"), r.get("vs_best_high"), unit=" pp")
    if pd.notna(r.get("vs_best_confidence")):  # the level the ★ was decided at (Holm)
        text += f" at {percent(float(r['vs_best_confidence']))}"
    tone = "good" if r.get("in_best_set") is True else ""
    return Cell(text, float(r["vs_best"]), tone)


def _sort(value: Any) -> float | None:  # a pandas cell
    return None if value is None or pd.isna(value) else float(value)


RECIPE_COLUMNS = [
    Column("recipe", hint="activation|regularization|augmentation; ★ not distinguishable "
                          "from the best"),
    Column("val acc", True, "mean over seeds [its interval, t over seeds]"),
    Column("test acc", True, "mean over seeds [interval: t over seeds; with one seed, "
                             "binomial over the test images]"),
    Column("vs best", True, "test accuracy minus the best recipe's, paired on the same test "
                            "images, in points [interval at the level its ★ was decided at: "
                            "Holm's step-down; ★ exactly when it reaches 0]"),
    Column("train acc", True, "final train accuracy (eval mode, no augmentation), mean"),
    Column("gap", True, "train − test accuracy, percentage points, mean over seeds"),
    Column("epochs", True, "epochs run (early stopping), mean over seeds"),
    Column("finished", True, "finished runs (seeds): the ones averaged"),
    Column("pruned", True), Column("failed", True, "failed or killed"),
    Column("raced", True, "seeds racing added (the cell was close to the leader)"),
]


def recipes_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    if found.table.empty:
        return _missing(section, found.stages["search"])
    search = found.search
    level = f"{search.confidence:.0%}" if search else "95%"
    section.add(Paragraph(
        f"Every grid cell of the search, sorted by validation accuracy, the metric that "
        f"chooses. Brackets are {level} intervals (trainlab.stats, scipy). Click a column "
        "header to sort."))
    if search is not None and search.best_set is not None:
        best_set = search.best_set
        section.add(Callout(
            f"Not distinguishable from the best at {level}:",
            f"★ {len(best_set.cells)} of {best_set.compared} recipes cannot be told apart from "
            f"the best ({best_set.best}): {', '.join(best_set.cells)}. How: "
            f"{best_set.method}."))
    if search is not None and search.race is not None:
        section.add(Paragraph(_race_text(search.race)))
    section.add(Table(RECIPE_COLUMNS, recipe_rows(found.table),
                      caption=f"{len(found.table)} recipes, {len(found.trials)} trials."))
    return section


def _race_text(race) -> str:
    if not race.rounds:
        return f"Racing spent no extra seeds: {race.stopped}."
    rounds = "; ".join(f"round {r.round}: {', '.join(r.cells)} (leader {r.leader}) trained "
                       f"seed(s) {', '.join(map(str, r.seeds))}" for r in race.rounds)
    return (f"Racing spent {race.extra_trials} extra trials on the cells that could not yet "
            f"be told apart from the leader on validation ({rounds}); it stopped because "
            f"{race.stopped}. Rule: {race.method}.")


def heatmaps_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    table = found.table
    if not table.empty and "test_high" in table:
        table = table.assign(test_half=(table["test_high"] - table["test_low"]) / 2,
                             best_mark=table["in_best_set"].map({True: 1.0, False: 0.0}))
    grids = {name: tables.heatmap_grids(table, name) for name in (
        "test_acc_mean", "gap_acc_mean", "test_acc_pruned", "gap_acc_pruned",
        "epochs_run_pruned", "test_half", "best_mark")}
    shown = [aug for aug in grids["test_acc_mean"]
             if grids["test_acc_mean"][aug].notna().any().any()
             or grids["test_acc_pruned"][aug].notna().any().any()]
    if not shown:
        if found.table.empty:
            return _missing(section, found.stages["search"])
        return section.add(Paragraph("No heatmaps: no trial has been scored yet."))
    for i, aug in enumerate(shown):
        finished = figures.HeatGrids(grids["test_acc_mean"][aug], grids["gap_acc_mean"][aug],
                                     half=grids["test_half"][aug],
                                     marked=grids["best_mark"][aug])
        pruned = figures.HeatGrids(grids["test_acc_pruned"][aug], grids["gap_acc_pruned"][aug],
                                   grids["epochs_run_pruned"][aug])
        section.add(FigureBlock(figures.heatmap(aug, finished, pruned, f"heatmap_{i + 1}",
                                                dpi)))
    return section


def augmentation_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    effect = tables.augmentation_effect(found.table)
    if effect.empty:
        return _missing(section, found.stages["search"])
    section.add(FigureBlock(figures.augmentation_bars(effect, dpi)))
    rows = [[text_cell(r["augmentation"]), num_cell(r["cells"], 0),
             points_cell(100 * r["gap_mean"], higher_is_better=False),
             pct_cell(r["test_mean"]),
             points_cell(100 * r["gap_vs_none"], higher_is_better=False),
             points_cell(100 * r["test_vs_none"])] for _, r in effect.iterrows()]
    section.add(Table([Column("augmentation"), Column("cells", True),
                       Column("mean gap", True, "percentage points"),
                       Column("mean test acc", True),
                       Column("gap vs none", True, "paired: same activation and regularization"),
                       Column("test acc vs none", True, "paired, percentage points")], rows,
                      caption="A negative gap change means the preset narrowed the train − test "
                              "gap (less overfitting)."))
    return section


def curves_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    if not found.curves:
        if found.table.empty:
            return _missing(section, found.stages["search"])
        return section.add(Paragraph("No curves: the trial runs have no curves.csv artifact "
                                     "and no train/val accuracy history in MLflow."))
    return section.add(FigureBlock(figures.learning_curves(found.curves, dpi)))


def health_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    if found.health.empty:
        if found.table.empty:
            return _missing(section, found.stages["search"])
        return section.add(Paragraph("No diagnostics were logged by the trial runs "
                                     "(train.diagnostics_every = 0, or trials from CSV only)."))
    section.add(FigureBlock(figures.activation_health(found.health, dpi)))
    summary = tables.health_summary(found.health)
    rows = [[text_cell(r["activation"]), pct_cell(r["dead"]), pct_cell(r["saturated"]),
             num_cell(r["grad_first"], 4), num_cell(r["grad_last"], 4),
             num_cell(r["grad_ratio"], 3)] for _, r in summary.iterrows()]
    section.add(Table([Column("activation"), Column("dead units", True, "mean over layers"),
                       Column("saturated", True, "mean over layers"),
                       Column("grad norm, first layer", True),
                       Column("grad norm, last layer", True),
                       Column("first / last", True, "well below 1: vanishing gradient")], rows))
    return section


def ensemble_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    summary = found.ensemble
    if summary is None:
        return _missing(section, found.stages["ensemble"])
    members = baselines.ensemble_members(summary)
    methods = baselines.ensemble_methods(summary)
    section.add(FigureBlock(stage_figures.ensemble_bars(
        members, {m.label: m.acc for m in methods}, dpi)))
    if summary.over_seeds is not None:
        _over_seeds(section, summary.over_seeds)
    level = f"{summary.ensemble.gain_interval.confidence:.0%}"
    section.add(Table(ENSEMBLE_COLUMNS, [_method_row(m) for m in methods], caption=(
        f"One draw: the search's top {summary.top_k.used} checkpoints by validation accuracy "
        f"(whatever their seeds), every method on the same test images. Gain: test accuracy "
        f"minus the {BEST_SEED}'s (chosen on validation), percentage points [{level} interval, "
        f"paired over the test images, given these trained models]; p: McNemar's exact test "
        f"of no difference. Member disagreement {summary.diversity.disagreement:.4f}."),
        sortable=False))
    section.add(*(Paragraph(f"Note from the ensemble stage: {note}") for note in summary.notes))
    section.add(Table([Column("member"), Column("val acc", True), Column("test acc", True)],
                      [[text_cell(m["name"]), pct_cell(m["val_acc"]), pct_cell(m["test_acc"])]
                       for _, m in members.iterrows()]))
    file = found.stages["ensemble"].file
    if file:  # every other value (members' runs, greedy picks, data): the file, not a dump
        section.add(FileLink("Every value the ensemble stage wrote:", file))
    return section


def _over_seeds(section: Section, seeded: OverSeeds) -> None:
    """The ensembles built per seed: what claim 7 and `ens_gain` decide from."""
    gain = seeded.mean.gain_interval
    section.add(Callout(
        f"Gain over the {BEST_RECIPE}, over {len(seeded.draws)} seeds:",
        f"{seeded.mean.gain_points:+.2f} pp [{gain.low_points:+.2f}, {gain.high_points:+.2f}] "
        f"at {gain.confidence:.0%} for the mean of probabilities; majority vote "
        f"{seeded.vote.gain_points:+.2f} pp, greedy selection {seeded.greedy.gain_points:+.2f}"
        f" pp. {seeded.method.capitalize()}; interval: {gain.method}."))
    rows = [[text_cell(str(d.seed)), pct_cell(d.best_acc), pct_cell(d.mean_acc),
             points_cell(100 * (d.mean_acc - d.best_acc)), pct_cell(d.vote_acc),
             pct_cell(d.greedy_acc)] for d in seeded.draws]
    section.add(Table(
        [Column("seed"), Column(f"{BEST_RECIPE} ({seeded.best_cell})", True),
         Column("mean ensemble", True), Column("gain", True, "percentage points"),
         Column("vote", True), Column("greedy", True, "greedy selection among the seed's members")],
        rows, caption=f"One ensemble per seed: the top {len(seeded.cells)} cells "
                      f"({', '.join(seeded.cells)}) trained with that seed; test accuracy.",
        sortable=False))


ENSEMBLE_COLUMNS = [
    Column("method"), Column("test acc", True),
    Column(f"gain over the {BEST_SEED}", True, "percentage points [paired interval]"),
    Column("p", True, "McNemar's exact test of no difference"),
    Column("ECE", True, "expected calibration error; — where the method gives no probabilities"),
]


def _method_row(method: baselines.Method) -> list[Cell]:
    gain = method.gain
    if gain is None:
        return [text_cell(method.label), pct_cell(method.acc), Cell("reference"), Cell(DASH),
                num_cell(method.ece, 4)]
    text = (f"{method.gain_points:+.2f} pp [{gain.low_points:+.2f}, {gain.high_points:+.2f}]")
    tone = "good" if gain.low_points > 0 else ("bad" if gain.high_points < 0 else "")
    return [text_cell(method.label), pct_cell(method.acc), Cell(text, method.gain_points, tone),
            Cell(f"{gain.p_value:.2g}", gain.p_value), num_cell(method.ece, 4)]


def transfer_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    if found.transfer is None:
        return _missing(section, found.stages["transfer"])
    frame = baselines.transfer_frame(found.transfer)
    section.add(FigureBlock(stage_figures.transfer_lines(frame, dpi)))
    gains = baselines.gains_frame(found.transfer)
    if not gains.empty:
        section.add(Table([Column("backbone"), Column("mode"), Column("target images", True),
                           Column("gain over scratch", True, "test accuracy, percentage points")],
                          [[text_cell(g["backbone"]), text_cell(g["mode"]),
                            num_cell(g["size"], 0), points_cell(g["gain_points"])]
                           for _, g in gains.iterrows()]))
    rows = [[text_cell(r["backbone"]), text_cell(r["mode"]), num_cell(r["size"], 0),
             pct_cell(r["test_acc"]), pct_cell(r["final_train_acc"]),
             points_cell(100 * r["gap_acc"], higher_is_better=False), num_cell(r["epochs"], 0),
             Cell(duration(r["seconds"]), _sort(r["seconds"]))] for _, r in frame.iterrows()]
    section.add(Table([Column("backbone"), Column("mode"), Column("target images", True),
                       Column("test acc", True), Column("train acc", True), Column("gap", True),
                       Column("epochs", True), Column("time", True)], rows,
                      caption=f"From {found.stages['transfer'].source}."))
    return section


def search_section(section: Section, found: ReportInputs, dpi: int) -> Section:
    study = found.study
    if study is None or study.problem:
        stage = found.stages.get("study") or Stage("search", problem="no Optuna study configured")
        _missing(section, stage)
    else:
        if study.importances:
            section.add(FigureBlock(figures.importance_bars(study.importances, dpi,
                                                            study.gap_importances)))
        else:
            section.add(Paragraph(f"No parameter importances: {study.importance_problem}."))
        if (study.trials["state"] == "COMPLETE").any():
            section.add(FigureBlock(figures.optimisation_history(study.trials, study.maximize,
                                                                 dpi)))
    if found.search is not None:
        flat = flatten(found.search.model_dump(mode="json"), scalars_only=True)
        section.add(KeyValues([(k, str(v)) for k, v in flat.items()]))
    if not found.trials.empty:
        section.add(trials_table(found.trials))
    return section


def trials_table(trials: pd.DataFrame) -> Table:
    rows = [[num_cell(t["trial"], 0), text_cell(t["run_name"]), text_cell(t["cell"]),
             text_cell(t["seed"]), Cell(t["state"], tone="bad" if t["state"] in ("failed",
                                                                              "killed") else ""),
             pct_cell(t["val_acc"]), pct_cell(t["test_acc"]),
             points_cell(100 * t["gap_acc"], higher_is_better=False),
             num_cell(t["epochs_run"], 0), Cell(duration(t["seconds"]), _sort(t["seconds"])),
             text_cell(t["fail_reason"]), Cell(str(t["run_id"]), tone="id")]
            for _, t in trials.iterrows()]
    return Table([Column("trial", True), Column("run"), Column("recipe"), Column("seed"),
                  Column("state"), Column("val acc", True), Column("test acc", True),
                  Column("gap", True), Column("epochs", True), Column("time", True),
                  Column("failure"), Column("MLflow run id")], rows,
                 caption="Every trial of the search; the run id finds it in MLflow.")
