"""The LightningModule of one transfer cell, its on-device batches, and frozen features.

A cell trains ``head(top(frozen(x)))``: ``frozen`` (input adaptor + bottom blocks) never
trains and stays in eval mode (its BatchNorm keeps the pretrained statistics), ``top`` is
the unfrozen part of the backbone at ``lr * backbone_lr_factor``, ``head`` is a new linear
layer at ``lr``. When the inputs are features computed once by :func:`frozen_features`,
``frozen`` is empty: the linear probe trains the head alone on cached features. The step
and the epoch metrics are the recipe's (:class:`trainlab.models.classifier.ClassifierModule`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

from trainlab.models.classifier import ClassifierModule
from trainlab.models.optim import build_optimizer

# The frozen part of a cell is in eval mode on purpose (pretrained BatchNorm statistics).
warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode at the start of training.*")

# Images per forward pass when only predicting. Small on purpose: on a CPU, batches of 128+
# 64x64 images push EfficientNet's early activations out of the caches (2x slower per image).
FEATURE_BATCH = 64


class Batches:
    """Batches of a tensor held on the device; uint8 images become float [0, 1] per batch.

    Args:
        inputs: uint8 images (N, C, H, W) or float features (N, ...), on the device.
        labels: int64 (N,), on the same device.
        batch_size: rows per batch.
        shuffle: a seeded permutation per epoch (`seed + epoch`); else in order, once.
        min_steps: shuffled epochs have at least this many batches: a subset smaller than
            `min_steps * batch_size` is cycled (fresh permutations), so a 100-image target set
            still gets enough optimizer steps per epoch.
    """

    def __init__(
        self,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        min_steps: int = 1,
    ) -> None:
        self.inputs, self.labels = inputs, labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.min_steps = min_steps if shuffle else 1
        self.epoch = 0

    def __len__(self) -> int:
        return max(-(-len(self.labels) // self.batch_size), self.min_steps)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.labels)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            rounds = -(-len(self) * self.batch_size // count)  # permutations to fill the epoch
            order = torch.cat([torch.randperm(count, generator=generator) for _ in range(rounds)])
            order = order[: len(self) * self.batch_size].to(self.labels.device)
        else:
            order = None
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order: torch.Tensor | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for step in range(len(self)):
            rows = slice(step * self.batch_size, (step + 1) * self.batch_size)
            index = order[rows] if order is not None else rows
            x = self.inputs[index]
            yield (x.float().div_(255.0) if x.dtype == torch.uint8 else x), self.labels[index]


@torch.no_grad()  # not inference_mode: the features must be usable by autograd later
def frozen_features(
    frozen: nn.Module, inputs: torch.Tensor, device: torch.device, batch_size: int = FEATURE_BATCH
) -> torch.Tensor:
    """``frozen(x)`` in eval mode, as float32 (N, ...) on `device`, computed once.

    Args:
        frozen: the part of a backbone that does not train.
        inputs: uint8 images (N, C, H, W), taken as [0, 1], or float features of a lower part.
    """
    was_training = frozen.training
    frozen.eval().to(device)
    outputs = []
    for chunk in inputs.split(batch_size):
        chunk = chunk.to(device)
        outputs.append(frozen(chunk.float().div_(255.0) if chunk.dtype == torch.uint8 else chunk))
    frozen.train(was_training)
    return torch.cat(outputs).float()


class TransferModule(ClassifierModule):
    """One transfer cell: frozen part (eval), trainable top of the backbone, new linear head.

    Args:
        head: the new classifier, features (B, F) -> logits (B, C).
        top: the unfrozen backbone blocks (an empty nn.Sequential for the linear probe).
        frozen: the part never trained, run without gradients in eval mode; None when the
            inputs already are its output.
        lr: learning rate of the head (Adam).
        backbone_lr: learning rate of `top` (finetune: lr * backbone_lr_factor; scratch: lr).
    """

    def __init__(
        self,
        head: nn.Linear,
        top: nn.Module | None = None,
        frozen: nn.Module | None = None,
        lr: float = 1e-3,
        backbone_lr: float = 1e-4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["head", "top", "frozen"], logger=False)
        self.head = head
        self.top = top if top is not None else nn.Sequential()
        self.frozen = frozen if frozen is not None else nn.Sequential()
        # Lightning keeps each submodule's mode as it finds it at fit start: eval() here, and
        # again in train(), keeps the frozen BatchNorm on its pretrained running statistics.
        self.frozen.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> TransferModule:
        # Whoever switches the whole module to train mode, the frozen part stays in eval.
        super().train(mode)
        self.frozen.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            x = self.frozen(x)
        return self.head(self.top(x))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups = [{"params": list(self.head.parameters()), "lr": self.hparams["lr"]}]
        top = [p for p in self.top.parameters() if p.requires_grad]
        if top:
            groups.append({"params": top, "lr": self.hparams["backbone_lr"]})
        return build_optimizer(groups, "adam", self.hparams["lr"])


class CellData(pl.LightningDataModule):
    """The train and val batches of one cell, as a DataModule for Lightning's `fit`."""

    def __init__(self, train: Batches, val: Batches) -> None:
        super().__init__()
        self.train, self.val = train, val

    def train_dataloader(self) -> Batches:
        return self.train

    def val_dataloader(self) -> Batches:
        return self.val
