"""One recipe end to end: Lightning training, best snapshot, gap, and what MLflow holds."""

from __future__ import annotations

import json

import lightning.pytorch as pl
import pytest
import torch
from mlflow.tracking import MlflowClient

from trainlab.cli import main
from trainlab.config.params import TRAINING_SECTIONS, load_config
from trainlab.correctness import VAL_FILE, load_correct
from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri
from trainlab.models.checkpoint import load_module, loss_and_accuracy, predict_proba
from trainlab.models.diagnostics import activation_stats
from trainlab.training.recipe import confusion, curves_csv, gap_metrics, train_recipe


def test_gap_metrics_arithmetic():
    # Test: 3 of 4 right; train: 4 of 4 right. Probabilities chosen for known losses.
    test_probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    test_labels = torch.tensor([0, 1, 1, 0])
    train_probs = torch.tensor([[0.8, 0.2], [0.1, 0.9]])
    train_labels = torch.tensor([0, 1])
    metrics = gap_metrics(test_probs, test_labels, train_probs, train_labels)
    test_loss = -(torch.log(torch.tensor([0.9, 0.8, 0.4, 0.5]))).mean().item()
    train_loss = -(torch.log(torch.tensor([0.8, 0.9]))).mean().item()
    assert metrics["test/acc"] == pytest.approx(0.75)
    assert metrics["final/train_acc"] == pytest.approx(1.0)
    assert metrics["gap/acc"] == pytest.approx(0.25)
    assert metrics["test/loss"] == pytest.approx(test_loss, rel=1e-5)
    assert metrics["gap/loss"] == pytest.approx(test_loss - train_loss, rel=1e-5)


def test_confusion_rows_are_true_classes():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]])
    labels = torch.tensor([0, 1, 1])
    assert confusion(probs, labels).tolist() == [[1, 0], [1, 1]]


def test_curves_csv_marks_the_best_epoch():
    history = [
        {"epoch": 0, "train/loss": 1.0, "train/acc": 0.5, "val/loss": 1.1, "val/acc": 0.4},
        {"epoch": 1, "train/loss": 0.5, "train/acc": 0.8, "val/loss": 0.7, "val/acc": 0.7},
    ]
    lines = curves_csv(history, best_epoch=1).splitlines()
    assert lines[0] == "epoch,train/loss,train/acc,val/loss,val/acc,best"
    assert lines[1].endswith(",0") and lines[2].endswith(",1")


@pytest.mark.slow
def test_train_end_to_end_on_digits_is_tracked_in_mlflow(prepared):
    assert main(["train", "--set", "train.epochs=3"]) == 0
    summary = json.loads((prepared / "reports" / "train.json").read_text())
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags

    # Every resolved param the training reads (other stages' sections are theirs to log),
    # provenance tags, and the recipe.
    assert params["train.epochs"] == "3" and params["model.activation"] == "relu"
    assert params["data.dataset"] == "digits"
    assert {key.split(".")[0] for key in params} == set(TRAINING_SECTIONS)
    assert tags["data.fingerprint"] == load_prepared("data/prepared").fingerprint
    for key in ("trainlab.git_commit", "hardware.cpu", "hardware.gpu", "trainlab.version"):
        assert tags[key]
    assert tags["trainlab.outcome"] == "finished"

    # The gap is final train accuracy minus test accuracy, from the best snapshot.
    assert metrics["gap/acc"] == pytest.approx(metrics["final/train_acc"] - metrics["test/acc"])
    assert metrics["gap/loss"] == pytest.approx(metrics["test/loss"] - metrics["final/train_loss"])
    assert metrics["test/acc"] > 0.85  # digits with a 32-unit MLP, 3 epochs
    assert summary["test/acc"] == pytest.approx(metrics["test/acc"], abs=1e-6)

    # Per-epoch curves and diagnostics.
    assert len(client.get_metric_history(run.info.run_id, "val/acc")) == 3
    assert len(client.get_metric_history(run.info.run_id, "gap/epoch_acc")) == 3
    for key in ("diag/layer1/dead", "diag/layer1/mean", "diag/layer1/saturated",
                "grad_norm/layer1", "grad_norm/layer2"):
        assert key in metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "curves.csv", "confusion_matrix.json", "checkpoints"} <= artifacts

    # The kept checkpoint loads with weights_only=True and reproduces the logged test accuracy.
    ckpt = next((prepared / "models" / "train").rglob("best.ckpt"))
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert {"state_dict", "hyper_parameters", "epoch"} <= set(saved)
    assert "optimizer_states" not in saved  # the best snapshot is weights, not a resume point
    module = load_module(ckpt)
    data = load_prepared("data/prepared")
    from trainlab.data.loader import DeviceLoader

    test = DeviceLoader(data.test, 256, "cpu", False)
    loss, acc = loss_and_accuracy(*predict_proba(module, test))
    assert acc == pytest.approx(metrics["test/acc"], abs=1e-6)

    # The same snapshot's correctness per validation image (racing's paired test), beside it.
    val_right = load_correct(ckpt.parent / VAL_FILE, len(data.val), "val")
    assert val_right.mean() == pytest.approx(metrics["val/acc_best"], abs=1e-6)
    assert "predictions" in artifacts


class _Interrupt(pl.Callback):
    def on_train_epoch_end(self, trainer, pl_module):
        raise KeyboardInterrupt


@pytest.mark.slow
def test_interrupted_run_ends_killed_and_diverged_run_ends_failed(prepared):
    cfg = load_config("params.yaml")
    data = load_prepared(cfg.data.prepared_dir)
    client = MlflowClient(absolute_uri(cfg.tracking.uri))
    with pytest.raises(KeyboardInterrupt):
        train_recipe(cfg, data, "models/x", run_name="interrupted", callbacks=[_Interrupt()])

    # A sigmoid MLP with an absurd learning rate and penalty diverges to NaN.
    assert main(["train", "--set", "train.lr=1e12", "--set", "regularization.kind=l2",
                 "--set", "regularization.strength=1e12", "--set", "train.epochs=3"]) == 1
    runs = {r.info.run_name: r for r in client.search_runs([
        client.get_experiment_by_name("tests").experiment_id])}
    assert runs["interrupted"].info.status == "KILLED"
    failed = [r for name, r in runs.items() if name.startswith("train-")]
    assert failed[0].info.status == "FAILED"
    assert "diverged" in failed[0].data.tags["trainlab.failure"]
    assert all(r.info.status != "RUNNING" for r in runs.values())


def test_scoring_batches_hold_about_eval_pixels_never_fewer_than_a_train_batch():
    from trainlab.training.recipe import EVAL_PIXELS, eval_batch_size

    assert eval_batch_size(128, (1, 28, 28)) == EVAL_PIXELS // (28 * 28) == 256
    assert eval_batch_size(512, (1, 28, 28)) == 512
    assert eval_batch_size(32, (3, 224, 224)) == 32


def test_sqlite_tracking_databases_use_write_ahead_logging(tmp_path):
    import sqlite3

    from trainlab.tracking import use_wal

    use_wal(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with sqlite3.connect(tmp_path / "mlflow.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    use_wal("postgresql://user@localhost/db")  # left alone: nothing to open, no error
    use_wal(f"sqlite:///{tmp_path / 'missing' / 'mlflow.db'}")  # MLflow reports that itself


@pytest.mark.slow
def test_train_without_tracking_opens_no_mlflow_run(prepared):
    cfg = load_config("params.yaml", ["tracking.enabled=false", "train.epochs=2"])
    result = train_recipe(cfg, load_prepared(cfg.data.prepared_dir), "models/untracked")
    assert result.run_id is None and result.checkpoint.is_file()
    assert result.checkpoint.parent.name.startswith("untracked-")
    assert not (prepared / "mlflow.db").exists()
    assert result.epochs_run == 2 and 0.0 < result.metrics["test/acc"] <= 1.0


@pytest.mark.slow
def test_epoch_metrics_are_logged_at_optimizer_steps(prepared):
    cfg = load_config("params.yaml", ["train.epochs=3"])
    data = load_prepared(cfg.data.prepared_dir)
    result = train_recipe(cfg, data, "models/steps")
    steps = len(data.train) // cfg.train.batch_size  # per epoch: one optimizer step a batch
    client = MlflowClient(absolute_uri(cfg.tracking.uri))
    for key in ("val/acc", "train/loss", "grad_norm/layer1", "diag/layer1/mean"):
        history = client.get_metric_history(result.run_id, key)
        assert sorted(m.step for m in history) == [steps, 2 * steps, 3 * steps], key
    assert client.get_run(result.run_id).data.metrics["time/seconds"] > 0


def test_diagnostics_come_from_the_first_validation_images(prepared):
    """The validation pass records them (no second forward): the logged numbers are those
    of activation_stats on the first train.diagnostics_batch val images, same weights."""
    cfg = load_config("params.yaml", ["train.epochs=1", "train.diagnostics_batch=50"])
    data = load_prepared(cfg.data.prepared_dir)
    result = train_recipe(cfg, data, "models/diagnostics")
    module = load_module(result.checkpoint).eval()  # one epoch: the snapshot is the last one
    assert len(data.val) > 50
    x = data.val.images[:50].float() / 255.0
    expected = activation_stats(module.net, module.normalize(x))
    logged = MlflowClient(absolute_uri(cfg.tracking.uri)).get_run(result.run_id).data.metrics
    assert {k: logged[k] for k in expected} == pytest.approx(expected, rel=1e-4, abs=1e-6)


@pytest.mark.slow
def test_same_params_and_seed_give_identical_metrics(prepared):
    cfg = load_config("params.yaml").replace(**{"augmentation.hflip": 0.5,
                                                "augmentation.translate": 0.1,
                                                "model.dropout": 0.2})
    data = load_prepared(cfg.data.prepared_dir)
    first = train_recipe(cfg, data, "models/a", run_name="first")
    second = train_recipe(cfg, data, "models/b", run_name="second")
    keys = ("test/acc", "test/loss", "final/train_acc", "gap/acc", "val/acc_best")
    assert {k: first.metrics[k] for k in keys} == {k: second.metrics[k] for k in keys}
    assert first.history == second.history
    other = train_recipe(cfg.replace(seed=1), data, "models/c", run_name="other seed")
    assert other.history != first.history
