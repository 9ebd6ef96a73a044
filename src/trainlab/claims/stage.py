"""`trainlab claims`: test the lecture's claims on the user's data and write the verdicts.

Loops over the rows of :mod:`trainlab.claims.catalogue`: runs the small experiments they name
(claims 1-6), reads what the search, ensemble and transfer stages measured (claims 3, 6
context; 7, 8, 9), judges each claim by its assessment and rule, and writes
reports/claims.json (DVC metrics) inside one MLflow run `claims` tagged trainlab.kind=claims (a
metric per number, a tag per verdict, the raw experiment rows as an artifact).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from mlflow.tracking import MlflowClient

from trainlab.claims import evidence
from trainlab.claims.assess import Findings, Judged, Read
from trainlab.claims.catalogue import CLAIMS, measures
from trainlab.claims.experiments import Experiments
from trainlab.claims.results import ClaimsFile
from trainlab.claims.verdict import STATUSES
from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.ensemble.summary_file import STAGE as ENSEMBLE
from trainlab.ensemble.summary_file import EnsembleSummary
from trainlab.io import clean, slug
from trainlab.models.device import resolve_device
from trainlab.progress import Steps
from trainlab.provenance import provenance_tags
from trainlab.search.results import STAGE as SEARCH
from trainlab.search.results import TrialRow
from trainlab.stagefile import read_model, read_rows, rerun, write_dvc_metrics, write_model
from trainlab.tracking import (
    CLAIMS_KIND,
    KIND_TAG,
    client_for,
    log_metrics,
    log_params,
    tracked_run,
)
from trainlab.transfer.results import STAGE as TRANSFER
from trainlab.transfer.results import CellResult


@dataclass(frozen=True)
class Evidence:
    """Where the other stages' outputs are (the paths dvc.yaml gives the stage)."""

    search_trials: Path = Path("reports/search_trials.csv")
    ensemble: Path = Path("reports/ensemble.json")
    transfer: Path = Path("reports/transfer.csv")


def add_arguments_claims(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="reports/claims.json", help="every claim's verdict")
    parser.add_argument("--metrics", default="metrics/claims.json",
                        help="DVC metrics file (numbers only)")
    parser.add_argument("--search-trials", default=str(Evidence.search_trials),
                        help="the search stage's trial table")
    parser.add_argument("--ensemble", default=str(Evidence.ensemble),
                        help="the ensemble stage's report")
    parser.add_argument("--transfer", default=str(Evidence.transfer),
                        help="the transfer stage's cells")


def check_claims(cfg: Config, data: PreparedData, upstream: Evidence,
                 client: MlflowClient | None = None) -> tuple[ClaimsFile, dict[str, Any]]:
    """Run the experiments and judge every claim.

    Returns:
        (claims.json, the raw experiment rows).
    """
    started = time.perf_counter()
    threads = torch.get_num_threads()
    if cfg.claims.threads:
        torch.set_num_threads(cfg.claims.threads)
    try:
        ex = Experiments(cfg, data, resolve_device(cfg.train.device))
        names = measures()
        steps = Steps("claims", len(names))  # minutes of small trainings: say where it is
        rows = {}
        for name in names:
            rows[name] = getattr(ex, name)()
            steps.step(f"{name} experiment")
    finally:
        torch.set_num_threads(threads)
    judged = judge_all(cfg, rows, upstream, client)
    entries = {}
    for claim in CLAIMS:
        verdict, details = judged[claim.key]
        context = details.pop("context", {}) if details is not None else {}
        entries[claim.key] = {
            "number": claim.number, "claim": claim.statement,
            "experiment": claim.describe(cfg.claims),
            "status": verdict.status, "reason": verdict.reason, "rule": verdict.rule,
            "confidence": verdict.confidence,
            "conditions": {name: vars(c) for name, c in verdict.conditions.items()},
            "numbers": verdict.numbers, "context": context, "details": details,
        }
    statuses = [entry["status"] for entry in entries.values()]
    payload = {
        "claims": entries,
        "summary": {status.replace(" ", "_"): statuses.count(status) for status in STATUSES},
        "seconds": {"total": round(time.perf_counter() - started, 2), **ex.seconds},
        "seeds": ex.seeds,
        "data": {"dataset": data.dataset, "fingerprint": data.fingerprint,
                 "preprocessing": data.preprocessing},
        "experiments": cfg.claims.model_dump(mode="json", exclude={"rules"}),  # to rerun
        "rules": cfg.claims.rules.model_dump(mode="json"),
        "evidence": {k: str(v) for k, v in vars(upstream).items()},
        "mlflow_run_id": None,
    }
    return ClaimsFile.model_validate(clean(payload)), clean(rows)


def judge_all(cfg: Config, rows: dict[str, Any], upstream: Evidence,
              client: MlflowClient | None) -> dict[str, Judged]:
    """Every claim's (verdict, details): the findings gathered once, each claim's assessment
    handed its thresholds (`claims.rules.<rule>`)."""
    trials = Read(*read_rows(upstream.search_trials, TrialRow, rerun(SEARCH)))
    found = Findings(
        claims=cfg.claims, grid=cfg.grid, confidence=cfg.stats.confidence,
        resamples=cfg.stats.resamples, rows=rows, trials=trials,
        ensemble=Read(*read_model(upstream.ensemble, EnsembleSummary, rerun(ENSEMBLE))),
        cells=Read(*read_rows(upstream.transfer, CellResult, rerun(TRANSFER))),
        search_curves=evidence.search_train_curves(client, trials.content)
        if trials.content is not None and client else {},
    )
    return {claim.key: claim.assess(found, getattr(cfg.claims.rules, claim.rule))
            for claim in CLAIMS}


def metric_key(text: str) -> str:
    """An MLflow metric name: each '/'-separated part as :func:`trainlab.io.slug` writes
    names ('ensemble/gain pp' -> 'ensemble/gain_pp'); the '/' stays, the MLflow UI groups
    metrics by it."""
    return "/".join(slug(part) for part in text.split("/"))


def track(client: MlflowClient, cfg: Config, claims: ClaimsFile, rows: dict[str, Any],
          fingerprint: str, out: Path) -> str:
    """One MLflow run `claims`: verdict tags, number metrics, claims.json and the rows."""
    entries = claims.claims
    tags = provenance_tags(fingerprint) | {KIND_TAG: CLAIMS_KIND,
                                           "data.dataset": claims.data.dataset}
    for key, entry in entries.items():
        tags[f"claims.{key}.status"] = entry.status
        tags[f"claims.{key}.reason"] = entry.reason[:5000]
    with tracked_run(client, cfg.tracking.experiment, "claims", tags) as run_id:
        log_params(client, run_id, cfg.flat("seed", "claims"))
        metrics = {f"claims/{status}": n for status, n in claims.summary}
        metrics["time/seconds"] = claims.seconds.total
        for key, entry in entries.items():
            for label, value in {**entry.numbers, **entry.context}.items():
                if value is not None and math.isfinite(value):
                    metrics[metric_key(f"{key}/{label}")] = value
            for name, condition in entry.conditions.items():  # each with its interval
                for part in ("effect", "low", "high"):
                    value = getattr(condition, part)
                    if value is not None and math.isfinite(value):
                        metrics[metric_key(f"{key}/{name}/{part}")] = value
        log_metrics(client, run_id, metrics)
        write_model(out, claims.model_copy(update={"mlflow_run_id": run_id}))
        client.log_artifact(run_id, str(out))
        client.log_dict(run_id, rows, "experiments.json")
    return run_id


def run_claims(cfg: Config, args: argparse.Namespace) -> int:
    """`trainlab claims`: every claim's verdict into `--out` and an MLflow run."""
    data = load_prepared(cfg.data.prepared_dir)
    client = client_for(cfg.tracking)
    upstream = Evidence(Path(args.search_trials), Path(args.ensemble), Path(args.transfer))
    claims, rows = check_claims(cfg, data, upstream, client)
    run_id = track(client, cfg, claims, rows, data.fingerprint, Path(args.out))
    write_dvc_metrics(args.metrics, claims.metrics())
    for entry in claims.claims.values():
        print(f"claims: {entry.number}. {entry.status:>13}: {entry.claim}")
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in claims.summary if n)
    print(f"claims: {counts} in {claims.seconds.total:.1f} s -> {args.out} "
          f"(MLflow run {run_id})")
    return 0
