"""The one way trainlab builds a Lightning Trainer: its MLflow logger, best snapshot and stop.

A recipe training (:mod:`trainlab.training.recipe`) and a transfer cell
(:mod:`trainlab.transfer.cell`) both call :func:`build_trainer`, so they share:
- the logger: :class:`EpochLogger` on the run `tracked_run` opened, at the tracking URI made
  absolute (MLflow caches a store per URI string: a relative `sqlite:///mlflow.db` would
  follow the process into another directory);
- the best snapshot: a weights-only ModelCheckpoint `best.ckpt` in an explicit folder
  (`MLFlowLogger.save_dir` is None for database URIs), read back by :func:`load_best`;
- early stopping and the snapshot both on MONITOR; the Trainer's quiet, deterministic
  (on the CPU) settings; :func:`fit`, which keeps Ctrl-C a KeyboardInterrupt, and
  :func:`final_metrics`, which sends the final metrics with the last epochs'; and
  :func:`fit_best`, the three in their order with the best snapshot loaded.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from trainlab.databases import absolute_uri
from trainlab.models.checkpoint import read_checkpoint
from trainlab.tracking import experiment_id

MONITOR = "val/acc"  # the metric early stopping, the best snapshot and the search optimise
FLUSH_EVERY_S = 10.0  # epoch metrics reach MLflow at most this late (and at the end of fit)


@dataclass(frozen=True)
class TrackedRun:
    """The open MLflow run a training logs its epochs to (`tracked_run` created it)."""

    client: MlflowClient
    experiment: str
    run_id: str


def build_trainer(
    *,
    max_epochs: int,
    device: torch.device,
    checkpoint_dir: str | Path,
    run: TrackedRun | None,
    patience: int | None = None,
    min_delta: float = 0.0,
    callbacks: Sequence[Callback] = (),
    deterministic: bool = True,
    progress: bool = False,
) -> tuple[pl.Trainer, ModelCheckpoint]:
    """A Trainer on one `device` and its best snapshot, `checkpoint_dir`/best.ckpt.

    Args:
        run: where the epoch metrics go; None: no logger (tracking off).
        patience: epochs without a better MONITOR before stopping; None: no early stop.
        callbacks: more callbacks (the search's pruner), run before the snapshot's.
        deterministic: torch's deterministic algorithms on the CPU (on a GPU only a warning
            where an operation has none).
        progress: Lightning's progress bar (a single training at a terminal; never the
            search's trials, whose lines would interleave).
    """
    checkpoint = ModelCheckpoint(
        dirpath=checkpoint_dir, filename="best", monitor=MONITOR, mode="max",
        # The weights, epoch and hyper-parameters: what the test, the gap, the ensemble
        # and the report read. The optimizer state would double an MLP's file and its
        # write at every improving epoch; a training restarts from scratch, never resumes.
        save_top_k=1, save_weights_only=True, enable_version_counter=False,
    )
    all_callbacks: list[Callback] = [checkpoint, *callbacks]
    if patience is not None:
        all_callbacks.append(EarlyStopping(monitor=MONITOR, mode="max", patience=patience,
                                           min_delta=min_delta))
    logger = EpochLogger(
        experiment_id(run.client, run.experiment), experiment_name=run.experiment,
        tracking_uri=absolute_uri(run.client.tracking_uri), run_id=run.run_id, log_model=False,
    ) if run else False
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        accelerator=device.type,
        devices=1,
        logger=logger,
        callbacks=all_callbacks,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=False,
        deterministic=deterministic if device.type == "cpu" else "warn",
    )
    return trainer, checkpoint


def load_best(module: pl.LightningModule, checkpoint: ModelCheckpoint,
              device: torch.device) -> int:
    """Load the best snapshot's weights into `module`, on `device`; the snapshot's epoch."""
    best = read_checkpoint(checkpoint.best_model_path, map_location=device)
    module.load_state_dict(best["state_dict"])
    module.to(device)  # Lightning's teardown moved it back to the CPU; the inputs stay put
    return int(best["epoch"])


def best_score(checkpoint: ModelCheckpoint) -> float:
    """The monitored metric of the best snapshot (set by the first validation epoch)."""
    if checkpoint.best_model_score is None:
        raise ValueError("no best snapshot: the training ran no validation epoch")
    return float(checkpoint.best_model_score)


@contextlib.contextmanager
def final_metrics(trainer: pl.Trainer) -> Iterator[dict[str, float]]:
    """A dict for the final metrics of a fitted training, sent at the end of the block with
    the epochs' not sent yet, in one request at the last step (each MLflow request costs
    10-20 ms of CPU). If the block fails, the epochs' alone are sent: the curves still reach
    the run. Nothing is sent without a logger.
    """
    metrics: dict[str, float] = {}
    try:
        yield metrics
    except BaseException:
        if trainer.logger:
            trainer.logger.finalize("failed")
        raise
    if isinstance(trainer.logger, EpochLogger):
        trainer.logger.log_metrics(metrics, step=trainer.global_step)
        trainer.logger.flush()


@dataclass(frozen=True)
class Best:
    """A fitted training's best snapshot, loaded into its module."""

    epoch: int
    score: float  # its MONITOR value
    final: dict[str, float]  # the final metrics, sent at the end of `fit_best`'s block


@contextlib.contextmanager
def fit_best(trainer: pl.Trainer, checkpoint: ModelCheckpoint, module: pl.LightningModule,
             datamodule: pl.LightningDataModule, device: torch.device) -> Iterator[Best]:
    """:func:`fit`, then the best snapshot loaded into `module` on `device`, for the block that
    scores it and fills in the final metrics (:func:`final_metrics`). What a recipe training
    and a transfer cell both do after training: test the snapshot, not the last epoch."""
    fit(trainer, module, datamodule)
    with final_metrics(trainer) as final:
        yield Best(load_best(module, checkpoint, device), best_score(checkpoint), final)


def fit(trainer: pl.Trainer, module: pl.LightningModule,
        datamodule: pl.LightningDataModule) -> None:
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
            return  # sent with the final metrics (`final_metrics`)
        with contextlib.suppress(Exception):  # an error or interrupt is on its way: keep it
            self.flush()
