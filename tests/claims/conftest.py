"""The claims at test scale: digits (8x8), two seeds, an epoch or two per training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import stagefiles  # tests/stagefiles.py

from trainlab.config.params import Config, load_config
from trainlab.correctness import save_correct
from trainlab.search.results import TrialRow
from trainlab.stagefile import write_model, write_rows
from trainlab.transfer.results import CellResult

TINY_CLAIMS = {
    "claims.seeds": 2,
    "claims.train_images": 800,
    "claims.eval_images": 300,
    "claims.batch_size": 64,
    "claims.lr": 0.05,
    "claims.hidden": [32],
    "claims.gradient.depth": 8,
    "claims.gradient.width": 32,
    "claims.gradient.batch": 128,
    "claims.gradient.steps": 3,
    "claims.convergence.epochs": 2,
    "claims.convergence.evals_per_epoch": 2,
    "claims.convergence.train_sample": 300,
    "claims.dead_units.lrs": [0.001, 0.1],
    "claims.dead_units.epochs": 1,
    "claims.dead_units.probe_images": 300,
    "claims.preprocessing.epochs": 2,
    "claims.early_stopping.train_images": 200,
    "claims.early_stopping.epochs": 4,
}


@pytest.fixture
def tiny_cfg(prepared: Path) -> Config:
    """The test project's config (digits prepared) with the claims at test scale."""
    return load_config("params.yaml").replace(**TINY_CLAIMS)


def search_trials(path: Path, gap_of: dict[str, float], seeds=(0, 1)) -> Path:
    """search_trials.csv for 2 activations x the presets in `gap_of` (regularization
    presets; augmentation none) x seeds; `gap_of` sets each preset's train-test gap. Plus one
    pruned trial, which must be ignored."""
    rows = []
    for trial, (act, reg, seed) in enumerate(
            (a, r, s) for a in ("relu", "tanh") for r in gap_of for s in seeds):
        test = 0.85 + 0.01 * seed - (0.02 if act == "tanh" else 0.0)
        gap = gap_of[reg] + 0.001 * seed
        rows.append(stagefiles.trial_row(
            trial, act, reg, "none", seed, val_acc=test + 0.01, test_acc=test,
            final_train_acc=test + gap, gap_acc=gap, gap_loss=0.1, epochs_run=4,
            best_epoch=3 if seed else 4, seconds=10.0))
    rows.append(rows[0].model_copy(update={"trial": len(rows), "state": "PRUNED",
                                           "gap_acc": 0.9, "seed": 7}))
    return write_rows(path, rows, TrialRow)


def ensemble_json(path: Path, gain_points: float, members: list[float], seeds: int = 1) -> Path:
    """ensemble.json whose mean-probability ensemble gains `gain_points` over the best member
    by val; `members` are the test accuracies of the averaged members; its gain intervals
    cover `seeds` seeds a side."""
    return write_model(path, stagefiles.ensemble_summary(
        [{"run_id": f"r{i}", "val_acc": acc + 0.01, "test_acc": acc}
         for i, acc in enumerate(members)], gain_points, seeds=seeds))


def transfer_csv(path: Path, gains: dict[int, float], images: int = 2000) -> Path:
    """transfer.csv: scratch at 0.6 and a source linear probe and fine-tune `gains[size]`
    points above it at each size, each cell with its per-image results (right on the first
    accuracy x `images` target test images: the hard images are hard for every cell)."""
    cells = []
    for size, gain in gains.items():
        for mode, acc in (("scratch", 0.6), ("linear_probe", 0.6 + gain / 100),
                          ("finetune", 0.6 + gain / 100 + 0.01)):
            right = np.zeros(images, dtype=bool)
            right[: round(acc * images)] = True
            correct = save_correct(path.parent / f"correct_{mode}_{size}.npy", right)
            cells.append(stagefiles.cell("source", mode, size, right.mean(),
                                         test_correct=str(correct)))
    return write_rows(path, cells, CellResult)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the claims stage runs (claims.threads): tiny MLPs run fastest."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def fake():
    """The fabricators of the other stages' files, and the test-scale claims overrides."""
    from types import SimpleNamespace

    return SimpleNamespace(search_trials=search_trials, ensemble_json=ensemble_json,
                           transfer_csv=transfer_csv, claims=TINY_CLAIMS)
