"""Seeded, stratified train/val/test split of a raw dataset.

Every carve keeps the class proportions (sklearn's `train_test_split(stratify=...)`), so a
small subset still holds every class in the proportions of the whole dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from trainlab.config import DataConfig
from trainlab.data.sources import RawDataset
from trainlab.errors import ConfigError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """Images (N, C, H, W) uint8 and labels (N,) int64 of one split."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(
                f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must be int64 ({len(self.images)},), got {self.labels.dtype} "
                f"{tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: torch.Tensor) -> Split:
        """The images and labels at `indices` (a 1-D int64 tensor), in that order."""
        return Split(self.images[indices].contiguous(), self.labels[indices].contiguous())


def split_dataset(raw: RawDataset, cfg: DataConfig, seed: int) -> dict[str, Split]:
    """Split `raw` into train, val and test, stratified by class and fixed by `seed`.

    The dataset's own test split is used when it has one (subsampled to `cfg.test_subset`),
    else `cfg.test_fraction` of the train images. `cfg.val_fraction` of the remaining pool
    becomes val (subsampled to `cfg.val_subset`), and train is subsampled to `cfg.train_subset`
    (None keeps all).

    Args:
        raw: the whole dataset.
        cfg: the `data` params section.
        seed: seeds every carve; the same seed gives the same splits.

    Returns:
        `{"train": Split, "val": Split, "test": Split}`, each in the dataset's original order.

    Raises:
        ConfigError: a subset or fraction asks for more images than exist, or for fewer than
            one per class.
    """
    pool = Split(raw.train_images, raw.train_labels)
    pool_index = np.arange(len(pool))
    labels = pool.labels.numpy()
    if raw.test_images is not None:
        test = Split(raw.test_images, raw.test_labels)
    else:
        pool_index, test_index = _carve(
            pool_index, labels, cfg.test_fraction, seed, "data.test_fraction"
        )
        test = pool.subset(_sorted(test_index))
    if cfg.test_subset is not None:
        test = test.subset(_subsample(test.labels.numpy(), cfg.test_subset, seed, "test"))
    train_index, val_index = _carve(pool_index, labels, cfg.val_fraction, seed, "data.val_fraction")
    train = pool.subset(_sorted(train_index))
    if cfg.train_subset is not None:
        train = train.subset(_subsample(train.labels.numpy(), cfg.train_subset, seed, "train"))
    val = pool.subset(_sorted(val_index))
    if cfg.val_subset is not None:
        val = val.subset(_subsample(val.labels.numpy(), cfg.val_subset, seed, "val"))
    return {"train": train, "val": val, "test": test}


def _carve(
    index: np.ndarray, labels: np.ndarray, fraction: float, seed: int, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split `index` into (rest, carved) with `fraction` carved out, stratified by label."""
    try:
        rest, carved = train_test_split(
            index, test_size=fraction, stratify=labels[index], random_state=seed
        )
    except ValueError as err:
        raise ConfigError(
            f"{key} = {fraction} cannot carve a stratified split out of {len(index)} images "
            f"of {len(np.unique(labels[index]))} classes ({err}); use a fraction that leaves "
            "at least one image of every class on both sides"
        ) from None
    return rest, carved


def _subsample(labels: np.ndarray, size: int, seed: int, name: str) -> torch.Tensor:
    """Indices of a stratified sample of `size` among `labels`, in ascending order."""
    key = f"data.{name}_subset"
    classes = len(np.unique(labels))
    if size > len(labels):
        raise ConfigError(
            f"{key} = {size} is larger than the {len(labels)} {name} images available; "
            f"use at most {len(labels)} or null for all of them"
        )
    if size < classes:
        raise ConfigError(
            f"{key} = {size} is too small to hold each of the {classes} classes once; "
            f"use at least {classes}"
        )
    if size == len(labels):
        return torch.arange(len(labels))
    index = np.arange(len(labels))
    dropped = len(labels) - size
    if dropped < classes:
        # sklearn needs one dropped image per class; dropping fewer than that cannot shift
        # the proportions by more than one image per class, so drop them at random.
        drop = np.random.default_rng(seed).choice(index, size=dropped, replace=False)
        return _sorted(np.setdiff1d(index, drop))
    try:
        chosen, _ = train_test_split(index, train_size=size, stratify=labels, random_state=seed)
    except ValueError as err:  # e.g. a class with a single image cannot be stratified
        raise ConfigError(f"{key} = {size}: cannot draw a stratified sample ({err})") from None
    return _sorted(chosen)


def _sorted(index: np.ndarray) -> torch.Tensor:
    # Keep the original order inside a split: membership alone then defines the split.
    return torch.from_numpy(np.sort(index).astype(np.int64))
