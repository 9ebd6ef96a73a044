"""What trainlab's LightningModules share: one step for training and validation, and the
metrics of an epoch.

A subclass defines `forward` (logits for a batch) and calls :meth:`ClassifierModule._shared_step`
from its training and validation steps. Loss and accuracy are accumulated on the device
(:class:`EpochTotals`) and logged once per epoch, under the names every reader uses:
`train/loss`, `train/acc`, `val/loss`, `val/acc`, `epoch`, and the per-epoch gap
`gap/epoch_acc` (train minus val accuracy) and `gap/epoch_loss` (val minus train loss).
`history` keeps one row per epoch for the curves.
"""

from __future__ import annotations

import os
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F

# Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 when imported, so probing CUDA never poisons
# a fork. Without a GPU, torch then never caches "no CUDA" and Adam.step() probes NVML again
# (a dlopen) on every step: 0.2-0.5 ms on a CPU core, a third of a small MLP's step. With no
# GPU there is nothing to poison, so torch's own cached check is used. Here: every process
# that trains a trainlab module (a recipe, a transfer cell, the claims) has imported this.
if not torch.cuda.is_available():
    os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)


class EpochTotals:
    """Sums of loss and correct predictions over an epoch, kept on the device.

    `add` only keeps a step's detached loss, logits and labels; they are summed every
    PENDING batches (and by `compute`). Summing each step apart took five small kernels,
    ~35 us a step on a CPU core, 1-2% of a small MLP's step.
    """

    PENDING = 16  # batches kept before summing: a DeviceLoader group (STEPS_PER_CALL)

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # 0-dim device tensors: sum of loss * n, correct; None until the first sum
        self.totals: tuple[torch.Tensor, torch.Tensor] | None = None
        self.count = 0  # images: the batch sizes are known on the host
        self._pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self._pending.append((loss.detach(), logits.detach(), y))
        self.count += y.shape[0]
        if len(self._pending) >= self.PENDING:
            self._sum_pending()

    def _sum_pending(self) -> None:
        if not self._pending:
            return
        step_losses, logits, labels = zip(*self._pending, strict=True)
        sizes = [len(y) for y in labels]
        losses = torch.stack(step_losses).float()
        if len(set(sizes)) == 1:  # a training epoch's batches are all full
            loss = losses.sum() * sizes[0]
        else:
            loss = losses @ torch.tensor(sizes, dtype=losses.dtype, device=losses.device)
        correct = (torch.cat(logits).argmax(dim=1) == torch.cat(labels)).sum()
        if self.totals is None:
            self.totals = loss, correct
        else:
            self.totals[0].add_(loss)
            self.totals[1].add_(correct)
        self._pending = []

    def compute(self) -> dict[str, float]:
        """Reduce to floats (one host sync per epoch) and reset."""
        if not self.count:
            return {}
        self._sum_pending()
        assert self.totals is not None  # count > 0: at least one batch was summed
        loss, correct = torch.stack([t.float() for t in self.totals]).tolist()
        out = {"loss": loss / self.count, "acc": correct / self.count}
        self._reset()
        return out



class ClassifierModule(pl.LightningModule):
    """A classifier trained with cross-entropy, with per-epoch metrics (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self.totals = {stage: EpochTotals() for stage in ("train", "val")}
        self.history: list[dict[str, float]] = []  # one row per epoch, for the curves CSV
        self._last_val: dict[str, float] = {}

    def _shared_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.totals[stage].add(loss, logits, y)
        return loss

    def _epoch_extras(self, stage: str, values: dict[str, float]) -> dict[str, float]:
        """More metrics to log with `stage`'s epoch metrics (`values`: its loss and acc).

        A subclass adds its diagnostics here, or raises if the epoch went wrong.
        """
        return {}

    def on_validation_epoch_end(self) -> None:
        values = self.totals["val"].compute()
        if not values:
            return
        self._last_val = values
        metrics = {"val/loss": values["loss"], "val/acc": values["acc"]}
        # For callbacks (early stopping, the best snapshot, the pruner): not logged from here.
        self.log_dict(metrics, logger=False)
        self._log_epoch(metrics | self._epoch_extras("val", values))

    def on_train_epoch_end(self) -> None:
        train = self.totals["train"].compute()
        if not train:
            return
        extras = self._epoch_extras("train", train)
        row = {"epoch": self.current_epoch, "train/loss": train["loss"], "train/acc": train["acc"]}
        # `epoch` as Lightning's own logging adds it; once per epoch, with the train metrics.
        metrics = {"train/loss": train["loss"], "train/acc": train["acc"],
                   "epoch": self.current_epoch}
        if self._last_val:
            row |= {"val/loss": self._last_val["loss"], "val/acc": self._last_val["acc"]}
            metrics["gap/epoch_acc"] = train["acc"] - self._last_val["acc"]
            metrics["gap/epoch_loss"] = self._last_val["loss"] - train["loss"]
        self._log_epoch(metrics | extras)
        self.history.append(row)

    def _log_epoch(self, metrics: dict[str, Any]) -> None:
        """Hand reduced epoch metrics to the loggers in one call, at the optimizer-step count.

        `self.log` would keep an accumulator object per key and move each to the CPU at every
        epoch end (about 1 ms per key per epoch on a CPU core, for 20-30 keys), only to log
        the values computed here; and it would log at its count of training_step calls.
        """
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.global_step)
