"""The stage on three real members trained on digits, checked against their own runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient

from trainlab.cli import main
from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri
from trainlab.models.checkpoint import load_module
from trainlab.tracking import client_for, tracked_run
from trainlab.training.recipe import train_recipe

RECIPES = [("relu", 0), ("tanh", 1), ("elu", 2)]  # (activation, seed): 3 independent members


@pytest.mark.slow
def test_ensemble_of_trained_members_on_digits(prepared, manifest_writer):
    base = load_config()
    data = load_prepared(base.data.prepared_dir)
    client = client_for(base.tracking)
    with tracked_run(client, base.tracking.experiment, "search") as parent:
        results = [
            train_recipe(
                base.replace(**{"model.activation": activation, "seed": seed}),
                data,
                "models/trials",
                run_name=f"trial-{activation}",
                parent_run_id=parent,
            )
            for activation, seed in RECIPES
        ]
    results.sort(key=lambda r: -r.metrics["val/acc_best"])  # the manifest's order
    members = []
    for rank, result in enumerate(results, start=1):
        checkpoint = f"models/search/rank{rank}_trial{rank}.ckpt"
        Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(result.checkpoint, checkpoint)
        members.append(
            {
                "run_id": result.run_id,
                "checkpoint": checkpoint,
                "val_acc": result.metrics["val/acc_best"],
                "test_acc": result.metrics["test/acc"],
            }
        )
    manifest_writer(members, parent_run_id=parent)

    assert (
        main(
            [
                "ensemble",
                "--manifest",
                "models/search/manifest.json",
                "--out",
                "reports/ensemble.json",
                "--set",
                "ensemble.top_k=3",
                "--set",
                "tracking.register_models=true",
            ]
        )
        == 0
    )
    report = json.loads(Path("reports/ensemble.json").read_text())

    # Each member's numbers are the ones its own training measured.
    for row, result in zip(report["members"], results, strict=True):
        assert row["run_id"] == result.run_id
        assert row["test_acc"] == pytest.approx(result.metrics["test/acc"], abs=1e-6)
        assert row["val_acc"] == pytest.approx(result.metrics["val/acc_best"], abs=1e-6)
        assert row["nll"] == pytest.approx(result.metrics["test/loss"], abs=1e-5)
        assert row["test_acc"] > 0.5  # trained, not random (10 classes)
    # Only the "greedy_pool > members" note: fingerprints checked, manifest consistent.
    assert report["notes"] == [
        "ensemble.greedy_pool = 10 but the manifest lists 3 member(s); used all"
    ]

    # The ensemble, recomputed here: one forward pass over the whole test split per member.
    images = data.test.images.float() / 255.0
    with torch.no_grad():
        probs = torch.stack(
            [torch.softmax(load_module(m["checkpoint"])(images), 1) for m in members]
        )
    ensemble_acc = (probs.mean(0).argmax(1) == data.test.labels).double().mean().item()
    best = report["best_single"]["by_val"]
    assert best["run_id"] == results[0].run_id and best["acc"] == report["members"][0]["test_acc"]
    assert report["ensemble"]["acc"] == pytest.approx(ensemble_acc, abs=1e-9)
    assert report["ensemble"]["gain_points"] == pytest.approx(100 * (ensemble_acc - best["acc"]))
    top_test = max(r.metrics["test/acc"] for r in results)
    assert report["ensemble"]["gain_points_vs_best_test"] == pytest.approx(
        100 * (ensemble_acc - top_test), abs=1e-4
    )
    preds = probs.argmax(2)
    pairs = [(preds[i] != preds[j]).double().mean().item() for i, j in ((0, 1), (0, 2), (1, 2))]
    assert report["diversity"]["disagreement"] == pytest.approx(sum(pairs) / 3)
    assert sum(s["count"] for s in report["greedy"]["selection"]) == report["greedy"]["steps"] >= 1

    # The MLflow run, linked to the search's parent run.
    tracked = MlflowClient(absolute_uri(base.tracking.uri))
    runs = tracked.search_runs(
        [tracked.get_experiment_by_name(base.tracking.experiment).experiment_id],
        filter_string="tags.`trainlab.kind` = 'ensemble'",
    )
    assert [run.info.run_id for run in runs] == [report["mlflow_run_id"]]
    run = runs[0]
    assert run.data.tags["trainlab.search_parent_run_id"] == parent
    assert run.data.tags["ensemble.members"] == ",".join(r.run_id for r in results)
    assert run.data.tags["data.fingerprint"] == data.fingerprint
    for key, value in {
        "ensemble/acc": report["ensemble"]["acc"],
        "ensemble/gain_points": report["ensemble"]["gain_points"],
        "ensemble/ece": report["ensemble"]["ece"],
        "best_single/acc": best["acc"],
        "best_single/ece": best["ece"],
        "vote/acc": report["vote"]["acc"],
        "greedy/acc": report["greedy"]["acc"],
        "diversity/disagreement": report["diversity"]["disagreement"],
    }.items():
        assert run.data.metrics[key] == pytest.approx(value)
    artifact = Path(tracked.download_artifacts(run.info.run_id, "ensemble.json"))
    assert json.loads(artifact.read_text()) == report

    # The registered model: what a user loads by alias predicts the reported accuracy.
    [version] = tracked.search_model_versions("name = 'tests-ensemble'")
    assert version.run_id == run.info.run_id
    assert tracked.get_model_version_by_alias("tests-ensemble", "champion").version == \
        version.version
    mlflow.set_tracking_uri(absolute_uri(base.tracking.uri))
    model = mlflow.pyfunc.load_model("models:/tests-ensemble@champion")
    served = model.predict(images.numpy())
    assert served.shape == (len(images), data.num_classes)
    served_acc = (served.argmax(1) == data.test.labels.numpy()).mean()
    assert served_acc == pytest.approx(report["ensemble"]["acc"], abs=1e-9)
