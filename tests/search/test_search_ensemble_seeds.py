"""Which trials the ensembles' seeds add: the top `ensemble.top_k` cells at `stats.seeds`
seeds, only those not done (search/ensemble_seeds.py; no training here)."""

from __future__ import annotations

import pytest
import yaml
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


@pytest.mark.slow
def test_a_search_trains_the_top_cells_missing_seeds_and_lists_them(search_project, capsys):
    # 2x2 grid, one seed a cell, racing off: the top 2 cells (on val) lack seed 1.
    project = search_project.configure()
    project.params["stats"] = {"seeds": 2}
    project.params["ensemble"] = {"top_k": 2}
    (project.root / "params.yaml").write_text(yaml.safe_dump(project.params, sort_keys=False))
    assert project.run() == 0
    assert "search: ensemble seeds: the top 2 cell(s)" in capsys.readouterr().out
    done = {(t.user_attrs["cell"], t.user_attrs["seed"]) for t in project.trials()
            if t.state.name == "COMPLETE"}
    manifest = project.manifest()
    seeded = manifest["seed_ensembles"]
    assert [e["seed"] for e in seeded] == [0, 1]
    cells = [m["cell"] for m in seeded[0]["members"]]
    assert [m["cell"] for m in seeded[1]["members"]] == cells and len(set(cells)) == 2
    assert done == {(c, 0) for c, _ in done} | {(c, 1) for c in cells}  # 4 + 2 trials
    assert project.summary()["n_trials_expected"] == 6
    for entry in seeded:
        for member in entry["members"]:
            assert member["seed"] == entry["seed"]
            assert (project.root / member["checkpoint"]).is_file()
