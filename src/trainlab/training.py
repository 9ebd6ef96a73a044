"""Train one recipe with Lightning, keep the best snapshot, measure the gap, track it all.

`train_recipe` is what `trainlab train` runs and what every search trial runs: one MLflow
run per call with the resolved params, per-epoch curves and diagnostics, provenance tags,
the test metrics of the best snapshot and the train-vs-test gap.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lightning.pytorch as pl
import torch
import yaml
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from trainlab.config import Config
from trainlab.data.datamodule import RecipeDataModule
from trainlab.data.prepared import PreparedData
from trainlab.models.checkpoint import loss_and_accuracy, predict_proba, read_checkpoint
from trainlab.models.module import RecipeModule
from trainlab.provenance import provenance_tags
from trainlab.tracking import client_for, experiment_id, log_artifacts, log_params, tracked_run
from trainlab.tracking_inputs import log_dataset

# Augmentation lives in the LightningModule's on_after_batch_transfer (it is part of the recipe
# and runs on the device); Lightning warns that the DataModule's hook is then not used.
warnings.filterwarnings("ignore", message=".*overridden `on_after_batch_transfer`.*")

# Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 when imported, so probing CUDA never poisons
# a fork. Without a GPU, torch then never caches "no CUDA" and Adam.step() probes NVML again
# (a dlopen) on every step: 0.2-0.5 ms on a CPU core, a third of a small MLP's step. With no
# GPU there is nothing to poison, so torch's own cached check is used.
if not torch.cuda.is_available():
    os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)

MONITOR = "val/acc"  # the metric early stopping, the best snapshot and the search optimise
STEPS_PER_CALL = 16  # batches per Lightning training/validation_step call (DeviceLoader group)
# Image pixels (H * W) per scoring batch: 256 28x28 images. On a CPU core the CNN scores
# an image fastest at 200-256 a batch and 1.7x slower from ~330 (its activations outgrow
# the cache); fewer, bigger batches also mean fewer Lightning calls.
EVAL_PIXELS = 256 * 28 * 28
# The config sections a training reads, logged as its run's params (the search, ensemble,
# transfer and report sections are their own stages' params; each param costs MLflow time).
TRAINING_SECTIONS = ("seed", "profile", "data", "model", "regularization", "augmentation",
                     "train")
FLUSH_EVERY_S = 10.0  # epoch metrics reach MLflow at most this late (and at the end of fit)
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
    history: list[dict[str, float]] = field(default_factory=list)


def resolve_device(requested: str) -> torch.device:
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


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
        image_shape=tuple(data.image_shape),
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
    if device.type == "cpu":
        module.use_channels_last()
    # The per-epoch diagnostics look at the first validation images (the loader keeps the
    # split's order), as the validation pass scores them.
    module.diagnostics_images = min(cfg.train.diagnostics_batch, len(data.val))

    all_tags = provenance_tags(data.fingerprint) | {
        "data.dataset": data.dataset,
        "recipe.activation": cfg.model.activation,
        "recipe.arch": cfg.model.arch,
    } | dict(tags or {})
    with _run(cfg, client, run_name, all_tags, parent_run_id, data) as run_id:
        checkpoint = ModelCheckpoint(
            dirpath=checkpoint_dir / (run_id or f"untracked-{uuid.uuid4().hex}"),
            filename="best", monitor=MONITOR, mode="max",
            # The weights, epoch and hyper-parameters: what the test, the gap, the ensemble
            # and the report read. The optimizer state would double an MLP's file and its
            # write at every improving epoch; a trial restarts from scratch, never resumes.
            save_top_k=1, save_weights_only=True, enable_version_counter=False,
        )
        all_callbacks: list[Callback] = [checkpoint, *callbacks]
        if cfg.train.patience is not None:
            all_callbacks.append(
                EarlyStopping(monitor=MONITOR, mode="max", patience=cfg.train.patience,
                              min_delta=cfg.train.min_delta)
            )
        logger = EpochLogger(
            experiment_id(client, cfg.tracking.experiment),
            experiment_name=cfg.tracking.experiment, tracking_uri=client.tracking_uri,
            run_id=run_id, log_model=False,
        ) if run_id else False
        trainer = pl.Trainer(
            max_epochs=cfg.train.epochs,
            accelerator=device.type,
            devices=1,
            logger=logger,
            callbacks=all_callbacks,
            num_sanity_val_steps=0,
            enable_progress_bar=False,
            enable_model_summary=False,
            deterministic=cfg.train.deterministic if device.type == "cpu" else "warn",
        )
        fit(trainer, module, datamodule)
        try:
            metrics, best_epoch, test_probs, test_labels = _evaluate_best(
                cfg, module, datamodule, checkpoint, trainer, device)
        except BaseException:
            if logger:
                logger.finalize("failed")  # the epoch curves still reach the run
            raise
        seconds = time.perf_counter() - started
        metrics["time/seconds"] = seconds
        if run_id:
            # One request for the epochs' metrics not sent yet and the final ones, one upload
            # for every artifact: each MLflow request costs 10-20 ms of CPU.
            logger.log_metrics(metrics, step=trainer.global_step)
            logger.flush()
            files = {"checkpoints/best.ckpt": checkpoint.best_model_path} \
                if cfg.tracking.log_checkpoint else {}
            log_artifacts(client, run_id, {
                "config.yaml": yaml.dump(cfg.model_dump(mode="json"), Dumper=YAML_DUMPER),
                "curves.csv": curves_csv(module.history, best_epoch),
                "confusion_matrix.json": json.dumps({
                    "classes": list(data.classes),
                    "matrix": confusion(test_probs, test_labels).tolist()}),
            }, files)
    return TrainResult(
        run_id=run_id, checkpoint=Path(checkpoint.best_model_path), metrics=metrics,
        epochs_run=trainer.current_epoch, best_epoch=best_epoch, seconds=seconds,
        history=list(module.history),
    )


def _evaluate_best(
    cfg: Config, module: RecipeModule, datamodule: RecipeDataModule,
    checkpoint: ModelCheckpoint, trainer: pl.Trainer, device: torch.device,
) -> tuple[dict[str, float], int, torch.Tensor, torch.Tensor]:
    """The best snapshot's test metrics and train-vs-test gap (metrics, its epoch, test
    probabilities and labels)."""
    # Test metrics and the gap come from the best snapshot, not the last epoch.
    best = read_checkpoint(checkpoint.best_model_path, map_location=device)
    module.load_state_dict(best["state_dict"])
    module.to(device)  # Lightning's teardown moved it back to the CPU; the loaders stay put
    test_probs, test_labels = predict_proba(module, datamodule.test_dataloader())
    train_probs, train_labels = predict_proba(
        module, datamodule.gap_dataloader(cfg.train.gap_sample)
    )
    metrics = gap_metrics(test_probs, test_labels, train_probs, train_labels)
    best_epoch = int(best["epoch"])
    metrics |= {
        "val/acc_best": float(checkpoint.best_model_score),
        "epochs_run": float(trainer.current_epoch),
        "best_epoch": float(best_epoch),
    }
    return metrics, best_epoch, test_probs, test_labels


@contextlib.contextmanager
def _run(
    cfg: Config,
    client: MlflowClient | None,
    run_name: str | None,
    tags: Mapping[str, str],
    parent_run_id: str | None,
    data: PreparedData,
) -> Iterator[str | None]:
    """The MLflow run of one training, with its params and config; None when tracking is off."""
    if not cfg.tracking.enabled:
        yield None
        return
    with tracked_run(client, cfg.tracking.experiment, run_name, tags, parent_run_id) as run_id:
        # What shapes this training; config.yaml (an artifact) holds the whole config.
        log_params(client, run_id, cfg.flat(*TRAINING_SECTIONS))
        log_dataset(client, run_id, data, cfg.data.prepared_dir)
        yield run_id


class EpochLogger(MLFlowLogger):
    """MLFlowLogger that sends metrics in one request every FLUSH_EVERY_S and at the end.

    Each MLflow request costs 10-20 ms of CPU (SQLAlchemy) on the project's machines: two an
    epoch added ~10% to a small MLP's epoch. The UI stays at most FLUSH_EVERY_S behind. The
    run's status is `tracked_run`'s to set, so the end of fit (or its interruption: pruned,
    Ctrl-C) only flushes.
    """

    def __init__(self, experiment_id: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # `tracked_run` created the run in this experiment: without this, MLFlowLogger's
        # `experiment` fetches the run (a get_run round trip) only to learn its experiment.
        self._experiment_id = experiment_id
        self._initialized = True
        self._pending: list[Metric] = []
        self._due = time.monotonic() + FLUSH_EVERY_S

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        self._pending += [Metric(key, float(value), now, step or 0)
                          for key, value in metrics.items()]
        if time.monotonic() >= self._due:
            self.flush()

    def flush(self) -> None:
        for start in range(0, len(self._pending), 1000):  # MLflow's limit per request
            self.experiment.log_batch(self.run_id, metrics=self._pending[start:start + 1000])
        self._pending = []
        self._due = time.monotonic() + FLUSH_EVERY_S

    def finalize(self, status: str = "success") -> None:
        if status == "success":
            return  # train_recipe sends what is pending with the final metrics
        with contextlib.suppress(Exception):  # an error or interrupt is on its way: keep it
            self.flush()


def fit(trainer: pl.Trainer, module: RecipeModule, datamodule: RecipeDataModule) -> None:
    """trainer.fit, with Ctrl-C/SIGTERM kept a KeyboardInterrupt.

    Lightning turns a KeyboardInterrupt into `sys.exit(1)` and ignores SIGINT afterwards;
    callers (the search loop, the CLI) need the interrupt itself to end runs KILLED and exit 130.
    """
    sigint = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, datamodule=datamodule)
    except SystemExit as exit_:
        if isinstance(exit_.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt("training interrupted") from None
        raise
    finally:
        signal.signal(signal.SIGINT, sigint)


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


def add_arguments_train(parser) -> None:
    parser.add_argument("--checkpoints", default="models/train", help="best-snapshot folder")
    parser.add_argument("--metrics", default="reports/train.json", help="DVC metrics file")


def run_train(cfg: Config, args) -> int:
    """`trainlab train`: the recipe in params.yaml on the prepared data."""
    from trainlab.data.prepared import load_prepared
    from trainlab.io import write_json

    data = load_prepared(cfg.data.prepared_dir)
    run_name = f"train-{cfg.model.arch}-{cfg.model.activation}-{cfg.regularization.kind}"
    result = train_recipe(cfg, data, args.checkpoints, run_name=run_name)
    summary = {k: round(v, 6) for k, v in result.metrics.items()}
    write_json(args.metrics, summary | {"run_id": result.run_id})
    print(
        f"train: test/acc {result.metrics['test/acc']:.4f}, final/train_acc "
        f"{result.metrics['final/train_acc']:.4f}, gap/acc {result.metrics['gap/acc']:+.4f}, "
        f"{result.epochs_run} epochs in {result.seconds:.1f} s "
        + (f"(MLflow run {result.run_id})" if result.run_id else "(tracking off)")
    )
    return 0
