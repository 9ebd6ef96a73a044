"""The LightningModule of one recipe: preprocessing + network + penalty + augmentation.

Metrics are accumulated on the device during an epoch and logged once per epoch
(`train/loss`, `train/acc`, `val/loss`, `val/acc`, the per-epoch gap and the diagnostics),
so no step waits on the host. The preprocessing statistics are buffers of the module, so a
checkpoint alone rebuilds a model that takes raw [0, 1] images.

Optimisation is manual: `training_step` takes one batch or a list of batches (a
`DeviceLoader` with `group`) and steps the optimizer once per batch, so Lightning's per-call
machinery (about 1 ms on a CPU core, as much as a small MLP's whole step) is paid once per
list, not once per step. Lightning still drives the epochs, validation, callbacks,
checkpoints and logging, and `global_step` counts optimizer steps.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F

from trainlab.config import AugmentationConfig, ModelConfig, RegularizationConfig
from trainlab.data.augment import BatchAugment
from trainlab.data.preprocessing import Normalize
from trainlab.errors import TrainingError
from trainlab.models.diagnostics import ActivationProbe, grad_norms
from trainlab.models.networks import build_network
from trainlab.models.optim import build_optimizer
from trainlab.models.penalties import penalty

NAN_CHECK_EVERY = 25  # steps between finiteness checks of the loss (each costs one host sync)


class EpochTotals:
    """Sums of loss and correct predictions over an epoch, kept on the device.

    `add` only keeps a step's detached loss, logits and labels; they are summed every
    PENDING batches (and by `compute`). Summing each step apart took five small kernels,
    ~35 us a step on a CPU core, 1-2% of a small MLP's step.
    """

    PENDING = 16  # batches kept before summing: a DeviceLoader group (STEPS_PER_CALL)

    def __init__(self) -> None:
        self.loss = self.correct = None  # 0-dim device tensors: sum of loss * n, correct
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
        losses, logits, labels = zip(*self._pending, strict=True)
        sizes = [len(y) for y in labels]
        losses = torch.stack(losses).float()
        if len(set(sizes)) == 1:  # a training epoch's batches are all full
            loss = losses.sum() * sizes[0]
        else:
            loss = losses @ torch.tensor(sizes, dtype=losses.dtype, device=losses.device)
        correct = (torch.cat(logits).argmax(dim=1) == torch.cat(labels)).sum()
        if self.loss is None:
            self.loss, self.correct = loss, correct
        else:
            self.loss.add_(loss)
            self.correct.add_(correct)
        self._pending = []

    def compute(self) -> dict[str, float]:
        """Reduce to floats (one host sync per epoch) and reset."""
        if not self.count:
            return {}
        self._sum_pending()
        loss, correct = torch.stack([self.loss.float(), self.correct.float()]).tolist()
        out = {"loss": loss / self.count, "acc": correct / self.count}
        self.__init__()
        return out


class RecipeModule(pl.LightningModule):
    """One training recipe.

    Args:
        model: a ModelConfig dump (architecture and activation).
        regularization: a RegularizationConfig dump (penalty lambda * R(W) on the weights).
        augmentation: an AugmentationConfig dump (train batches only, on the device).
        optimizer: `adam` or `sgd`; lr and momentum as in TrainConfig.
        preprocessing: the Normalize mode; `image_shape` is (C, H, W).
        diagnostics_every: epochs between activation/gradient diagnostics (0 = off).
    """

    def __init__(
        self,
        model: dict[str, Any],
        regularization: dict[str, Any],
        augmentation: dict[str, Any],
        image_shape: tuple[int, int, int],
        num_classes: int,
        preprocessing: str,
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        diagnostics_every: int = 1,
    ) -> None:
        super().__init__()
        # The MLflow params come from the resolved config, not from here (logger=False).
        self.save_hyperparameters(logger=False)
        self.model_cfg = ModelConfig(**model)
        self.reg_cfg = RegularizationConfig(**regularization)
        self.normalize = Normalize.empty(preprocessing, *image_shape)
        self.augment = BatchAugment(AugmentationConfig(**augmentation))
        self.net = build_network(self.model_cfg, tuple(image_shape), num_classes)
        self.totals = {stage: EpochTotals() for stage in ("train", "val")}
        self.history: list[dict[str, float]] = []  # one row per epoch, for the curves CSV
        # How many of the first validation images the per-epoch diagnostics look at (0: none);
        # they are read from the validation pass itself (ActivationProbe).
        self.diagnostics_images = 0
        self._probe: ActivationProbe | None = None
        self.automatic_optimization = False  # see the module docstring
        self._penalised = self.reg_cfg.kind != "none" and self.reg_cfg.strength > 0
        self._last_val: dict[str, float] = {}
        self._epoch_steps = 0
        self._grad_norms: dict[str, torch.Tensor] = {}

    # --- set-up -------------------------------------------------------------------------
    def load_stats(self, stats: dict[str, torch.Tensor]) -> None:
        """Copy the train-split statistics into the Normalize buffers."""
        for name, buffer in self.normalize.named_buffers():
            buffer.copy_(stats[name].to(buffer))

    def use_channels_last(self) -> None:
        """Keep the conv weights channels-last (NHWC), so convolutions and pooling run so too.

        On a CPU core the CNN's training step runs ~1.4x and its inference ~2x faster this
        way (oneDNN's NHWC kernels; NCHW max-pooling is especially slow). An MLP is unchanged.
        """
        self.net.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) for raw images (B, C, H, W) in [0, 1]."""
        return self.net(self.normalize(x))

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        # Lightning's hook for augmentation on the device; only training batches change.
        if self.trainer is None or not self.trainer.training:
            return batch
        return [(self.augment(x), y) for x, y in _as_list(batch)]

    # --- steps --------------------------------------------------------------------------
    def _shared_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.totals[stage].add(loss, logits, y)
        return loss

    def on_train_epoch_start(self) -> None:
        self._epoch_steps = 0

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One optimizer step per batch; `batch` is (x, y) or a list of them.

        The steps call the torch optimizer itself: Lightning's wrapper adds ~0.15 ms of hook
        dispatch per step on a CPU core (no precision plugin or gradient clipping is in use
        that it would apply). Its step counter is advanced here instead, so `global_step`,
        the checkpoints and the loggers count optimizer steps.
        """
        optimizer = self.optimizers(use_pl_optimizer=False)
        batches = _as_list(batch)
        step = self._epoch_steps  # a local: setting module attributes per step is slow
        for x, y in batches:
            total = self._shared_step((x, y), "train")
            if self._penalised:
                total = total + penalty(self.net, self.reg_cfg)
            if step % NAN_CHECK_EVERY == 0 and not torch.isfinite(total):
                raise TrainingError(
                    f"the loss (cross-entropy + penalty) became {total.item()} at epoch "
                    f"{self.current_epoch}, step {self.global_step + step - self._epoch_steps}: "
                    f"the training diverged; lower train.lr (now {self.hparams.lr}) or "
                    f"regularization.strength (now {self.reg_cfg.strength})"
                )
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if step == 0 and self._diagnostics_due():
                # Gradient norms of an epoch's first step: the vanishing-gradient diagnostic.
                self._grad_norms = grad_norms(self.net)  # 0-dim tensors, read at the epoch end
            optimizer.step()
            step += 1
        self._epoch_steps = step
        self.trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress.increment_by(
            len(batches)
        )

    def on_validation_epoch_start(self) -> None:
        due = self._diagnostics_due() and self.diagnostics_images > 0
        self._probe = ActivationProbe(self.net, self.diagnostics_images) if due else None

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        for pair in _as_list(batch):
            # The probe records the first diagnostics images and ignores the batches after.
            with self._probe.watch(len(pair[1])) if self._probe else contextlib.nullcontext():
                self._shared_step(pair, "val")

    # --- epoch ends ---------------------------------------------------------------------
    def _diagnostics_due(self) -> bool:
        every = self.hparams.diagnostics_every
        return every > 0 and self.current_epoch % every == 0

    def on_validation_epoch_end(self) -> None:
        values = self.totals["val"].compute()
        if not values:
            return
        self._last_val = values
        # For callbacks (early stopping, the best snapshot, the pruner): not logged from here.
        self.log_dict({"val/loss": values["loss"], "val/acc": values["acc"]}, logger=False)
        metrics = {"val/loss": values["loss"], "val/acc": values["acc"]}
        if self._probe is not None:
            metrics |= self._probe.stats()
            self._probe = None
        self._log_epoch(metrics)

    def on_train_epoch_end(self) -> None:
        train = self.totals["train"].compute()
        if not train:
            return
        if not math.isfinite(train["loss"]):
            raise TrainingError(
                f"train/loss became {train['loss']} in epoch {self.current_epoch}: the training "
                f"diverged; lower train.lr (now {self.hparams.lr}) or the penalty strength"
            )
        row = {"epoch": self.current_epoch, "train/loss": train["loss"], "train/acc": train["acc"]}
        # `epoch` as Lightning's own logging adds it; once per epoch, with the train metrics.
        metrics = {"train/loss": train["loss"], "train/acc": train["acc"],
                   "epoch": self.current_epoch}
        if self._last_val:
            row |= {"val/loss": self._last_val["loss"], "val/acc": self._last_val["acc"]}
            metrics["gap/epoch_acc"] = train["acc"] - self._last_val["acc"]
            metrics["gap/epoch_loss"] = self._last_val["loss"] - train["loss"]
        if self._grad_norms:
            names = list(self._grad_norms)
            norms = torch.stack(list(self._grad_norms.values())).tolist()  # one host sync
            metrics |= dict(zip(names, norms, strict=True))
            self._grad_norms = {}
        self._log_epoch(metrics)
        self.history.append(row)

    def _log_epoch(self, metrics: dict[str, float]) -> None:
        """Hand reduced epoch metrics to the loggers in one call, at the optimizer-step count.

        `self.log` would keep an accumulator object per key and move each to the CPU at every
        epoch end (about 1 ms per key per epoch on a CPU core, for 20-30 keys), only to log
        the values computed here; and it would log at its count of training_step calls.
        """
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.global_step)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return build_optimizer(self.parameters(), self.hparams.optimizer, self.hparams.lr,
                               self.hparams.momentum)


def _as_list(batch: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A batch (x, y) as a one-item list; a list of batches as it is."""
    return [batch] if isinstance(batch[0], torch.Tensor) else list(batch)
