"""`trainlab leaderboard`: the grid's best recipe, its ensembles and pretrained baselines, on
the same task and the same test images, with what each costs.

Reads the search's trials and manifest, the ensemble's summary and test predictions; trains
the baselines (:mod:`trainlab.leaderboard.baselines`) and the best recipe on fewer labelled
images (:mod:`trainlab.leaderboard.recipe_curve`); writes reports/leaderboard.json and the DVC
metrics. One MLflow run of kind `leaderboard` holds the leaderboard as metrics and the file
as an artifact; the baselines and the recipe's subset trainings are its child runs.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trainlab.config.params import Config
from trainlab.correctness import load_correct
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.ensemble.manifest import read_manifest
from trainlab.ensemble.summary_file import SEED_KEY, EnsembleSummary, OverSeeds, SeedDraw
from trainlab.errors import DataError
from trainlab.io import slug
from trainlab.leaderboard.baselines import Baseline, fraction_sizes, train_baselines
from trainlab.leaderboard.costs import images_per_second, parameter_count
from trainlab.leaderboard.recipe_curve import RecipePoint, cell_trials, recipe_points
from trainlab.leaderboard.results import BEST_SINGLE, ENSEMBLES, LeaderboardFile
from trainlab.leaderboard.table import (
    RECIPE,
    Entry,
    crossover,
    curve_point,
    headline,
    leaderboard_rows,
)
from trainlab.models.checkpoint import load_predictor
from trainlab.models.custom import check_network
from trainlab.models.device import resolve_device
from trainlab.probabilities import TestPredictions, read_predictions
from trainlab.provenance import provenance_tags
from trainlab.search.grid import base_config
from trainlab.search.results import BEST_RECIPE, Manifest, TrialRow
from trainlab.stagefile import read_model, read_rows, rerun, write_dvc_metrics, write_model
from trainlab.tracking import (
    KIND_TAG,
    LEADERBOARD_KIND,
    client_for,
    log_metrics,
    log_params,
    tracked_run,
)

ARTIFACT = "leaderboard.json"


def add_arguments_leaderboard(parser) -> None:
    parser.add_argument("--search-trials", default="reports/search_trials.csv",
                        help="the search's trials (seconds, train accuracy per run)")
    parser.add_argument("--manifest", default="models/search/manifest.json",
                        help="the search's kept checkpoints")
    parser.add_argument("--ensemble", default="reports/ensemble.json",
                        help="the ensemble's summary (members, greedy selection)")
    parser.add_argument("--predictions", default="models/ensemble/test_predictions.npz",
                        help="the ensemble's test predictions per combination")
    parser.add_argument("--out", default="reports/leaderboard.json", help="the leaderboard")
    parser.add_argument("--metrics", default="metrics/leaderboard.json",
                        help="DVC metrics file (numbers only)")


def run_leaderboard(cfg: Config, args) -> int:
    """`trainlab leaderboard`: score, train and rank; write the file and the metrics."""
    started = time.perf_counter()
    data = load_prepared(cfg.data.prepared_dir)
    check_network(base_config(cfg).model, data.image_shape, data.num_classes)  # retrained here
    trials, summary, manifest = _read_inputs(args)
    predictions = read_predictions(args.predictions, len(data.test))
    if not np.array_equal(predictions.labels, data.test.labels.numpy()):
        raise DataError(f"{args.predictions} scores other test images than the prepared data "
                        f"in {cfg.data.prepared_dir}; {rerun('ensemble')}")
    device = resolve_device(cfg.transfer.device)
    if cfg.transfer.threads:
        torch.set_num_threads(cfg.transfer.threads)
    by_run = {row.run_id: row for row in trials if row.run_id}
    best = _trial(by_run, summary.best_single.by_val.run_id, args.search_trials)
    if summary.over_seeds is not None:
        # The best recipe is the cell first on mean validation accuracy, the one the per-seed
        # ensembles are compared with (one best recipe throughout), not the cell of the one
        # checkpoint with the best validation accuracy.
        best = _best_trial_of(trials, summary.over_seeds.best_cell, best)
    sizes = fraction_sizes(cfg.leaderboard.fractions, data)

    client = client_for(cfg.tracking)
    tags = provenance_tags(data.fingerprint) | {KIND_TAG: LEADERBOARD_KIND,
                                                "data.dataset": data.dataset}
    with tracked_run(client, cfg.tracking.experiment, "leaderboard", tags) as run_id:
        log_params(client, run_id, cfg.flat("leaderboard", "transfer", "stats"))
        baselines = train_baselines(cfg, data, client, run_id, device, on_result=_show_baseline)
        points = recipe_points(cfg, data, best, trials, sizes, client, run_id,
                               on_point=_show_point)
        models = _by_model(baselines)
        entries = [
            *_recipe_entries(cfg, data, predictions, summary, manifest, by_run, device,
                             cell_trials(trials, best)),
            *[_baseline_entry(seeds) for (_, fraction), seeds in models.items()
              if fraction == 1.0],
        ]
        rows = leaderboard_rows(entries, predictions.labels, cfg.stats, cfg.ensemble.ece_bins)
        board = LeaderboardFile(
            dataset=data.dataset, fingerprint=data.fingerprint, test_images=len(data.test),
            train_images=len(data.train), confidence=cfg.stats.confidence,
            best_single=f"{best.cell}#s{best.seed}, trial {best.trial} (val {best.val_acc:.4f})",
            method=(f"test accuracy: mean over a row's seeds (baselines and the curve: "
                    f"{cfg.stats.seeds} each; the {BEST_SINGLE}: the search's seeds of its "
                    f"cell), seed x image bootstrap interval (Clopper-Pearson exact for one "
                    f"seed); difference from the {BEST_SINGLE}: seed x image paired bootstrap "
                    f"(each side's seeds resampled on their own, the test images jointly; "
                    f"one seed a side: the image bootstrap with McNemar's exact test, never "
                    f"decided); {cfg.stats.resamples} resamples, at "
                    f"{cfg.stats.confidence:.0%}"),
            seeds=cfg.stats.seeds, rows=tuple(rows),
            headline=headline(rows, cfg.leaderboard.headline_baseline()),
            curve=tuple(_curve(cfg, points, models)),
            crossovers=tuple(_crossovers(cfg, points, models)),
            notes=tuple(_notes(cfg, summary)), seconds=time.perf_counter() - started,
            mlflow_run_id=run_id,
        )
        log_metrics(client, run_id, _run_metrics(board))
        with tempfile.TemporaryDirectory() as tmp:
            client.log_artifact(run_id, str(write_model(Path(tmp) / ARTIFACT, board)))
    write_model(args.out, board)
    write_dvc_metrics(args.metrics, board.metrics())
    _print_board(board)
    return 0


def _read_inputs(args) -> tuple[list[TrialRow], EnsembleSummary, Manifest]:
    trials, problem = read_rows(args.search_trials, TrialRow, rerun("search"))
    if trials is None:
        raise DataError(problem)
    summary, problem = read_model(args.ensemble, EnsembleSummary, rerun("ensemble"))
    if summary is None:
        raise DataError(problem)
    return trials, summary, read_manifest(args.manifest)


def _best_trial_of(trials: list[TrialRow], cell: str, fallback: TrialRow) -> TrialRow:
    """The COMPLETE trial of `cell` with the best validation accuracy (its name and seed
    retrain the curve), else `fallback`."""
    own = [t for t in trials if t.cell == cell and t.state == "COMPLETE" and t.val_acc is not None]
    return max(own, key=lambda t: t.val_acc or 0.0) if own else fallback


def _trial(by_run: dict[str, TrialRow], run_id: str, path: str) -> TrialRow:
    if run_id not in by_run:
        raise DataError(f"{path} has no trial of run {run_id} (the ensemble's {BEST_SINGLE}: "
                        f"its best single member); {rerun('search')} and `dvc repro ensemble`")
    return by_run[run_id]


# --- rows ------------------------------------------------------------------------------
def _recipe_entries(cfg: Config, data: PreparedData, predictions: TestPredictions,
                    summary: EnsembleSummary, manifest: Manifest,
                    by_run: dict[str, TrialRow], device: torch.device,
                    seeds: list[TrialRow]) -> list[Entry]:
    """The BEST_SINGLE row, the best recipe over `seeds` (the search's trials of its cell: the
    reference of every paired difference), and each ensemble, from the ensemble stage's
    predictions: over its per-seed ensembles (ensemble.json's `over_seeds`, members from
    different seeds) where they exist, else the one draw of the ranked checkpoints."""
    checkpoints = {m.run_id: m.checkpoint for m in manifest.members}
    for draw in manifest.seed_ensembles:
        checkpoints |= {m.run_id: m.checkpoint for m in draw.members}
    sample = data.test.images[: cfg.leaderboard.inference_images]
    modules: dict[str, torch.nn.Module] = {}

    def members(run_ids: list[str]) -> list[torch.nn.Module]:
        for run_id in run_ids:
            if run_id not in modules:
                modules[run_id] = load_predictor(checkpoints[run_id], map_location=device)
        return [modules[run_id] for run_id in run_ids]

    def entry(name: str, kind: str, key: str, run_ids: list[str], train_acc: float | None,
              run_id: str | None) -> Entry:
        nets = members(run_ids)
        return Entry(
            name=name, kind=kind, correct=predictions.correct(key),
            probs=predictions.probabilities(key), train_acc=train_acc,
            params=parameter_count(*nets),
            train_seconds=sum(by_run[r].seconds or 0.0 for r in run_ids),
            images_per_second=images_per_second(nets, sample, device), run_id=run_id,
        )

    seeded = summary.over_seeds
    keys = [SEED_KEY.format(combination=c, seed=d.seed) for d in seeded.draws
            for c in ("best", "mean", "vote", "greedy")] if seeded is not None else []
    by_seed = seeded is not None and all(key in predictions.models for key in keys)
    single = summary.best_single.by_val.run_id
    if seeded is not None and by_seed:
        single = seeded.draws[0].members[0]  # the best cell at the first seed: its network
    averaged = list(summary.ensemble.members)
    greedy = [pick.run_id for pick in summary.greedy.selection]
    best = entry(BEST_SINGLE, "recipe", "best_single", [single], by_run[single].final_train_acc,
                 single)
    if seeded is not None and by_seed:  # its ECE and NLL over the ensembles' seeds
        best = dataclasses.replace(best, probs=np.stack([
            predictions.models[SEED_KEY.format(combination="best", seed=d.seed)]
            for d in seeded.draws]))
    # Its accuracy and every difference from it over the seeds of its cell (its ECE and NLL
    # without per-seed ensembles: the chosen trial's, whose probabilities the stage kept).
    best = dataclasses.replace(
        best, correct=np.stack([load_correct(t.test_correct, len(data.test)) for t in seeds]),
        train_acc=_mean([t.final_train_acc for t in seeds]),
        train_seconds=statistics.fmean(t.seconds or 0.0 for t in seeds))
    one_draw = [
        entry(ENSEMBLES["mean"], "ensemble", "mean", averaged, None, summary.mlflow_run_id),
        entry(ENSEMBLES["vote"], "ensemble", "vote", averaged, None, summary.mlflow_run_id),
        entry(ENSEMBLES["greedy"], "ensemble", "greedy", greedy, None, summary.mlflow_run_id),
    ]
    if seeded is None or not by_seed:
        return [best, *one_draw]  # no per-seed ensembles (tpe, an older ensemble stage)
    return [best, *[_over_seeds(row, seeded, predictions, by_run) for row in one_draw]]


def _over_seeds(row: Entry, seeded: OverSeeds, predictions: TestPredictions,
                by_run: dict[str, TrialRow]) -> Entry:
    """An ensemble's row over the per-seed ensembles: accuracy and calibration from each
    seed's predictions, training time the mean of their members' (parameters and images/s:
    the one draw's, the same architectures)."""
    key = next(k for k, name in ENSEMBLES.items() if name == row.name)
    names = [SEED_KEY.format(combination=key, seed=d.seed) for d in seeded.draws]
    probs = [p for p in (predictions.probabilities(name) for name in names) if p is not None]

    def members(draw: SeedDraw) -> list[str]:
        return ([pick.run_id for pick in draw.greedy_picks] if key == "greedy"
                else list(draw.members))

    return dataclasses.replace(
        row, correct=np.stack([predictions.correct(name) for name in names]),
        probs=np.stack(probs) if len(probs) == len(names) else None,  # the vote: classes only
        train_seconds=statistics.fmean(sum(by_run[r].seconds or 0.0 for r in members(d)
                                           if r in by_run) for d in seeded.draws))


def _mean(values: list[float | None]) -> float | None:
    """The mean of the values recorded (None: none was)."""
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def _by_model(baselines: list[Baseline]) -> dict[tuple[str, float], list[Baseline]]:
    """The baselines by (name, fraction): each a list of its seeds' trainings."""
    grouped: dict[tuple[str, float], list[Baseline]] = {}
    for b in baselines:
        grouped.setdefault((b.name, b.fraction), []).append(b)
    return grouped


def _baseline_entry(seeds: list[Baseline]) -> Entry:
    """One baseline's row over its seeds: accuracies and costs the mean of its trainings'."""
    first = seeds[0]
    return Entry(
        name=first.name, kind="baseline", correct=np.stack([b.correct for b in seeds]),
        probs=np.stack([b.probs for b in seeds]),
        train_acc=statistics.fmean(b.cell.final_train_acc for b in seeds), params=first.params,
        train_seconds=statistics.fmean(b.train_seconds for b in seeds),
        images_per_second=next((b.images_per_second for b in seeds if b.images_per_second),
                               0.0),
        run_id=first.cell.run_id,
    )


# --- the curve and the crossovers -------------------------------------------------------
def _curve(cfg: Config, points: list[RecipePoint],
           models: dict[tuple[str, float], list[Baseline]]):
    for p in points:
        yield curve_point(RECIPE, p.fraction, p.images, p.correct, p.train_seconds, p.run_id,
                          cfg.stats)
    for (name, fraction), seeds in models.items():
        yield curve_point(name, fraction, seeds[0].cell.size,
                          np.stack([b.correct for b in seeds]),
                          statistics.fmean(b.train_seconds for b in seeds),
                          seeds[0].cell.run_id, cfg.stats)


def _crossovers(cfg: Config, points: list[RecipePoint],
                models: dict[tuple[str, float], list[Baseline]]):
    recipe = {p.images: p.correct for p in points}
    for name in dict.fromkeys(name for name, _ in models):
        mine = sorted((seeds for (n, _), seeds in models.items() if n == name),
                      key=lambda seeds: seeds[0].cell.size)
        sizes = [seeds[0].cell.size for seeds in mine]
        yield crossover(name, sizes, [np.stack([b.correct for b in seeds]) for seeds in mine],
                        [recipe[size] for size in sizes], cfg.stats)


def _notes(cfg: Config, summary: EnsembleSummary) -> list[str]:
    notes = []
    if cfg.search.sampler != "grid":
        notes.append(f"search.sampler = {cfg.search.sampler!r}: the best recipe is retrained on "
                     "fewer images with its cell and seed, not the sampler's other suggestions")
    if summary.over_seeds is not None:
        mean = summary.over_seeds.mean
        low, high = mean.gain_interval.low_points, mean.gain_interval.high_points
        notes.append(f"the ensemble rows are {len(summary.over_seeds.draws)} ensembles, one "
                     f"per seed (the top {len(summary.over_seeds.cells)} cells' trials at that "
                     f"seed), against the {BEST_SINGLE} over all its cell's seeds; against the "
                     f"{BEST_RECIPE} at the same seeds the mean ensemble gains "
                     f"{mean.gain_points:+.2f} pp [{low:+.2f}, {high:+.2f}] (ensemble.json "
                     "over_seeds; claim 7)")
    if summary.top_k.used < summary.top_k.requested:
        notes.append(f"the ensembles average {summary.top_k.used} members (ensemble.top_k = "
                     f"{summary.top_k.requested})")
    return notes


# --- MLflow and the terminal -------------------------------------------------------------
def _run_metrics(board: LeaderboardFile) -> dict[str, float]:
    metrics: dict[str, float] = {"time/seconds": board.seconds}
    for row in board.rows:
        key = slug(row.name)  # 'ensemble: mean probability' -> ensemble_mean_probability
        values = {"test_acc": row.test_acc, "test_low": row.test_low, "test_high": row.test_high,
                  "diff_points": row.diff_points, "diff_low": row.diff_low,
                  "diff_high": row.diff_high, "gap_acc": row.gap_acc, "ece": row.ece,
                  "nll": row.nll, "params": row.params, "train_seconds": row.train_seconds,
                  "images_per_second": row.images_per_second}
        metrics |= {f"{key}/{k}": float(v) for k, v in values.items() if v is not None}
    return metrics


def _show_baseline(b: Baseline) -> None:
    print(f"leaderboard: {b.name:>30} on {b.cell.size:>6} images, seed {b.cell.seed}: test/acc "
          f"{b.cell.test_acc:.4f}, {b.train_seconds:.1f} s", flush=True)


def _show_point(p: RecipePoint) -> None:
    print(f"leaderboard: {RECIPE:>30} on {p.images:>6} images, {p.seeds} seed(s): test/acc "
          f"{p.correct.mean():.4f}, {p.train_seconds:.1f} s a training", flush=True)


def _print_board(board: LeaderboardFile) -> None:
    level = f"{board.confidence:.0%}"
    print(f"leaderboard ({board.test_images} test images, intervals at {level}):")
    for row in board.rows:
        print(f"  {row.name:<32} {row.test_acc:.4f} [{row.test_low:.4f}, {row.test_high:.4f}]  "
              f"vs {BEST_SINGLE} {row.diff_points:+.2f} pp [{row.diff_low:+.2f}, "
              f"{row.diff_high:+.2f}]  {row.params:>9,} params  {row.train_seconds:>7.1f} s  "
              f"{row.images_per_second:>8.0f} img/s")
    for cross in board.crossovers:
        print(f"  {cross.verdict}")
    if board.headline is not None:
        h = board.headline
        print(f"  base_vs = {h.model} minus the {BEST_SINGLE}: {h.diff_points:+.2f} pp "
              f"[{h.diff_low:+.2f}, {h.diff_high:+.2f}] at {level}, {h.seeds} seed(s): "
              f"{h.standing}")
    print(f"leaderboard: {board.seconds:.1f} s (MLflow run {board.mlflow_run_id})")

