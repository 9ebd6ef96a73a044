"""Which trials the ensembles' seeds add: the top `ensemble.top_k` cells at `stats.seeds`
seeds, only those not done (search/ensemble_seeds.py; no training here)."""

from __future__ import annotations

from stagefiles import trial_row  # tests/stagefiles.py

from trainlab.config.params import Config
from trainlab.search.ensemble_seeds import ensemble_seeds, missing, top_cells


def test_top_cells_by_mean_val_and_the_missing_seeds():
    rows = [
        trial_row(1, "relu", "none", "none", 0, val_acc=0.90),
        trial_row(2, "relu", "none", "none", 1, val_acc=0.86),  # relu mean 0.88
        trial_row(3, "elu", "none", "none", 0, val_acc=0.89),
        trial_row(4, "tanh", "none", "none", 0, val_acc=0.70),
    ]
    assert top_cells(rows, 2) == ["elu|none|none", "relu|none|none"]
    cfg = Config()  # seed 0, stats.seeds 3
    assert ensemble_seeds(cfg) == [0, 1, 2]
    assert missing(cfg, rows, ["elu|none|none", "relu|none|none"]) == [
        ("elu|none|none", 1), ("elu|none|none", 2), ("relu|none|none", 2)]
