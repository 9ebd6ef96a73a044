"""Lightning DataModule over prepared data, serving on-device loaders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch

from trainlab.data.loader import DeviceLoader
from trainlab.data.prepared import PreparedData
from trainlab.data.split import Split


class RecipeDataModule(pl.LightningDataModule):
    """Train/val/test loaders that hold their split on `device` for the whole run.

    Args:
        data: the prepared splits.
        batch_size: images per batch for every loader.
        device: where the loaders keep images and yield batches (the trainer's device).
        seed: seeds the train shuffling and the sample of :meth:`gap_dataloader`.
    """

    def __init__(
        self, data: PreparedData, batch_size: int, device: torch.device | str, seed: int
    ) -> None:
        super().__init__()
        self.data = data
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.seed = seed
        self._loaders: dict[str, DeviceLoader] = {}  # built once: each holds its split on device

    def train_dataloader(self) -> DeviceLoader:
        # Dropping a ragged last batch keeps batch statistics even, unless it is the only one.
        drop_last = len(self.data.train) >= self.batch_size
        return self._loader("train", lambda: self._make(self.data.train, True, drop_last))

    def val_dataloader(self) -> DeviceLoader:
        return self._loader("val", lambda: self._make(self.data.val, False, False))

    def test_dataloader(self) -> DeviceLoader:
        return self._loader("test", lambda: self._make(self.data.test, False, False))

    def gap_dataloader(self, max_images: int) -> DeviceLoader:
        """Up to `max_images` train images, a fixed seeded sample in order, not augmented.

        Used to measure the final train accuracy for the train-vs-test gap.
        """
        if max_images < 1:
            raise ValueError(f"max_images must be >= 1, got {max_images}")

        def build() -> DeviceLoader:
            generator = torch.Generator().manual_seed(self.seed)
            order = torch.randperm(len(self.data.train), generator=generator)
            return self.train_dataloader().sample(order[:max_images].sort().values)

        return self._loader(f"gap{max_images}", build)

    def state_dict(self) -> dict[str, Any]:
        # The train epoch counter drives the shuffling: saving it makes a resume repeatable.
        train = self._loaders.get("train")
        return {"train_epoch": train.epoch if train is not None else 0}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.train_dataloader().epoch = int(state_dict.get("train_epoch", 0))

    def _loader(self, key: str, build: Callable[[], DeviceLoader]) -> DeviceLoader:
        if key not in self._loaders:
            self._loaders[key] = build()
        return self._loaders[key]

    def _make(self, split: Split, shuffle: bool, drop_last: bool) -> DeviceLoader:
        return DeviceLoader(split, self.batch_size, self.device, shuffle, drop_last, self.seed)
