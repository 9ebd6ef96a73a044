"""A data loader that keeps a whole split on the device (airbench's CifarLoader pattern).

The images are converted once to float32 [0, 1] on the device; each batch is a slice (in
order) or a gather through a per-epoch `randperm` (shuffled), so no worker processes, no
host-to-device copy and no host synchronisation happen per step.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from trainlab.data.split import Split


class DeviceLoader:
    """Iterate `(x, y)` batches of a split held on `device`.

    Args:
        split: uint8 images (N, C, H, W) and int64 labels (N,).
        batch_size: images per batch.
        device: where the images, labels and batches live.
        shuffle: a new permutation every epoch, seeded by `seed + epoch`; else in order.
        drop_last: skip the last batch when it is smaller than `batch_size`.
        seed: base seed of the shuffling; the same seed gives the same batches.

    Yields x (B, C, H, W) float32 in [0, 1] and y (B,) int64, both on `device`.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        device: torch.device | str,
        shuffle: bool,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device)
        # uint8 crosses to the device first (4x fewer bytes), then becomes float there.
        self.images = split.images.to(self.device).float().div_(255.0)
        self.labels = split.labels.to(self.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0  # epochs started so far; advances on every iter()

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)  # ceil division

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = None
        if self.shuffle:
            # Drawn on the CPU so the same seed gives the same batches on every device;
            # one small copy per epoch, not per step.
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_samples, generator=generator).to(self.device)
        self.epoch += 1  # here, not in the generator body: iter() itself starts an epoch
        return self._batches(order)

    def _batches(self, order: torch.Tensor | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for batch in range(len(self)):
            start = batch * self.batch_size
            stop = min(start + self.batch_size, self.num_samples)
            if order is None:
                # Views of the stored split, no copy: do not modify them in place.
                yield self.images[start:stop], self.labels[start:stop]
            else:
                index = order[start:stop]
                yield self.images[index], self.labels[index]
