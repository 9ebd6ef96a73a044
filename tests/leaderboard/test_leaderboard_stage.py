"""`trainlab leaderboard` on digits: every row on the identical test images, the ensemble's
numbers unchanged, the baselines tracked, the metrics DVC reads, the report's first section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from trainlab.cli import main
from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri
from trainlab.ensemble.summary_file import SEED_KEY
from trainlab.io import slug
from trainlab.leaderboard.results import BEST_SINGLE, ENSEMBLES, ONE_SEED, LeaderboardFile
from trainlab.probabilities import read_predictions
from trainlab.stagefile import read_model

pytestmark = pytest.mark.slow


def test_the_leaderboard_scores_every_model_on_the_same_test_images(ensembled, capsys):
    assert main(["leaderboard"]) == 0
    printed = capsys.readouterr().out
    board, problem = read_model("reports/leaderboard.json", LeaderboardFile)
    assert problem is None
    data = load_prepared("data/prepared")
    ensemble = json.loads(Path("reports/ensemble.json").read_text())

    # The ensemble stage's predictions are of the prepared test split, in its order.
    predictions = read_predictions("models/ensemble/test_predictions.npz", len(data.test))
    assert np.array_equal(predictions.labels, data.test.labels.numpy())
    rows = {row.name: row for row in board.rows}
    assert set(rows) == {BEST_SINGLE, *ENSEMBLES.values(), "efficientnet_lite0 linear_probe",
                         "efficientnet_lite0 finetune"}
    # The search trained both cells at the ensemble seeds 0 and 1 (stats.seeds): the best
    # recipe is its cell over those two trials, each ensemble row its two per-seed ensembles.
    seeded = ensemble["over_seeds"]
    assert [draw["seed"] for draw in seeded["draws"]] == [0, 1]
    assert rows[BEST_SINGLE].seeds == 2
    assert rows[BEST_SINGLE].test_acc == pytest.approx(seeded["best_recipe_acc"])
    for key, name in ENSEMBLES.items():
        assert rows[name].seeds == 2 and rows[name].kind == "ensemble"
        assert rows[name].test_acc == pytest.approx(seeded[key]["acc"])
        assert rows[name].test_acc == pytest.approx(np.mean(
            [predictions.correct(SEED_KEY.format(combination=key, seed=s)) for s in (0, 1)]))
    assert rows[ENSEMBLES["vote"]].ece is None  # classes only

    # Each baseline's saved correctness is its own predictions against the prepared labels.
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.get_experiment_by_name("tests").experiment_id
    baselines = client.search_runs([experiment], "tags.`trainlab.kind` = 'baseline'")
    assert len(baselines) == 8  # 2 modes x 2 fractions x 2 seeds (stats.seeds)
    assert sorted(r.data.tags["transfer.seed"] for r in baselines) == ["0"] * 4 + ["1"] * 4
    for run in baselines:
        assert run.data.tags["mlflow.parentRunId"] == board.mlflow_run_id
    for name in ("efficientnet_lite0 linear_probe", "efficientnet_lite0 finetune"):
        row = rows[name]
        assert row.kind == "baseline" and row.params > 3_000_000 and row.images_per_second > 0
        assert row.diff_points == pytest.approx(
            100 * (row.test_acc - rows[BEST_SINGLE].test_acc), abs=1e-9)
        # Its seeds are stats.seeds, and so are the best recipe's: the comparison may decide.
        assert row.seeds == board.seeds == 2
        assert row.standing != ONE_SEED

    # The curve: the recipe and both baselines at 129 and all 1,293 train images.
    assert {(p.model, p.images) for p in board.curve} == {
        (model, size) for model in ("best recipe", "efficientnet_lite0 linear_probe",
                                    "efficientnet_lite0 finetune") for size in (129, 1293)}
    recipe_full = next(p for p in board.curve if p.model == "best recipe" and p.images == 1293)
    assert recipe_full.test_acc == pytest.approx(rows[BEST_SINGLE].test_acc)
    assert {(p.model, p.images): p.seeds for p in board.curve} == {
        (model, size): 2 for model, size in {(p.model, p.images) for p in board.curve}}
    assert [c.sizes for c in board.crossovers] == [(129, 1293)] * 2
    assert not any("one seed" in c.verdict for c in board.crossovers)
    recipe_runs = client.search_runs([experiment], "tags.`trainlab.kind` = 'recipe_fraction'")
    assert sorted((r.data.tags["leaderboard.fraction"], r.data.tags["recipe.seed"])
                  for r in recipe_runs) == [("0.1", "0"), ("0.1", "1")]

    # The leaderboard's own run: the rows as metrics, the file as an artifact.
    run = client.get_run(board.mlflow_run_id)
    assert run.data.tags["trainlab.kind"] == "leaderboard"
    assert run.data.metrics[f"{slug(BEST_SINGLE)}/test_acc"] == pytest.approx(
        rows[BEST_SINGLE].test_acc)
    metrics = json.loads(Path("metrics/leaderboard.json").read_text())
    # base_vs is declared: the first backbone fine-tuned, mean over its seeds, minus the best
    # recipe; its interval beside it in leaderboard.json.
    declared = rows["efficientnet_lite0 finetune"]
    assert metrics == {"base_vs": pytest.approx(declared.diff_points, abs=1e-6)}
    assert board.headline is not None and board.headline.model == declared.name
    assert (board.headline.diff_low, board.headline.diff_high) == (declared.diff_low,
                                                                   declared.diff_high)
    assert "leaderboard (360 test images, intervals at 95%)" in printed

    # The report opens on it.
    assert main(["report"]) == 0
    markdown = Path("reports/report.md").read_text()
    assert markdown.index("## Leaderboard") < markdown.index("## Summary")
    assert "figures/leaderboard_pareto.png" in markdown
    assert Path("reports/figures/leaderboard_labelled.png").stat().st_size > 10_000
