"""Train one recipe with Lightning, keep the best snapshot, measure the gap, track it all.

`train_recipe` is what `trainlab train` (:mod:`trainlab.training.stage`) runs and what every
search trial runs: one MLflow run per call with the resolved params, per-epoch curves and
diagnostics, provenance tags, the test metrics of the best snapshot and the train-vs-test gap.
The Trainer, its MLflow logger and the best snapshot come from
:func:`trainlab.training.trainer.build_trainer`, as a transfer cell's do.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import yaml
from lightning.pytorch.callbacks import Callback
from mlflow.tracking import MlflowClient

from trainlab.config.params import TRAINING_SECTIONS, Config
from trainlab.correctness import ARTIFACT as CORRECT_ARTIFACT
from trainlab.correctness import FILE as CORRECT_FILE
from trainlab.correctness import VAL_ARTIFACT, VAL_FILE, save_correct
from trainlab.data.datamodule import RecipeDataModule
from trainlab.data.prepared import PreparedData
from trainlab.models.checkpoint import loss_and_accuracy, predict_proba
from trainlab.models.device import resolve_device
from trainlab.models.module import RecipeModule
from trainlab.provenance import provenance_tags
from trainlab.tracking import client_for, log_artifacts, log_params, tracked_run
from trainlab.tracking_inputs import log_dataset
from trainlab.training.trainer import Best, TrackedRun, build_trainer, fit_best

# Augmentation lives in the LightningModule's on_after_batch_transfer (it is part of the recipe
# and runs on the device); Lightning warns that the DataModule's hook is then not used.
warnings.filterwarnings("ignore", message=".*overridden `on_after_batch_transfer`.*")

STEPS_PER_CALL = 16  # batches per Lightning training/validation_step call (DeviceLoader group)
# Image pixels (H * W) per scoring batch: 256 28x28 images. On a CPU core the CNN scores
# an image fastest at 200-256 a batch and 1.7x slower from ~330 (its activations outgrow
# the cache); fewer, bigger batches also mean fewer Lightning calls.
EVAL_PIXELS = 256 * 28 * 28
# libyaml's emitter writes the same text as PyYAML's safe_dump in ~1.5 ms instead of ~10 ms
# (a run's config.yaml; measured on a CPU core); PyYAML without libyaml falls back.
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class TrainResult:
    """What a finished training returns (and what the search stores per trial).

    `run_id` is None when tracking is off (`tracking.enabled: false`).
    """

    run_id: str | None
    checkpoint: Path
    metrics: dict[str, float]
    epochs_run: int
    best_epoch: int
    seconds: float
    test_correct: Path  # the best snapshot's correctness per test image
    val_correct: Path | None = None  # ... and per validation image (what racing compares)
    history: list[dict[str, float]] = field(default_factory=list)
    test_predicted: list[int] = field(default_factory=list)  # its class per test image
    test_labels: list[int] = field(default_factory=list)


def eval_batch_size(batch_size: int, image_shape: Sequence[int]) -> int:
    """Images per scoring batch: about EVAL_PIXELS pixels, never fewer than a train batch."""
    height, width = image_shape[-2:]
    return max(batch_size, EVAL_PIXELS // (height * width))


def build_datamodule(cfg: Config, data: PreparedData, device: torch.device) -> RecipeDataModule:
    """The recipe's loaders: lists of STEPS_PER_CALL batches for Lightning's train and
    validation loops (DeviceLoader's `group`), scoring batches of EVAL_PIXELS for validation
    and the final test and gap evaluation."""
    datamodule = RecipeDataModule(data, cfg.train.batch_size, device, cfg.seed)
    scoring = eval_batch_size(cfg.train.batch_size, data.image_shape)
    for loader in (datamodule.val_dataloader(), datamodule.test_dataloader(),
                   datamodule.gap_dataloader(cfg.train.gap_sample)):
        loader.batch_size = scoring
    datamodule.train_dataloader().group = STEPS_PER_CALL
    datamodule.val_dataloader().group = STEPS_PER_CALL
    return datamodule


def build_module(cfg: Config, data: PreparedData) -> RecipeModule:
    module = RecipeModule(
        model=cfg.model.model_dump(mode="json"),
        regularization=cfg.regularization.model_dump(mode="json"),
        augmentation=cfg.augmentation.model_dump(mode="json"),
        image_shape=data.image_shape,
        num_classes=data.num_classes,
        preprocessing=data.preprocessing,
        optimizer=cfg.train.optimizer,
        lr=cfg.train.lr,
        momentum=cfg.train.momentum,
        diagnostics_every=cfg.train.diagnostics_every,
    )
    module.load_stats(data.stats)
    return module


def train_recipe(
    cfg: Config,
    data: PreparedData,
    checkpoint_dir: str | Path,
    *,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    callbacks: Sequence[Callback] = (),
    client: MlflowClient | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train `cfg`'s recipe on prepared data and track it as one MLflow run.

    Raises:
        TrainingError: the loss became NaN/inf (the run ends FAILED with the reason).
    """
    started = time.perf_counter()
    pl.seed_everything(cfg.seed, workers=False, verbose=False)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    if cfg.tracking.enabled:
        client = client or client_for(cfg.tracking)
    checkpoint_dir = Path(checkpoint_dir)

    datamodule = build_datamodule(cfg, data, device)
    module = build_module(cfg, data)
    module.use_channels_last(device)
    # The per-epoch diagnostics look at the first validation images (the loader keeps the
    # split's order), as the validation pass scores them.
    module.diagnostics_images = min(cfg.train.diagnostics_batch, len(data.val))

    all_tags = provenance_tags(data.fingerprint) | {
        "data.dataset": data.dataset,
        "recipe.activation": cfg.model.activation,
        "recipe.arch": cfg.model.arch,
    } | dict(tags or {})
    with _run(cfg, client, run_name, all_tags, parent_run_id, data) as run_id:
        trainer, checkpoint = build_trainer(
            max_epochs=cfg.train.epochs, device=device,
            checkpoint_dir=checkpoint_dir / (run_id or f"untracked-{uuid.uuid4().hex}"),
            run=TrackedRun(client, cfg.tracking.experiment, run_id)
            if run_id and client is not None else None,
            patience=cfg.train.patience, min_delta=cfg.train.min_delta, callbacks=callbacks,
            deterministic=cfg.train.deterministic, progress=progress,
        )
        with fit_best(trainer, checkpoint, module, datamodule, device) as best:
            metrics, test_probs, test_labels, val_right = _evaluate_best(
                cfg, module, datamodule, best, trainer)
            seconds = time.perf_counter() - started
            metrics["time/seconds"] = seconds
            best.final.update(metrics)
        correct = save_correct(Path(checkpoint.best_model_path).parent / CORRECT_FILE,
                               (test_probs.argmax(dim=1) == test_labels).cpu().numpy())
        val_correct = save_correct(correct.parent / VAL_FILE, val_right)
        if run_id and client is not None:
            # One upload for every artifact: each MLflow request costs 10-20 ms of CPU.
            files: dict[str, str | Path] = {"checkpoints/best.ckpt": checkpoint.best_model_path} \
                if cfg.tracking.log_checkpoint else {}
            files[CORRECT_ARTIFACT] = correct
            files[VAL_ARTIFACT] = val_correct
            log_artifacts(client, run_id, {
                "config.yaml": yaml.dump(cfg.model_dump(mode="json"), Dumper=YAML_DUMPER),
                "curves.csv": curves_csv(module.history, best.epoch),
                "confusion_matrix.json": json.dumps({
                    "classes": list(data.classes),
                    "matrix": confusion(test_probs, test_labels).tolist()}),
            }, files)
    return TrainResult(
        run_id=run_id, checkpoint=Path(checkpoint.best_model_path), metrics=metrics,
        epochs_run=trainer.current_epoch, best_epoch=best.epoch, seconds=seconds,
        history=list(module.history), test_correct=correct, val_correct=val_correct,
        test_predicted=test_probs.argmax(dim=1).tolist(), test_labels=test_labels.tolist(),
    )


def _evaluate_best(
    cfg: Config, module: RecipeModule, datamodule: RecipeDataModule, best: Best,
    trainer: pl.Trainer,
) -> tuple[dict[str, float], torch.Tensor, torch.Tensor, np.ndarray]:
    """The best snapshot's (loaded into `module`) test metrics and train-vs-test gap
    (metrics, test probabilities and labels, its correctness per validation image)."""
    # Test metrics and the gap come from the best snapshot, not the last epoch.
    test_probs, test_labels = predict_proba(module, datamodule.test_dataloader())
    # Racing's paired test needs the snapshot's per-image validation results: one more
    # validation pass (as long as an epoch's), ungrouped (the loop's loader yields groups).
    val_loader = copy.copy(datamodule.val_dataloader())
    val_loader.group = None
    val_probs, val_labels = predict_proba(module, val_loader)
    val_right = (val_probs.argmax(dim=1) == val_labels).cpu().numpy()
    train_probs, train_labels = predict_proba(
        module, datamodule.gap_dataloader(cfg.train.gap_sample)
    )
    metrics = gap_metrics(test_probs, test_labels, train_probs, train_labels)
    metrics |= {
        "val/acc_best": best.score,
        "epochs_run": float(trainer.current_epoch),
        "best_epoch": float(best.epoch),
    }
    return metrics, test_probs, test_labels, val_right


@contextlib.contextmanager
def _run(
    cfg: Config,
    client: MlflowClient | None,
    run_name: str | None,
    tags: Mapping[str, str],
    parent_run_id: str | None,
    data: PreparedData,
) -> Iterator[str | None]:
    """The MLflow run of one training, with its params and config; None when tracking is off
    (train_recipe makes a client whenever it is on)."""
    if not cfg.tracking.enabled or client is None:
        yield None
        return
    with tracked_run(client, cfg.tracking.experiment, run_name, tags, parent_run_id) as run_id:
        # What shapes this training; config.yaml (an artifact) holds the whole config.
        log_params(client, run_id, cfg.flat(*TRAINING_SECTIONS))
        log_dataset(client, run_id, data, cfg.data.prepared_dir)
        yield run_id


def gap_metrics(
    test_probs: torch.Tensor,
    test_labels: torch.Tensor,
    train_probs: torch.Tensor,
    train_labels: torch.Tensor,
) -> dict[str, float]:
    """Test metrics and the train-vs-test gap, from eval-mode predictions (no augmentation)."""
    test_loss, test_acc = loss_and_accuracy(test_probs, test_labels)
    train_loss, train_acc = loss_and_accuracy(train_probs, train_labels)
    return {
        "test/acc": test_acc,
        "test/loss": test_loss,
        "final/train_acc": train_acc,
        "final/train_loss": train_loss,
        "gap/acc": train_acc - test_acc,
        "gap/loss": test_loss - train_loss,
    }


def confusion(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Confusion matrix (rows: true class, columns: predicted class)."""
    n = probs.shape[1]
    return torch.bincount(labels * n + probs.argmax(1), minlength=n * n).reshape(n, n).cpu()


def curves_csv(history: list[dict[str, float]], best_epoch: int) -> str:
    """Per-epoch curves as CSV; `best` marks the epoch whose snapshot was kept."""
    columns = ["epoch", "train/loss", "train/acc", "val/loss", "val/acc", "best"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow(row | {"best": int(row["epoch"] == best_epoch)})
    return out.getvalue()
