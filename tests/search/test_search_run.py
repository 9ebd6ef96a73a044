"""The search end to end on digits, in this process: trials, MLflow runs, outputs, resume."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
import torch

from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.models.checkpoint import load_module
from trainlab.search.grid import base_config, search_hash
from trainlab.search.study import (
    PARAMS_ATTR,
    PARENT_ATTR,
    READY_ATTR,
    create_or_load,
    make_pruner,
    open_storage,
)

pytestmark = pytest.mark.slow

NAN_AND_PRUNE_GRID = {
    "activation": ["relu"],
    "regularization": {
        "huge": {"kind": "l2", "strength": 1.0e38},  # penalty overflows: NaN/inf loss, step 0
        "none": {},
        "crush": {"kind": "l1", "strength": 1.0},  # weights pinned to 0: chance accuracy
    },
    "augmentation": {"none": {}},
}


def test_grid_2x2_trains_each_cell_once_under_one_parent(search_project, capsys):
    project = search_project.configure(top_k=4)
    # more than the 4 trials: keeps 4
    assert project.run("--set", "search.top_k=5", "--set", "tracking.register_models=true") == 0
    printed = capsys.readouterr()
    assert "search.top_k = 5 but only 4 trial(s) completed; keeping 4" in printed.err
    # A line per trial, with the count and the time left.
    counts = [line.split("]")[0] for line in printed.out.splitlines() if "search: [" in line]
    assert [c.split(",")[0] for c in counts] == ["search: [1/4", "search: [2/4", "search: [3/4",
                                                  "search: [4/4"]
    assert counts[0].endswith("s left") and counts[-1].endswith("done")

    trials = project.trials()
    cells = sorted(t.user_attrs["cell"] for t in trials)
    assert cells == ["relu|l2|none", "relu|none|none", "tanh|l2|none", "tanh|none|none"]
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert {t.params["seed"] for t in trials} == {0}

    runs = project.runs()
    parents = [r for r in runs.values() if r.data.tags.get("trainlab.kind") == "search"]
    assert len(parents) == 1 and len(runs) == 5
    parent = parents[0]
    config_id = project.summary()["config_id"]
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == f"digits-grid@{config_id}"
    assert parent.data.tags["trainlab.config_id"] == config_id
    assert parent.data.tags["trainlab.study"] == "digits-grid"
    children = {r.info.run_id: r for r in runs.values() if r is not parent}
    for trial in trials:
        child = children[trial.user_attrs["mlflow_run_id"]]
        tags = child.data.tags
        assert tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED" and tags["trainlab.outcome"] == "finished"
        assert tags["optuna.state"] == "COMPLETE"
        assert tags["optuna.trial_number"] == str(trial.number)
        assert tags["recipe.cell"] == trial.user_attrs["cell"]
        assert child.info.run_name == f"{trial.user_attrs['cell']}#s0"
        assert (tags["recipe.activation"], tags["recipe.regularization"]) == (
            trial.params["activation"], trial.params["regularization"])
        assert child.data.params["regularization.kind"] == trial.params["regularization"]
        # Optuna's objective value is the run's best val accuracy.
        assert trial.value == pytest.approx(child.data.metrics["val/acc_best"])

    # The table and the summary hold the MLflow numbers.
    table = {int(row["trial"]): row for row in project.table()}
    for trial in trials:
        metrics = children[trial.user_attrs["mlflow_run_id"]].data.metrics
        row = table[trial.number]
        assert row["state"] == "COMPLETE" and row["run_id"] == trial.user_attrs["mlflow_run_id"]
        for column, metric in (("val_acc", "val/acc_best"), ("test_acc", "test/acc"),
                               ("final_train_acc", "final/train_acc"), ("gap_acc", "gap/acc"),
                               ("gap_loss", "gap/loss"), ("epochs_run", "epochs_run")):
            assert float(row[column]) == pytest.approx(metrics[metric]), column
        assert float(row["gap_acc"]) == pytest.approx(
            float(row["final_train_acc"]) - float(row["test_acc"]))
    best = max(trials, key=lambda t: (t.value, -t.number))
    summary = project.summary()
    assert summary["best"]["cell"] == best.user_attrs["cell"]
    assert summary["best_val_acc"] == pytest.approx(best.value)
    assert summary["best_test_acc"] == pytest.approx(float(table[best.number]["test_acc"]))
    assert summary["trials"] | {} == {"complete": 4, "pruned": 0, "fail": 0, "interrupted": 0,
                                      "unfinished": 0, "total": 4}
    assert summary["n_cells"] == 4 and summary["wall_seconds"] > 0
    metrics = project.client().get_run(parent.info.run_id).data.metrics
    assert metrics["trials/complete"] == 4 and metrics["best/val_acc"] == pytest.approx(best.value)
    assert project.client().get_run(parent.info.run_id).data.tags["best.cell"] == \
        best.user_attrs["cell"]

    # Top-k: all 4 trials, ranked by val accuracy, loadable checkpoints.
    manifest = project.manifest()
    assert manifest["parent_run_id"] == parent.info.run_id and manifest["study"] == "digits-grid"
    members = manifest["members"]
    assert [m["rank"] for m in members] == [1, 2, 3, 4]
    assert [m["val_acc"] for m in members] == sorted((t.value for t in trials), reverse=True)
    assert members[0]["checkpoint"] == f"models/search/rank1_trial{members[0]['trial']}.ckpt"
    assert load_module(project.root / members[0]["checkpoint"]).net is not None

    # The best recipe, registered from the parent run: its alias loads the rank-1 checkpoint.
    client = project.client()
    [version] = client.search_model_versions("name = 'tests-recipe'")
    assert version.run_id == parent.info.run_id
    assert client.get_model_version_by_alias("tests-recipe", "champion").version == \
        version.version
    data = load_prepared(project.root / "data" / "prepared")
    images = data.test.images.float() / 255.0
    mlflow.set_tracking_uri(client.tracking_uri)
    served = mlflow.pyfunc.load_model("models:/tests-recipe@champion").predict(images.numpy())
    with torch.no_grad():
        own = torch.softmax(load_module(project.root / members[0]["checkpoint"])(images), 1)
    assert np.allclose(served, own.numpy(), atol=1e-6)

    # Running again resumes: nothing is retrained, the same parent run is reused.
    assert project.run() == 0
    assert [(t.number, t.user_attrs["mlflow_run_id"]) for t in project.trials()] == [
        (t.number, t.user_attrs["mlflow_run_id"]) for t in trials]
    assert len(project.runs()) == 5
    assert project.client().get_run(parent.info.run_id).info.status == "FINISHED"
    # The parent and every trial name the prepared data as their input, the parent once
    # after the resume; the study names its value for optuna-dashboard.
    fingerprint = load_prepared(project.root / "data" / "prepared").fingerprint
    for run in project.runs().values():
        [used] = run.inputs.dataset_inputs
        assert (used.dataset.name, used.dataset.digest) == ("digits", fingerprint)
        assert run.data.tags["mlflow.source.type"] == "LOCAL"
    assert project.study().metric_names == ["val/acc_best"]

    # New params for every trial (2 epochs -> 3): every cell is trained again.
    assert project.run("--set", "train.epochs=3") == 0
    again = project.trials()
    assert len(again) == 8 and all(t.state.name == "COMPLETE" for t in again)
    assert {t.user_attrs["epochs_run"] for t in again[4:]} == {3}
    assert [int(r["trial"]) for r in project.table()] == [4, 5, 6, 7]  # the current params'


def test_diverged_trial_fails_pruned_trial_is_pruned_and_the_study_goes_on(search_project,
                                                                          capsys):
    project = search_project.configure(
        NAN_AND_PRUNE_GRID, pruner="median", pruner_startup_trials=1, pruner_warmup_epochs=0,
        order="grid")
    assert project.run("--set", "train.epochs=3") == 0
    # Fewer COMPLETE trials than search.top_k: all are kept, and the search says so.
    assert "search.top_k = 2 but only 1 trial(s) completed; keeping 1" in capsys.readouterr().err
    diverged, complete, pruned = project.trials()
    runs = project.runs()

    assert diverged.state.name == "FAIL" and diverged.user_attrs["outcome"] == "diverged"
    assert "diverged" in diverged.user_attrs["fail_reason"]
    run = runs[diverged.user_attrs["mlflow_run_id"]]
    assert run.info.status == "FAILED" and run.data.tags["trainlab.outcome"] == "failed"
    assert "diverged" in run.data.tags["trainlab.failure"]
    assert run.data.tags["optuna.state"] == "FAIL"

    assert complete.state.name == "COMPLETE" and complete.value > 0.8  # after the NaN trial

    # Behind the median of the finished trial at epoch 0 (chance vs ~0.9): pruned there.
    assert pruned.state.name == "PRUNED" and pruned.user_attrs["cell"] == "relu|crush|none"
    assert pruned.intermediate_values[0] < 0.3 < complete.intermediate_values[0]
    assert len(pruned.intermediate_values) == 1
    run = runs[pruned.user_attrs["mlflow_run_id"]]
    assert run.info.status == "FINISHED" and run.data.tags["trainlab.outcome"] == "pruned"
    assert run.data.tags["optuna.state"] == "PRUNED"
    assert not (project.root / "models/search/trials" / run.info.run_id).exists()

    rows = {row["cell"]: row for row in project.table()}
    assert rows["relu|huge|none"]["state"] == "FAIL" and "diverged" in rows[
        "relu|huge|none"]["fail_reason"]
    assert rows["relu|crush|none"]["state"] == "PRUNED"
    assert float(rows["relu|crush|none"]["val_acc"]) == pytest.approx(
        pruned.intermediate_values[0])
    # Stopped after its epoch, it was still scored: its test accuracy and gap are recorded.
    assert rows["relu|crush|none"]["epochs_run"] == "1"
    assert 0.0 <= float(rows["relu|crush|none"]["test_acc"]) < 0.3
    assert float(pruned.user_attrs["gap_acc"]) == pytest.approx(
        run.data.metrics["gap/acc"])
    assert run.data.metrics["test/acc"] == pytest.approx(pruned.user_attrs["test_acc"])
    assert project.summary()["trials"]["fail"] == 1
    assert [m["cell"] for m in project.manifest()["members"]] == ["relu|none|none"]

    # A diverged cell is done: a rerun trains nothing.
    assert project.run("--set", "train.epochs=3") == 0
    assert len(project.trials()) == 3

    # Pruning switched off: the pruned cell trains its whole budget, nothing else runs again.
    assert project.run("--set", "train.epochs=3", "--set", "search.pruner=none") == 0
    *_, again = project.trials()
    assert len(project.trials()) == 4 and again.user_attrs["cell"] == "relu|crush|none"
    assert again.state.name == "COMPLETE" and again.user_attrs["epochs_run"] == 3


def test_tpe_samples_lr_in_its_range_for_n_trials(search_project):
    project = search_project.configure(
        sampler="tpe", n_trials=3, lr={"low": 1e-3, "high": 3e-2, "log": True},
        strength={"low": 1e-6, "high": 1e-3})
    assert project.run() == 0
    trials = project.trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    for trial in trials:
        assert 1e-3 <= trial.params["lr"] <= 3e-2
        assert ("strength" in trial.params) == (trial.params["regularization"] == "l2")
        run = project.runs()[trial.user_attrs["mlflow_run_id"]]
        assert float(run.data.params["train.lr"]) == pytest.approx(trial.params["lr"])
        assert run.info.run_name == f"{trial.user_attrs['cell']}#t{trial.number}"
    assert project.summary()["n_trials_expected"] == 3
    assert project.run() == 0 and len(project.trials()) == 3  # n_trials reached: resume no-op


def test_a_worker_with_other_params_is_refused(search_project, capsys):
    project = search_project.configure()
    cfg = load_config("params.yaml")
    search_study = create_or_load(open_storage(cfg.search), cfg, make_pruner(cfg, 1))
    fingerprint = load_prepared(cfg.data.prepared_dir).fingerprint
    for key, value in ((PARAMS_ATTR, search_hash(base_config(cfg), fingerprint)),
                       (PARENT_ATTR, "not-needed"), (READY_ATTR, True)):
        search_study.study.set_user_attr(key, value)
    assert project.run("--worker", "--set", "train.lr=0.5") == 2
    assert "this worker's params differ from those the coordinator" in capsys.readouterr().err
    # Where and how it runs may differ: threads, device, tracking. (Nothing is queued.)
    assert project.run("--worker", "--set", "train.threads=2", "--set", "train.device=cpu") == 0
    assert "trained 0 trial(s)" in capsys.readouterr().out
