"""The report's numbers against the fabricated MLflow runs, computed by hand here."""

from __future__ import annotations

import statistics
from collections import defaultdict

import optuna
import pandas as pd
import pytest
import stagefiles  # tests/stagefiles.py
from mlflow.tracking import MlflowClient

from trainlab.report import baselines, sources, tables, trials
from trainlab.report.inputs import gather
from trainlab.report.study import load_study
from trainlab.report.summary import metrics_payload, state_counts
from trainlab.search.results import BEST_SEED, TrialRow
from trainlab.stagefile import read_rows


def _by_hand_from_mlflow(uri: str) -> dict[str, dict[str, list[float]]]:
    """Metric lists per cell of the current search's finished children, read with MlflowClient."""
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("grid")
    parent = client.search_runs([exp.experiment_id],
                                "tags.`trainlab.study` = 'grid-study'")[0].info.run_id
    children = client.search_runs(
        [exp.experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent}' and tags.`trainlab.outcome` = 'finished'")
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in children:
        m = run.data.metrics
        cell = cells[run.data.tags["recipe.cell"]]
        for key, name in [("val/acc_best", "val"), ("test/acc", "test"),
                          ("final/train_acc", "train"), ("gap/acc", "gap"),
                          ("epochs_run", "epochs")]:
            cell[name].append(m[key])
    return cells


def test_recipe_table_equals_the_mlflow_runs(found, fake_project):
    by_hand = _by_hand_from_mlflow(fake_project.uri)
    table = found.table.set_index("cell")
    assert sorted(table.index) == sorted(by_hand)  # 12 cells, the old study's run left out
    assert len(table) == 12
    for cell, values in by_hand.items():
        row = table.loc[cell]
        assert row["seeds"] == len(values["test"]) == 2
        for name, column in [("val", "val_acc"), ("test", "test_acc"),
                             ("train", "final_train_acc"), ("gap", "gap_acc")]:
            assert row[f"{column}_mean"] == pytest.approx(statistics.mean(values[name]))
            assert row[f"{column}_std"] == pytest.approx(statistics.stdev(values[name]))
        assert row["epochs_run_mean"] == pytest.approx(statistics.mean(values["epochs"]))
    # The old study's child (test 0.5) did not leak into relu|none|none.
    assert table.loc["relu|none|none", "test_acc_mean"] == pytest.approx((0.882 + 0.877) / 2)
    # State counts: the failed trial and the pruned trial land in their cells.
    assert table.loc["relu|l2|none", ["finished", "pruned", "failed"]].tolist() == [2, 0, 1]
    assert table.loc["tanh|l2|flip_crop", ["finished", "pruned", "failed"]].tolist() == [2, 1, 0]
    # Sorted by validation accuracy, best first.
    assert table["val_acc_mean"].is_monotonic_decreasing


def test_trials_from_the_csv_give_the_same_table(found, fake_project):
    rows, problem = read_rows(fake_project.inputs / "search_trials.csv", TrialRow)
    assert problem is None
    from_csv = tables.recipe_table(trials.trials_from_csv(rows)).set_index("cell")
    from_runs = found.table.set_index("cell").loc[from_csv.index]
    columns = ["seeds", "val_acc_mean", "test_acc_mean", "test_acc_std", "gap_acc_mean",
               "finished", "pruned", "failed"]
    pd.testing.assert_frame_equal(from_csv[columns], from_runs[columns], check_dtype=False)


def test_trial_rows_keep_state_name_and_failure(found):
    rows = found.trials.set_index("trial")
    assert len(rows) == 26
    failed, pruned = rows.loc[24], rows.loc[25]
    assert (failed["state"], failed["run_name"]) == ("failed", "<script>alert(1)</script>")
    assert failed["fail_reason"] == 'RuntimeError: "><img src=x onerror=alert(1)>'
    assert pruned["state"] == "pruned"
    assert pruned["test_acc"] == pytest.approx(0.73)  # scored where the pruner stopped it
    assert pruned["val_acc"] == pytest.approx(0.74)  # its last validation accuracy
    assert rows.loc[0, "best_epoch"] == 3  # logged 2 (from 0): the report counts from 1
    assert state_counts(found.trials) == {"total": 26, "finished": 24, "pruned": 1, "failed": 1,
                                          "killed": 0, "running": 0}


def test_a_cell_only_pruned_runs_reached_shows_their_scores_apart(found):
    # Without its two finished seeds, tanh|l2|flip_crop has only the run pruned at epoch 2.
    only_pruned = found.trials[~((found.trials["cell"] == "tanh|l2|flip_crop")
                                 & (found.trials["state"] == "finished"))]
    table = tables.recipe_table(only_pruned)
    row = table.set_index("cell").loc["tanh|l2|flip_crop"]
    assert row["seeds"] == 0 and pd.isna(row["test_acc_mean"])  # no finished mean
    assert row["test_acc_pruned"] == pytest.approx(0.73)
    assert row["gap_acc_pruned"] == pytest.approx(0.75 - 0.73)
    assert row["epochs_run_pruned"] == 2
    assert pd.isna(tables.heatmap_grids(table, "test_acc_mean")["flip_crop"].loc["tanh", "l2"])
    grid = tables.heatmap_grids(table, "test_acc_pruned")["flip_crop"]
    assert grid.loc["tanh", "l2"] == pytest.approx(0.73)
    assert grid.drop(index="tanh").isna().all().all()  # no other cell was pruned
    # Nothing pruned: the pruned columns are absent and their grids all NaN.
    plain = tables.recipe_table(found.trials[found.trials["state"] != "pruned"])
    assert "test_acc_pruned" not in plain
    assert tables.heatmap_grids(plain, "test_acc_pruned")["none"].isna().all().all()


def test_heatmap_grids_hold_the_cell_means(found, fake_project):
    grids = tables.heatmap_grids(found.table, "test_acc_mean")
    assert list(grids) == ["none", "flip_crop"]
    grid = grids["flip_crop"]
    assert list(grid.index) == ["sigmoid", "tanh", "relu"]  # the config's activation order
    assert list(grid.columns) == ["none", "l2"]
    for run in fake_project.finished:
        if run.augmentation == "flip_crop":
            seeds = [r.test_acc for r in fake_project.finished if r.cell == run.cell]
            assert grid.loc[run.activation, run.regularization] == pytest.approx(
                statistics.mean(seeds))
    gaps = tables.heatmap_grids(found.table, "gap_acc_mean")["none"]
    relu = [r.train_acc - r.test_acc for r in fake_project.finished if r.cell == "relu|none|none"]
    assert gaps.loc["relu", "none"] == pytest.approx(statistics.mean(relu))


def test_best_recipe_and_metrics(found, fake_project):
    best, worst = tables.best_and_worst(found.table)
    assert best["cell"] == "relu|l2|flip_crop" and worst["cell"] == "sigmoid|none|none"
    seeds = [r for r in fake_project.finished if r.cell == "relu|l2|flip_crop"]
    metrics = metrics_payload(found)
    assert metrics.best.test_acc == pytest.approx(
        statistics.mean(r.test_acc for r in seeds), abs=1e-6)
    assert metrics.best.gap_acc == pytest.approx(
        statistics.mean(r.train_acc - r.test_acc for r in seeds), abs=1e-6)
    assert metrics.trials["finished"] == 24 and metrics.trials["failed"] == 1
    assert metrics.ensemble.gain_points == pytest.approx(100 * (0.9071 - 0.897), abs=1e-6)
    assert metrics.transfer["efficientnet_lite0"]["linear_probe"]["gain_points_100"] == \
        pytest.approx(17.0)
    assert metrics.transfer["source"]["finetune"]["gain_points_4500"] == 1.0
    assert metrics.wall_seconds == 1234.5  # from search.json


def test_augmentation_effect_is_paired_against_none(found):
    effect = tables.augmentation_effect(found.table).set_index("augmentation")
    # The fabricated flip_crop lowers train accuracy by 2.0 and raises test by 0.9 points.
    assert effect.loc["flip_crop", "gap_vs_none"] == pytest.approx(-0.029)
    assert effect.loc["flip_crop", "test_vs_none"] == pytest.approx(0.009)
    assert effect.loc["none", "gap_vs_none"] == pytest.approx(0.0)
    assert effect.loc["flip_crop", "cells"] == 6


def test_activation_health_uses_the_last_logged_values(found):
    health = found.health.set_index(["activation", "quantity", "layer"])["value"]
    assert health.loc[("relu", "dead", 2)] == pytest.approx(0.12)  # not the earlier 0.99
    assert health.loc[("sigmoid", "saturated", 1)] == pytest.approx(0.2)
    summary = tables.health_summary(found.health).set_index("activation")
    assert summary.loc["sigmoid", "grad_ratio"] == pytest.approx(0.01 / 0.9)
    assert summary.loc["relu", "dead"] == pytest.approx((0.05 + 0.12) / 2)


def test_curves_come_from_the_artifact_or_the_history(found, fake_project):
    picks = [pick for pick, _ in found.curves]
    assert [p.role for p in picks] == ["best", "other", "other", "worst"]
    assert picks[0].label == "relu|l2|flip_crop" and picks[0].seed == "0"
    for pick, curves in found.curves:
        spec = next(r for r in fake_project.finished if fake_project.ids[r.trial] == pick.run_id)
        expected = spec.curves()
        assert curves["epoch"].tolist() == list(range(1, spec.epochs_run + 1))
        assert curves["val_acc"].tolist() == pytest.approx([r["val/acc"] for r in expected])
        assert curves["train_acc"].tolist() == pytest.approx([r["train/acc"] for r in expected])
        assert curves.loc[curves["best"] == 1, "epoch"].tolist() == [spec.best_epoch + 1]
    # The worst recipe's run has no curves.csv: its curves were read from the metric history.
    worst = picks[-1]
    client = MlflowClient(tracking_uri=fake_project.uri)
    assert [a.path for a in client.list_artifacts(worst.run_id)] == []


def test_study_importances_and_history(found):
    study = found.study
    assert study.problem is None and study.maximize
    assert set(study.importances) == {"activation", "regularization", "augmentation", "seed"}
    assert sum(study.importances.values()) == pytest.approx(1.0)
    assert max(study.importances, key=study.importances.get) == "activation"
    assert study.trials["state"].value_counts().to_dict() == {"COMPLETE": 24, "PRUNED": 1,
                                                               "FAIL": 1}


def test_study_with_one_complete_trial_says_why_no_importances(tmp_path):
    storage = f"sqlite:///{tmp_path / 'one.db'}"
    study = optuna.create_study(study_name="one", storage=storage, direction="maximize")
    study.add_trial(optuna.trial.create_trial(
        params={"a": 1}, distributions={"a": optuna.distributions.IntDistribution(0, 3)},
        value=0.5))
    view = load_study(storage, "one")
    assert view.problem is None and view.importances is None
    assert "at least 2 complete trials" in view.importance_problem


def test_missing_study_database_is_not_created(tmp_path):
    view = load_study(f"sqlite:///{tmp_path / 'none.db'}", "grid")
    assert "does not exist" in view.problem
    assert not (tmp_path / "none.db").exists()


def test_ensemble_numbers_are_the_ensemble_stage_fields(found):
    summary = found.ensemble
    assert found.stages["ensemble"].source.endswith("ensemble.json")
    # best_single.by_test (another member) is in the file but never the baseline: by_val is.
    assert baselines.ensemble_scores(summary) == pytest.approx({
        BEST_SEED: 0.897, "mean-probability ensemble": 0.9071,
        "majority vote": 0.898, "greedy selection": 0.899})
    assert (summary.best_single.by_val.ece, summary.ensemble.ece) == (0.043, 0.021)
    members = baselines.ensemble_members(summary)
    assert members["name"].tolist()[0] == "#1 relu|l2|flip_crop"
    assert members["test_acc"].tolist()[0] == 0.897


def test_transfer_gains_against_scratch(found):
    gains = baselines.gains_frame(found.transfer).set_index(["backbone", "mode", "size"])
    gains = gains["gain_points"]
    assert gains[("efficientnet_lite0", "finetune", 1000)] == 8.0
    assert gains[("source", "linear_probe", 4500)] == -4.0
    assert len(gains) == 12  # 2 backbones x 2 modes x 3 sizes
    assert list(gains.index[:3]) == [("efficientnet_lite0", "finetune", s) for s in
                                     (100, 1000, 4500)]  # by backbone, mode, size


def test_transfer_cells_from_mlflow_runs_equal_the_csv_rows(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    exp = client.create_experiment("t", artifact_location=(tmp_path / "a").as_uri())
    expected = stagefiles.cell("source", "finetune", 100, 0.7123, best_epoch=3, seconds=4.56,
                               requested_size="100")
    run = client.create_run(exp, tags={
        "trainlab.kind": "transfer", "transfer.backbone": "source", "transfer.mode": "finetune",
        "transfer.size": "100", "transfer.requested_size": "100"})
    for key, value in {"test/acc": 0.71234, "final/train_acc": 0.99, "gap/acc": 0.99 - 0.7123,
                       "val/acc_best": 0.7123, "epochs_run": 5, "best_epoch": 3,
                       "time/seconds": 4.5612}.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    client.create_run(exp, tags={"trainlab.kind": "transfer"})  # still running: left out
    cells = baselines.transfer_from_runs(sources.load_experiment(uri, "t"))
    assert cells == [expected.model_copy(update={"run_id": run.info.run_id})]


def test_search_json_names_the_parent_run(fake_project):
    runs = sources.load_experiment(fake_project.uri, "grid")
    assert trials.search_runs(runs, fake_project.old_parent_run_id)["run_name"].tolist() == [
        "old-trial"]
    assert len(trials.search_runs(runs, fake_project.parent_run_id)) == 26
    assert len(trials.search_runs(runs)) == 26  # without a name: the latest search


def test_without_its_file_the_ensemble_comes_from_its_mlflow_run(fake_project, found, tmp_path):
    alone = gather(fake_project.uri, "grid", tmp_path, curves=None)  # no stage file here
    assert alone.ensemble == found.ensemble  # the run's copy of the same file
    source = alone.stages["ensemble"].source
    assert source.startswith("MLflow run ") and source.endswith(
        f"({tmp_path / 'ensemble.json'} is missing)")
