"""A data loader that keeps a whole split on the device (airbench's CifarLoader pattern).

The images are converted once to float32 [0, 1] on the device; each batch is a slice (in
order) or a gather through a per-epoch `randperm` (shuffled), so no worker processes, no
host-to-device copy and no host synchronisation happen per step. With `group`, the loader
yields lists of consecutive batches, one Lightning `training_step` call each.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch

from trainlab.data.split import Split

Batch = tuple[torch.Tensor, torch.Tensor]  # images (B, C, H, W) float32, labels (B,) int64


class DeviceLoader:
    """Iterate `(x, y)` batches of a split held on `device`.

    Args:
        split: uint8 images (N, C, H, W) and int64 labels (N,).
        batch_size: images per batch.
        device: where the images, labels and batches live.
        shuffle: a new permutation every epoch, seeded by `seed + epoch`; else in order.
        drop_last: skip the last batch when it is smaller than `batch_size`.
        seed: base seed of the shuffling; the same seed gives the same batches.
        group: None yields batches; k yields lists of up to k consecutive batches (the same
            batches, gathered once per list). Lightning's per-call machinery (hooks, closures,
            loop bookkeeping) costs about a millisecond on a CPU core, as much as a small
            network's whole step: a module that steps once per batch of a list pays it once
            per k steps.

    Yields x (B, C, H, W) float32 in [0, 1] and y (B,) int64, both on `device` (or lists of
    such pairs with `group`).
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        device: torch.device | str,
        shuffle: bool,
        drop_last: bool = False,
        seed: int = 0,
        group: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if group is not None and group < 1:
            raise ValueError(f"group must be None or >= 1, got {group}")
        self.device = torch.device(device)
        # uint8 crosses to the device first (4x fewer bytes), then becomes float there.
        self.images = split.images.to(self.device).float().div_(255.0)
        self.labels = split.labels.to(self.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.group = group
        self.epoch = 0  # epochs started so far; advances on every iter()
        self.indices: torch.Tensor | None = None  # a `sample`'s images, in order

    def sample(self, indices: torch.Tensor) -> DeviceLoader:
        """A loader, in order and ungrouped, over the images at `indices` of this one.

        It shares this loader's device tensors: each of its batches gathers its own images,
        so a sample costs no copy of the split (converting a 5,000-image sample anew took
        as long as a tenth of a small MLP's epoch on a CPU core, mostly fresh memory).
        """
        loader = copy.copy(self)
        loader.indices = indices.to(self.device)
        loader.shuffle, loader.drop_last, loader.group, loader.epoch = False, False, None, 0
        return loader

    @property
    def num_samples(self) -> int:
        return len(self.labels) if self.indices is None else len(self.indices)

    @property
    def num_batches(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)  # ceil division

    def __len__(self) -> int:
        if self.group is None:
            return self.num_batches
        return -(-self.num_batches // self.group)

    # Any: a Batch, or a list of them with `group` (a runtime choice the type cannot follow).
    def __iter__(self) -> Iterator[Any]:
        order = self.indices
        if self.shuffle:
            # Drawn on the CPU so the same seed gives the same batches on every device;
            # one small copy per epoch, not per step.
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            permutation = torch.randperm(self.num_samples, generator=generator).to(self.device)
            order = permutation if order is None else order[permutation]
        self.epoch += 1  # here, not in the generator body: iter() itself starts an epoch
        return self._batches(order)

    def _batches(self, order: torch.Tensor | None) -> Iterator[Any]:
        served = self.num_batches * self.batch_size if self.drop_last else self.num_samples
        step = self.batch_size * (self.group or 1)
        for start in range(0, served, step):
            stop = min(start + step, served)
            if order is None:
                # Views of the stored split, no copy: do not modify them in place.
                images, labels = self.images[start:stop], self.labels[start:stop]
            else:
                index = order[start:stop]  # one gather for the whole group
                images, labels = self.images[index], self.labels[index]
            if self.group is None:
                yield images, labels
            else:
                yield list(zip(images.split(self.batch_size), labels.split(self.batch_size),
                               strict=True))
