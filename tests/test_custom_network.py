"""A user's own network through the whole grid (issue 26): the factory lives in the project,
outside src/, and prepare -> search -> ensemble -> leaderboard -> report run on it on the first
try; the registered champions predict what the stages reported."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml

from trainlab.cli import main
from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "resnet.py"
# 2 activations x 2 regularization presets, a small residual network, the leaderboard's
# baselines at test scale (tests/leaderboard/conftest.py).
PARAMS = {
    "model": {"arch": "nets/resnet.py:build", "arch_file": "nets", "channels": [16, 32]},
    "presets": {"regularization": {"none": {}, "dropout": {"dropout": 0.3}}},
    "grid": {"activation": ["relu", "tanh"], "regularization": ["none", "dropout"],
             "augmentation": ["none"]},
    "search": {"race": {"enabled": False}, "top_k": 4, "study_name": "custom"},
    "ensemble": {"top_k": 3, "greedy_pool": 4},
    "transfer": {"image_size": 32, "epochs": 2, "min_steps": 2, "batch_size": 64},
    "leaderboard": {"fractions": [0.5, 1.0], "inference_images": 64},
    "stats": {"resamples": 500, "seeds": 2},  # each baseline: 2 trainings (tests/leaderboard)
}


@pytest.mark.slow  # five commands, four trainings of a small residual network, one baseline
def test_your_own_network_through_the_whole_grid(project):
    (project / "nets").mkdir()
    shutil.copy(EXAMPLE, project / "nets" / "resnet.py")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params = params | PARAMS | {"tracking": params["tracking"] | {"register_models": True}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    handler = signal.getsignal(signal.SIGTERM)  # cli.main installs its own: put it back
    for command in ("prepare", "search", "ensemble", "leaderboard", "report"):
        assert main([command]) == 0, command
    signal.signal(signal.SIGTERM, handler)

    search = json.loads((project / "reports" / "search.json").read_text())
    # 4 cells, then seed 1 of the top ensemble.top_k = 3 cells (the per-seed ensembles)
    assert search["trials"]["complete"] == 4 + 3 and search["n_cells"] == 4
    html = (project / "reports" / "index.html").read_text()
    assert all(cell in html for cell in ("relu|none|none", "tanh|dropout|none"))
    board = json.loads((project / "reports" / "leaderboard.json").read_text())
    assert board["rows"]

    data = load_prepared(project / "data" / "prepared")
    images, labels = data.test.images.float().div(255.0).numpy(), data.test.labels.numpy()
    mlflow.set_tracking_uri(absolute_uri("sqlite:///mlflow.db"))
    recipe = mlflow.pyfunc.load_model("models:/tests-recipe@champion").predict(images)
    assert (recipe.argmax(1) == labels).mean() == pytest.approx(search["best_test_acc"],
                                                                abs=1e-9)
    ensemble = json.loads((project / "reports" / "ensemble.json").read_text())
    served = mlflow.pyfunc.load_model("models:/tests-ensemble@champion").predict(images)
    assert (served.argmax(1) == labels).mean() == pytest.approx(ensemble["ensemble"]["acc"],
                                                                abs=1e-9)
    assert np.isfinite(served).all()
