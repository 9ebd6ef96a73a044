"""Ensemble fixtures: checkpoints that need no training and a manifest writer.

Untrained networks (random weights, seeded) are enough to test the plumbing in
milliseconds; the one end-to-end test that trains real members is marked slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import stagefiles  # tests/stagefiles.py
import torch

from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.models.module import RecipeModule
from trainlab.stagefile import write_model
from trainlab.training.recipe import build_module

MANIFEST = "models/search/manifest.json"
OUT = "reports/ensemble.json"


def write_manifest(members: list[dict], parent_run_id: str = "search-parent") -> Path:
    """The search's manifest (relative checkpoint paths, ranks in the given order); each
    member a dict of run_id, checkpoint, val_acc and any other Member field."""
    rows = [stagefiles.member(rank, **member) for rank, member in enumerate(members, start=1)]
    return write_model(MANIFEST, stagefiles.manifest(rows, "s", parent_run_id))


@pytest.fixture
def untrained(prepared: Path):
    """Factory: save an untrained trainlab checkpoint under models/search; returns its path."""
    cfg = load_config()
    data = load_prepared(cfg.data.prepared_dir)

    def save(name: str, seed: int = 0, **hparams) -> str:
        torch.manual_seed(seed)
        module = build_module(cfg, data)
        if hparams:
            module = RecipeModule(**(dict(module.hparams) | hparams))
        path = Path("models/search") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path
        )
        return str(path)

    return save


@pytest.fixture
def manifest_writer():
    """Function: write_manifest(members, parent_run_id='search-parent') -> its path."""
    return write_manifest
