"""A searched and ensembled digits project, at test scale, for the leaderboard's tests."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import yaml

# The baselines at test scale: 32x32 inputs, 2 short epochs, 2 fractions.
LEADERBOARD_PARAMS = {
    "grid": {"activation": ["relu", "tanh"], "regularization": ["none"],
             "augmentation": ["none"]},
    "search": {"race": {"enabled": False}, "top_k": 2},
    "ensemble": {"top_k": 2, "greedy_pool": 2},
    "transfer": {"image_size": 32, "epochs": 2, "min_steps": 2, "batch_size": 64},
    "leaderboard": {"fractions": [0.1, 1.0], "inference_images": 64},
    "stats": {"resamples": 500, "seeds": 2},  # every baseline and curve point: 2 trainings
}


@pytest.fixture
def ensembled(prepared: Path) -> Path:
    """`trainlab search` and `trainlab ensemble` run on digits (2 cells, both kept)."""
    from trainlab.cli import main

    params = yaml.safe_load((prepared / "params.yaml").read_text()) | LEADERBOARD_PARAMS
    (prepared / "params.yaml").write_text(yaml.safe_dump(params))
    handler = signal.getsignal(signal.SIGTERM)  # cli.main installs its own: put it back
    assert main(["search"]) == 0
    assert main(["ensemble"]) == 0
    signal.signal(signal.SIGTERM, handler)
    return prepared
