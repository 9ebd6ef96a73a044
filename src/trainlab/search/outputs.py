"""What the search leaves behind: the trial table, the summary, the top-k checkpoints.

The files' shapes are :mod:`trainlab.search.results` (their one owner); here they are filled
from the study. The top-k checkpoints are copied to `models/search/rank{r}_trial{n}.ckpt`.
The same numbers go to the search's MLflow parent run (`runs.log_parent`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from trainlab.correctness import ARTIFACT as CORRECT_ARTIFACT
from trainlab.correctness import VAL_ARTIFACT, load_correct
from trainlab.errors import DataError
from trainlab.io import write_with
from trainlab.search.results import (
    CellStanding,
    Manifest,
    Member,
    SearchSummary,
    SeedEnsemble,
    TrialCounts,
    TrialRow,
)
from trainlab.search.study import OUTCOME_ATTR, RUN_ATTR
from trainlab.stagefile import write_model, write_rows

LOST = "interrupted (its worker stopped sending heartbeats)"  # FAIL set by Optuna itself


def trial_rows(trials: list[FrozenTrial]) -> list[TrialRow]:
    """One CSV row per trial, in trial order."""
    rows = []
    for trial in sorted(trials, key=lambda t: t.number):
        attrs = trial.user_attrs
        row = {key: attrs.get(key) for key in TrialRow.model_fields}
        row |= {"trial": trial.number, "state": trial.state.name, "run_id": attrs.get(RUN_ATTR)}
        if trial.state == TrialState.COMPLETE:
            row["val_acc"] = trial.value
        if attrs.get("best_epoch") is not None:
            row["best_epoch"] = attrs["best_epoch"] + 1
        if trial.state == TrialState.FAIL and not attrs.get("fail_reason"):
            row["fail_reason"] = LOST
        rows.append(TrialRow.model_validate(row))
    return rows


def counts(trials: list[FrozenTrial]) -> TrialCounts:
    """Trials by state; `fail` are real failures (diverged, errors), `interrupted` were retried."""
    out = {"complete": 0, "pruned": 0, "fail": 0, "interrupted": 0, "unfinished": 0}
    for trial in trials:
        if trial.state == TrialState.FAIL:
            interrupted = trial.user_attrs.get(OUTCOME_ATTR, "interrupted") == "interrupted"
            out["interrupted" if interrupted else "fail"] += 1
        elif trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            out[trial.state.name.lower()] += 1
        else:
            out["unfinished"] += 1
    return TrialCounts(**out, total=len(trials))


def ranked(rows: list[TrialRow]) -> list[TrialRow]:
    """COMPLETE rows, best val accuracy first (ties: the earlier trial)."""
    complete = [row for row in rows if row.state == "COMPLETE" and row.val_acc is not None]
    return sorted(complete, key=lambda row: (-(row.val_acc or 0.0), row.trial))


def write_csv(path: str | Path, rows: list[TrialRow]) -> Path:
    return write_rows(path, rows, TrialRow)


def summary(rows: list[TrialRow], tally: TrialCounts, **extra: Any) -> SearchSummary:
    best = ranked(rows)[:1]
    return SearchSummary(
        best=best[0].recipe() if best else None,
        best_val_acc=best[0].val_acc if best else None,
        best_test_acc=best[0].test_acc if best else None,
        best_gap_acc=best[0].gap_acc if best else None,
        trials=tally,
        **extra,
    )


def write_json(path: str | Path, result: SearchSummary) -> Path:
    return write_model(path, result)


def keep_top_k(
    rows: list[TrialRow], top_k: int, models_dir: str, client: MlflowClient
) -> list[Member]:
    """Copy the best COMPLETE trials' checkpoints to `rank{r}_trial{n}.ckpt`; the members.

    Fewer COMPLETE trials than `top_k`: keeps them all and says so. A checkpoint missing
    here (trained on another machine) is fetched from the run's MLflow artifacts.
    """
    candidates = ranked(rows)
    if len(candidates) < top_k:
        print(f"search: search.top_k = {top_k} but only {len(candidates)} trial(s) completed; "
              f"keeping {len(candidates)}", file=sys.stderr, flush=True)
    folder = Path(models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    members: list[Member] = []
    for row in candidates:
        if len(members) == top_k:
            break
        name = f"rank{len(members) + 1}_trial{row.trial}.ckpt"
        if not copy_checkpoint(row, folder / name, client):
            continue
        members.append(Member(**row.recipe().model_dump(), rank=len(members) + 1,
                              checkpoint=str(PurePosixPath(models_dir) / name)))
    kept = {Path(m.checkpoint).name for m in members}
    for old in folder.glob("rank*_trial*.ckpt"):
        if old.name not in kept:
            old.unlink()
    return members


def _run_id(row: TrialRow) -> str:
    """The row's MLflow run, to download its artifacts from."""
    if row.run_id is None:
        raise MlflowException(f"trial {row.trial} has no MLflow run")
    return row.run_id


def copy_checkpoint(row: TrialRow, target: Path, client: MlflowClient) -> bool:
    source = Path(row.checkpoint or "")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        if not source.is_file():
            try:
                source = Path(client.download_artifacts(_run_id(row), "checkpoints/best.ckpt",
                                                        tmp))
            except (MlflowException, OSError) as err:
                print(f"search: trial {row.trial}: no checkpoint at {row.checkpoint!r} "
                      f"nor in MLflow ({err}); skipped for the top-k", file=sys.stderr)
                return False
        with open(source, "rb") as stream:  # a reader never sees half a checkpoint
            write_with(target, lambda out: shutil.copyfileobj(stream, out))
    return True


def test_correctness(rows: list[TrialRow], client: MlflowClient,
                     n_images: int) -> dict[int, np.ndarray]:
    """trial -> its per-image test correctness, for every COMPLETE row that has one: from
    its file, else (trained on another machine) from its run's MLflow artifacts. Rows without
    one (an older trainlab trained them) are left out, and the search says how many."""
    found, missing = _correctness(rows, client, n_images, "test")
    if missing:
        print(f"search: {len(missing)} trial(s) have no per-image test results (trained by an "
              f"older trainlab: {missing[:5]}...); their cells are not compared with the best",
              file=sys.stderr, flush=True)
    return found


def val_correctness(rows: list[TrialRow], client: MlflowClient,
                    n_images: int) -> dict[int, np.ndarray]:
    """trial -> its per-image validation correctness (racing's paired test), as
    :func:`test_correctness` finds it; cells without it race on Welch over seeds."""
    return _correctness(rows, client, n_images, "val")[0]


def _correctness(rows: list[TrialRow], client: MlflowClient, n_images: int,
                 split: str) -> tuple[dict[int, np.ndarray], list[int]]:
    artifact = CORRECT_ARTIFACT if split == "test" else VAL_ARTIFACT
    found: dict[int, np.ndarray] = {}
    missing = []
    for row in rows:
        if row.state != "COMPLETE":
            continue
        path = Path((row.test_correct if split == "test" else row.val_correct) or "")
        try:
            if path.is_file():
                found[row.trial] = load_correct(path, n_images, split)
                continue
            with tempfile.TemporaryDirectory() as tmp:
                fetched = client.download_artifacts(_run_id(row), artifact, tmp)
                found[row.trial] = load_correct(fetched, n_images, split)
        except (MlflowException, OSError, DataError):
            missing.append(row.trial)
    return found, missing


def write_cells(path: str | Path, standings: list[CellStanding]) -> Path:
    return write_rows(path, standings, CellStanding)


def write_manifest(models_dir: str, study: str, parent_run_id: str, top_k: int,
                   members: list[Member], seed_ensembles: tuple[SeedEnsemble, ...] = ()) -> Path:
    return write_model(Path(models_dir) / "manifest.json", Manifest(
        study=study, parent_run_id=parent_run_id, requested_top_k=top_k, members=tuple(members),
        seed_ensembles=seed_ensembles))
