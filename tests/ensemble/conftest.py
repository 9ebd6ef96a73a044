"""Ensemble fixtures: checkpoints that need no training and a manifest writer.

Untrained networks (random weights, seeded) are enough to test the plumbing in
milliseconds; the one end-to-end test that trains real members is marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from trainlab.config import load_config
from trainlab.data.prepared import load_prepared
from trainlab.models.module import RecipeModule
from trainlab.training.recipe import build_module

MANIFEST = "models/search/manifest.json"
OUT = "reports/ensemble.json"


def write_manifest(members: list[dict], parent_run_id: str = "search-parent") -> Path:
    """The search's manifest (relative checkpoint paths, ranks in the given order)."""
    rows = [
        {"rank": rank, "trial": rank * 10, "cell": "relu|none|none"} | member
        for rank, member in enumerate(members, start=1)
    ]
    path = Path(MANIFEST)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"study": "s", "parent_run_id": parent_run_id, "members": rows}))
    return path


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
