"""`trainlab ensemble`: combine the search's top-k checkpoints and measure what it buys.

Each member is loaded once (weights_only), predicts the val and test splits once, and every
combination reuses those cached probabilities: the mean of probabilities (the lecture's
ensemble), a majority vote, and greedy forward selection on val. The report goes to a DVC
metrics file and to one MLflow run tagged with the search's parent run.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient

from trainlab.config.params import Config
from trainlab.data.prepared import load_prepared
from trainlab.ensemble.manifest import read_manifest
from trainlab.ensemble.predict import check_fingerprints, predict_members
from trainlab.ensemble.summary import (
    over_seeds,
    seed_test_predictions,
    summarize,
    test_predictions,
)
from trainlab.ensemble.summary_file import ARTIFACT, EnsembleSummary
from trainlab.models.device import resolve_device
from trainlab.probabilities import write_predictions
from trainlab.provenance import provenance_tags
from trainlab.registry import ALIAS, example_images, register
from trainlab.search.results import BEST_SEED, Manifest
from trainlab.stagefile import write_dvc_metrics, write_model
from trainlab.tracking import (
    ENSEMBLE_KIND,
    KIND_TAG,
    client_for,
    log_metrics,
    log_params,
    tracked_run,
)

log = logging.getLogger(__name__)

SEARCH_TAG = "trainlab.search_parent_run_id"
MEMBERS_KEY = "ensemble.members"


def track(
    client: MlflowClient,
    cfg: Config,
    manifest: Manifest,
    report: EnsembleSummary,
    fingerprint: str,
    out: Path,
    example: np.ndarray | None = None,
) -> str:
    """Log the report as one MLflow run linked to the search; write `out` inside it; with
    `example` images, the averaged members as a registered MLflow model too."""
    member_ids = list(report.ensemble.members)
    tags = provenance_tags(fingerprint) | {
        KIND_TAG: ENSEMBLE_KIND,
        SEARCH_TAG: manifest.parent_run_id,
        "trainlab.study": manifest.study,
        MEMBERS_KEY: ",".join(member_ids),
    }
    with tracked_run(client, cfg.tracking.experiment, "ensemble", tags) as run_id:
        params = cfg.flat("ensemble", "tracking")
        log_params(
            client,
            run_id,
            params
            | {
                "data.prepared_dir": cfg.data.prepared_dir,
                MEMBERS_KEY: member_ids,
                "ensemble.top_k_used": report.top_k.used,
                "search.study": manifest.study,
            },
        )
        ens, best = report.ensemble, report.best_single.by_val
        log_metrics(
            client,
            run_id,
            {
                "ensemble/acc": ens.acc,
                "ensemble/gain_points": ens.gain_points,
                "ensemble/gain_points_vs_best_test": ens.gain_points_vs_best_test,
                "ensemble/ece": ens.ece,
                "ensemble/nll": ens.nll,
                "best_single/acc": best.acc,
                "best_single/ece": best.ece,
                "best_single/nll": best.nll,
                "vote/acc": report.vote.acc,
                "greedy/acc": report.greedy.acc,
                "greedy/gain_points": report.greedy.gain_points,
                "diversity/disagreement": report.diversity.disagreement,
                "ensemble/gain_points_over_seeds": report.gain[0],
            },
        )
        report = report.model_copy(update={"mlflow_run_id": run_id})
        if example is not None:
            name = f"{cfg.tracking.experiment}-ensemble"
            version = register(client, run_id, name,
                               [m.checkpoint for m in report.averaged], example)
            print(f"ensemble: registered as MLflow model {name} version {version} ({ALIAS})",
                  flush=True)
        # The artifact is logged from a copy and `out` replaced only after the run ended
        # FINISHED: a Ctrl-C while MLflow stores it (run KILLED) must leave the previous
        # complete report, not a new one naming a KILLED run (tests/ensemble/*interrupt*).
        with tempfile.TemporaryDirectory() as tmp:
            client.log_artifact(run_id, str(write_model(Path(tmp) / ARTIFACT, report)))
    write_model(out, report)
    return run_id


def add_arguments_ensemble(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest",
        default="models/search/manifest.json",
        help="the search stage's manifest of kept checkpoints",
    )
    parser.add_argument("--out", default="reports/ensemble.json", help="the ensemble's report")
    parser.add_argument("--metrics", default="metrics/ensemble.json",
                        help="DVC metrics file (numbers only)")
    parser.add_argument("--predictions", default="models/ensemble/test_predictions.npz",
                        help="each combination's test predictions (the leaderboard's input)")


def run_ensemble(cfg: Config, args: argparse.Namespace) -> int:
    """`trainlab ensemble`: the report of the manifest's top-k checkpoints."""
    manifest = read_manifest(args.manifest)
    ecfg = cfg.ensemble
    loaded = manifest.members[: max(ecfg.top_k, ecfg.greedy_pool)]
    data = load_prepared(cfg.data.prepared_dir)
    # Checkpoints are loaded (and refused) before the tracking database is opened, so a bad
    # checkpoint leaves no trace there.
    device = resolve_device(ecfg.device)
    preds = predict_members(loaded, data, ecfg.batch_size, device)
    client = client_for(cfg.tracking)
    unchecked = check_fingerprints(client, loaded, data.fingerprint)
    report = summarize(preds, ecfg, manifest, data.dataset, data.fingerprint, unchecked,
                       cfg.stats)
    per_seed: dict[str, np.ndarray] = {}
    if manifest.seed_ensembles:
        # one ensemble per seed (members from other seeds than the other ensembles'): the
        # gain that counts the training randomness (summary.over_seeds)
        draws = {draw.seed: predict_members(draw.members, data, ecfg.batch_size, device)
                 for draw in manifest.seed_ensembles}
        seeded = over_seeds(draws, ecfg, cfg.stats)
        report = report.model_copy(update={"over_seeds": seeded})
        per_seed = seed_test_predictions(draws, seeded)
    else:
        log.warning("ensemble: the manifest has no per-seed ensembles (tpe sampler or an older "
                    "search): the gain is one draw, conditional on the trained models")
    for note in report.notes:
        log.warning("ensemble: %s", note)
    example = example_images(data) if cfg.tracking.register_models else None
    run_id = track(client, cfg, manifest, report, data.fingerprint, Path(args.out), example)
    write_dvc_metrics(args.metrics, report.metrics())
    write_predictions(args.predictions, preds.test_labels.numpy(),
                      **test_predictions(preds, report), **per_seed)
    _print_summary(report, run_id)
    return 0


def _print_summary(report: EnsembleSummary, run_id: str) -> None:
    seeded = report.over_seeds
    if seeded is not None:
        mean = seeded.mean
        print(f"ensemble: {len(seeded.draws)} ensembles of the top {len(seeded.cells)} cells, "
              f"one per seed: mean-prob test/acc {mean.acc:.4f} ({mean.gain_points:+.2f} points "
              f"[{mean.gain_interval.low_points:+.2f}, {mean.gain_interval.high_points:+.2f}] "
              f"at {mean.gain_interval.confidence:.0%}, {mean.gain_interval.seeds} seeds, over "
              f"the best recipe {seeded.best_cell} {seeded.best_recipe_acc:.4f}); vote "
              f"{seeded.vote.acc:.4f}; greedy {seeded.greedy.acc:.4f}")
    ens, best, greedy = report.ensemble, report.best_single.by_val, report.greedy
    picks = ", ".join(f"rank{s.rank}x{s.count}" for s in greedy.selection)
    print(
        f"ensemble: top-{report.top_k.used} mean-prob test/acc {ens.acc:.4f} (one draw) "
        f"({ens.gain_points:+.2f} points [{ens.gain_interval.low_points:+.2f}, "
        f"{ens.gain_interval.high_points:+.2f}] at {ens.gain_interval.confidence:.0%} over "
        f"the {BEST_SEED} (by val), rank {best.rank}, "
        f"{best.acc:.4f}); vote {report.vote.acc:.4f}; greedy {greedy.acc:.4f} "
        f"({picks}); ECE {ens.ece:.4f} vs {best.ece:.4f}; disagreement "
        f"{report.diversity.disagreement:.4f} (MLflow run {run_id})"
    )
