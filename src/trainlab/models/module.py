"""The LightningModule of one recipe: preprocessing + network + penalty + augmentation.

Metrics are accumulated on the device during an epoch and logged once per epoch
(`train/loss`, `train/acc`, `val/loss`, `val/acc`, the per-epoch gap: the shared step of
:class:`~trainlab.models.classifier.ClassifierModule`; and the diagnostics), so no step
waits on the host. The preprocessing statistics are buffers of the module, so a
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
from typing import Any, cast

import torch

from trainlab.config.schema import AugmentationConfig, ModelConfig, RegularizationConfig
from trainlab.data.augment import BatchAugment
from trainlab.data.preprocessing import Normalize
from trainlab.errors import TrainingError
from trainlab.models.classifier import ClassifierModule
from trainlab.models.diagnostics import ActivationProbe, grad_norms
from trainlab.models.networks import build_network
from trainlab.models.optim import build_optimizer
from trainlab.models.penalties import penalty

NAN_CHECK_EVERY = 25  # steps between finiteness checks of the loss (each costs one host sync)


class RecipeModule(ClassifierModule):
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
        self.net = build_network(self.model_cfg, image_shape, num_classes)
        # How many of the first validation images the per-epoch diagnostics look at (0: none);
        # they are read from the validation pass itself (ActivationProbe).
        self.diagnostics_images = 0
        self._probe: ActivationProbe | None = None
        self.automatic_optimization = False  # see the module docstring
        self._penalised = self.reg_cfg.kind != "none" and self.reg_cfg.strength > 0
        self._epoch_steps = 0
        self._grad_norms: dict[str, torch.Tensor] = {}

    # --- set-up -------------------------------------------------------------------------
    def load_stats(self, stats: dict[str, torch.Tensor]) -> None:
        """Copy the train-split statistics into the Normalize buffers."""
        for name, buffer in self.normalize.named_buffers():
            buffer.copy_(stats[name].to(buffer))

    def use_channels_last(self, device: torch.device | None = None) -> None:
        """Keep the conv weights channels-last (NHWC), so convolutions and pooling run so too;
        with `device`, only when it is a CPU (the one place that decides it, for training and
        prediction alike).

        On a CPU core the CNN's training step runs ~1.4x and its inference ~2x faster this
        way (oneDNN's NHWC kernels; NCHW max-pooling is especially slow). An MLP is unchanged.
        """
        if device is None or device.type == "cpu":
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
    def on_train_epoch_start(self) -> None:
        self._epoch_steps = 0

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One optimizer step per batch; `batch` is (x, y) or a list of them.

        The steps call the torch optimizer itself: Lightning's wrapper adds ~0.15 ms of hook
        dispatch per step on a CPU core (no precision plugin or gradient clipping is in use
        that it would apply). Its step counter is advanced here instead, so `global_step`,
        the checkpoints and the loggers count optimizer steps.
        """
        # configure_optimizers returns one optimizer, never a list of them
        optimizer = cast(torch.optim.Optimizer, self.optimizers(use_pl_optimizer=False))
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
                    f"the training diverged; lower train.lr (now {self.hparams['lr']}) or "
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
        every = self.hparams["diagnostics_every"]
        return every > 0 and self.current_epoch % every == 0

    def _epoch_extras(self, stage: str, values: dict[str, float]) -> dict[str, float]:
        """The diagnostics logged with the epoch's metrics; a non-finite train loss stops."""
        if stage == "val":
            if self._probe is None:
                return {}
            stats, self._probe = self._probe.stats(), None
            return stats
        if not math.isfinite(values["loss"]):
            raise TrainingError(
                f"train/loss became {values['loss']} in epoch {self.current_epoch}: the training "
                f"diverged; lower train.lr (now {self.hparams['lr']}) or the penalty strength"
            )
        if not self._grad_norms:
            return {}
        names = list(self._grad_norms)
        norms = torch.stack(list(self._grad_norms.values())).tolist()  # one host sync
        self._grad_norms = {}
        return dict(zip(names, norms, strict=True))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return build_optimizer(self.parameters(), self.hparams["optimizer"], self.hparams["lr"],
                               self.hparams["momentum"])


def _as_list(batch: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A batch (x, y) as a one-item list; a list of batches as it is."""
    return [batch] if isinstance(batch[0], torch.Tensor) else list(batch)
