"""The headline numbers: the summary section and the DVC metrics file share them."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from trainlab.config.schema import StatsConfig
from trainlab.io import clean
from trainlab.report import document as doc
from trainlab.report import tables
from trainlab.report.document import duration, interval, pct, points, spread
from trainlab.report.inputs import ReportInputs
from trainlab.report.metrics_file import ReportMetrics
from trainlab.report.sources import column
from trainlab.report.trials import STATES
from trainlab.search.results import BEST_RECIPE, BEST_SEED
from trainlab.transfer.results import Headline, headline, transfer_gains


def state_counts(trials: pd.DataFrame) -> dict[str, int]:
    counts = trials["state"].value_counts() if not trials.empty else pd.Series(dtype=int)
    return {"total": int(len(trials)), **{s: int(counts.get(s, 0)) for s in STATES}}


def wall_time(found: ReportInputs) -> tuple[float | None, str]:
    """Seconds the search took and where that number comes from."""
    if found.search is not None:
        return found.search.wall_seconds, "search.json wall_seconds"
    parent = found.search_parent
    if parent is not None and pd.notna(parent.get("end_time")):
        return (parent["end_time"] - parent["start_time"]) / 1000.0, "search run duration"
    total = found.trials["seconds"].sum() if not found.trials.empty else math.nan
    return (float(total), "sum of trial times") if total > 0 else (None, "")


def distinct(found: ReportInputs, tag: str) -> str:
    """The distinct values of a tag over the trial runs (provenance should be one value)."""
    runs = found.experiment.runs
    if runs.empty:
        return doc.DASH
    ids = set(found.trials["run_id"].dropna())
    values = column(runs[runs["run_id"].isin(ids)] if ids else runs, f"tags.{tag}").dropna()
    unique = list(dict.fromkeys(str(v) for v in values))
    return ", ".join(unique) if unique else doc.DASH


def transfer_headline(found: ReportInputs) -> Headline | None:
    """The declared transfer gain (`transfer.headline`, the DVC metric tl_gain) at the
    smallest target size, as the stage wrote it; from the cells by the default rule when only
    they were found (MLflow). Never the largest of the gains: a maximum of noisy estimates is
    biased up."""
    if found.transfer_summary is not None:
        return found.transfer_summary.headline
    cells = found.transfer or []
    return headline(cells, transfer_gains(cells), {}, None, StatsConfig()) if cells else None


def summary_section(section: doc.Section, found: ReportInputs, dpi: int) -> doc.Section:
    best, worst = tables.best_and_worst(found.table)
    counts = state_counts(found.trials)
    seconds, seconds_source = wall_time(found)
    level = f"{found.search.confidence:.0%}" if found.search else None
    cards = [
        doc.Card(f"{BEST_RECIPE.capitalize()} (chosen on validation)", _best_text(best),
                 f"test accuracy of {best['label']} over {best['seeds']} seed(s)"
                 + (f" [{level} interval]" if level and pd.notna(best.get("test_low")) else "")
                 if best is not None else "no finished trial yet"),
        _best_set_card(found),
        doc.Card(f"Train − test gap of the {BEST_RECIPE}",
                 points(100 * best["gap_acc_mean"]) if best is not None else doc.DASH,
                 f"final train accuracy {pct(best['final_train_acc_mean'])}"
                 if best is not None else ""),
        _ensemble_card(found),
        _transfer_card(found),
        doc.Card("Trials", str(counts["total"]),
                 " · ".join(f"{counts[s]} {s}" for s in STATES if counts[s] or s != "running")),
        doc.Card("Wall time", duration(seconds), seconds_source),
    ]
    section.add(doc.Cards(cards))
    found_regime = tables.regime(found.trials, best)
    if found_regime is not None:  # the budget every comparison below is made at
        section.add(doc.Paragraph(found_regime.text()))
    section.add(doc.KeyValues(_facts(found, best, worst)))
    for key, stage in found.stages.items():
        if not stage.ran:
            what = ("The search's Optuna study is not available" if key == "study"
                    else f"The {stage.name} stage has not run or left no results")
            section.add(doc.Notice(f"{what}: {stage.problem}. Run it with", stage.command))
    section.add(_status_table(found))
    return section


def _best_text(best: pd.Series | None) -> str:
    if best is None:
        return doc.DASH
    if pd.notna(best.get("test_low")):
        return interval(best["test_acc_mean"], best["test_low"], best["test_high"])
    return spread(best["test_acc_mean"], best["test_acc_std"])


def _best_set_card(found: ReportInputs) -> doc.Card:
    search = found.search
    if search is None or search.best_set is None:
        return doc.Card("Not distinguishable from the best", doc.DASH,
                        "the search wrote no per-image comparison")
    best_set = search.best_set
    return doc.Card(f"Not distinguishable from the best ({search.confidence:.0%})",
                    f"{len(best_set.cells)} of {best_set.compared}",
                    "recipes the test images cannot tell apart from the best: paired, "
                    "Holm-adjusted (see Recipes)")


def _ensemble_card(found: ReportInputs) -> doc.Card:
    summary = found.ensemble
    if summary is None:
        return doc.Card("Ensemble gain", doc.DASH, "ensemble stage not run")
    gain_points, gain = summary.gain
    real = gain.low_points > 0 or gain.high_points < 0
    seeded = summary.over_seeds
    if seeded is not None:
        versus = (f"{len(seeded.draws)} ensembles (one per seed) {pct(seeded.mean.acc)} vs the "
                  f"{BEST_RECIPE} {pct(seeded.best_recipe_acc)} at the same seeds")
        how = f"seed x image bootstrap, {gain.seeds} seeds"
    else:
        versus = (f"mean-probability ensemble {pct(summary.ensemble.acc)} vs the {BEST_SEED} "
                  f"{pct(summary.best_single.by_val.acc)}")
        how = "paired over the test images, one seed: not decided"
    detail = (f"{versus}; {gain.confidence:.0%} interval [{gain.low_points:+.2f}, "
              f"{gain.high_points:+.2f}] pp, {how} "
              f"({'' if real else 'not '}distinguishable from no gain)")
    return doc.Card(f"Ensemble gain over the {BEST_RECIPE}", points(gain_points), detail)


def _transfer_card(found: ReportInputs) -> doc.Card:
    if found.transfer is None:
        return doc.Card("Transfer vs scratch", doc.DASH, "transfer stage not run")
    gain = transfer_headline(found)
    if gain is None:
        return doc.Card("Transfer vs scratch", doc.DASH, "no scratch baseline to compare with")
    band = (f" [{points(gain.low_points)}, {points(gain.high_points)}] at "
            f"{gain.confidence:.0%}" if gain.low_points is not None
            and gain.high_points is not None else "")
    return doc.Card("Transfer vs scratch", points(gain.gain_points),
                    f"{gain.backbone} {gain.mode} at {gain.size} target images, mean over "
                    f"{gain.seeds} seed(s){band} (transfer.headline)")


def _facts(found: ReportInputs, best: Any, worst: Any) -> list[tuple[str, str]]:
    facts = []
    if best is not None:
        facts.append(("Best recipe", f"{best['label']}: validation {pct(best['val_acc_mean'])}, "
                      f"test {spread(best['test_acc_mean'], best['test_acc_std'])}, "
                      f"gap {points(100 * best['gap_acc_mean'])}"))
    if worst is not None:
        facts.append(("Worst recipe", f"{worst['label']}: validation "
                      f"{pct(worst['val_acc_mean'])}, test {pct(worst['test_acc_mean'])}"))
    if found.train is not None:
        facts.append(("Single recipe (train stage)", f"test {pct(found.train.test_acc)}, gap "
                      f"{points(100 * found.train.gap_acc)}"))
    facts += [
        ("MLflow experiment", f"{found.experiment.name} at {found.experiment.uri}"),
        ("Hardware", f"CPU {distinct(found, 'hardware.cpu')}; "
                     f"GPU {distinct(found, 'hardware.gpu')}"),
        ("Git commit", distinct(found, "trainlab.git_commit")),
        ("Dataset", f"{distinct(found, 'data.dataset')} (fingerprint "
                    f"{distinct(found, 'data.fingerprint')})"),
        ("Compute time", duration(found.trials["seconds"].sum()) if not found.trials.empty
         else doc.DASH),
    ]
    if found.study is not None:
        facts.append(("Optuna study", f"{found.study.name} in {found.study.storage}"))
    return facts


def _status_table(found: ReportInputs) -> doc.Table:
    rows = []
    for key, stage in found.stages.items():
        what = "Optuna study" if key == "study" else stage.name
        rows.append([doc.Cell(what),
                     doc.Cell("ok" if stage.ran else "missing", tone="" if stage.ran else "bad"),
                     doc.Cell(stage.source if stage.ran else stage.problem),
                     doc.Cell(stage.command)])
    columns = [doc.Column("stage"), doc.Column("status"), doc.Column("source"),
               doc.Column("to run it")]
    return doc.Table(columns, rows, caption="Where each part of this report comes from.",
                     sortable=False)


def metrics_payload(found: ReportInputs) -> ReportMetrics:
    """DVC metrics (numbers only, accuracies as fractions, gains in points)."""
    best, _ = tables.best_and_worst(found.table)
    done = found.table[found.table["seeds"] > 0] if "seeds" in found.table else found.table
    payload: dict[str, Any] = {"trials": state_counts(found.trials)}
    if best is not None:
        payload["best"] = {"test_acc": best["test_acc_mean"], "test_acc_std": best["test_acc_std"],
                           "val_acc": best["val_acc_mean"], "gap_acc": best["gap_acc_mean"],
                           "train_acc": best["final_train_acc_mean"], "seeds": best["seeds"]}
        payload["recipes"] = {"count": len(done), "max_test_acc": done["test_acc_mean"].max(),
                              "min_gap_acc": done["gap_acc_mean"].min()}
    if found.ensemble is not None:
        seeded = found.ensemble.over_seeds
        payload["ensemble"] = {
            "gain_points": found.ensemble.gain[0],
            "acc": seeded.mean.acc if seeded else found.ensemble.ensemble.acc,
            "best_single_acc": (seeded.best_recipe_acc if seeded
                                else found.ensemble.best_single.by_val.acc)}
    if found.transfer is not None:
        transfer: dict[str, Any] = {}
        for gain in transfer_gains(found.transfer):
            transfer.setdefault(gain.backbone, {}).setdefault(gain.mode, {})[
                f"gain_points_{gain.size}"] = gain.gain_points
        payload["transfer"] = transfer
    payload["wall_seconds"], _ = wall_time(found)
    return ReportMetrics.model_validate(clean(payload, digits=6, drop_missing=True))
