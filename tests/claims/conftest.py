"""The claims at test scale: digits (8x8), two seeds, an epoch or two per training."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from trainlab.config import Config, load_config

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


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def search_trials(gap_of: dict[str, float], seeds=(0, 1)) -> list[dict]:
    """search_trials.csv rows (the search stage's columns) for 2 activations x the presets in
    `gap_of` (regularization presets; augmentation none) x seeds; `gap_of` sets each preset's
    train-test gap. Plus one pruned trial, which must be ignored."""
    rows = []
    for trial, (act, reg, seed) in enumerate(
            (a, r, s) for a in ("relu", "tanh") for r in gap_of for s in seeds):
        test = 0.85 + 0.01 * seed - (0.02 if act == "tanh" else 0.0)
        gap = gap_of[reg] + 0.001 * seed
        rows.append({"trial": trial, "cell": f"{act}|{reg}|none", "activation": act,
                     "regularization": reg, "augmentation": "none",
                     "preprocessing": "channel_standardize", "seed": seed, "state": "COMPLETE",
                     "val_acc": test + 0.01, "test_acc": test, "final_train_acc": test + gap,
                     "gap_acc": gap, "gap_loss": 0.1, "epochs_run": 4,
                     "best_epoch": 3 if seed else 4, "seconds": 10.0, "run_id": "",
                     "fail_reason": ""})
    rows.append(rows[0] | {"trial": len(rows), "state": "PRUNED", "gap_acc": 0.9, "seed": 7})
    return rows


def ensemble_json(path: Path, gain_points: float, members: list[float]) -> Path:
    """ensemble.json shaped like the ensemble stage's (trainlab.ensemble.summary)."""
    best = members[0]
    payload = {
        "members": [{"rank": i + 1, "run_id": f"r{i}", "val_acc": acc + 0.01, "test_acc": acc}
                    for i, acc in enumerate(members)],
        "top_k": {"requested": 5, "used": len(members)},
        "ensemble": {"acc": best + gain_points / 100, "gain_points": gain_points},
        "best_single": {"by_val": {"rank": 1, "acc": best}},
        "vote": {"acc": best, "gain_points": 0.1}, "greedy": {"acc": best, "gain_points": 0.2},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


def transfer_csv(path: Path, gains: dict[int, float]) -> Path:
    """transfer.csv (the transfer stage's columns): scratch at 0.6 and a source linear probe
    and fine-tune `gains[size]` points above it at each size."""
    rows = []
    for size, gain in gains.items():
        for mode, acc in (("scratch", 0.6), ("linear_probe", 0.6 + gain / 100),
                          ("finetune", 0.6 + gain / 100 + 0.01)):
            rows.append({"backbone": "source", "mode": mode, "size": size, "test_acc": acc,
                         "final_train_acc": 0.99, "gap_acc": 0.99 - acc, "val_acc": acc,
                         "epochs": 5, "seconds": 3.0, "run_id": "x", "requested_size": size})
    return write_csv(path, rows)


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

    return SimpleNamespace(write_csv=write_csv, search_trials=search_trials,
                           ensemble_json=ensemble_json, transfer_csv=transfer_csv,
                           claims=TINY_CLAIMS)
