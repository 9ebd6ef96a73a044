"""Seeded, stratified train/val/test split of a raw dataset.

Every carve keeps the class proportions (sklearn's `train_test_split(stratify=...)`), so a
small subset still holds every class in the proportions of the whole dataset. The split is
planned on the labels alone (:func:`plan_split`), so an image folder can check it before
decoding a single image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from trainlab.config.schema import DataConfig
from trainlab.errors import ConfigError

if TYPE_CHECKING:  # sources imports the image folder loader, which plans splits: no cycle
    from trainlab.data.sources import RawDataset

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


@dataclass(frozen=True, eq=False)
class SplitPlan:
    """Which images make each split, as ascending int64 indices.

    `train` and `val` index the dataset's train pool; `test` indexes its own test split when
    it has one (`test_from_pool` False), else the pool.
    """

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    test_from_pool: bool


def plan_split(
    pool_labels: np.ndarray,
    test_labels: np.ndarray | None,
    cfg: DataConfig,
    seed: int,
    classes: Sequence[str] | None = None,
) -> SplitPlan:
    """Plan the split of :func:`split_dataset` from the labels alone (milliseconds).

    Args:
        pool_labels: (N,) labels of the train pool.
        test_labels: (M,) labels of the dataset's own test split, or None to carve
            `cfg.test_fraction` of the pool.
        cfg: the `data` params section.
        seed: seeds every carve; the same seed gives the same plan.
        classes: class names in label order, to name a class in an error (labels otherwise).

    Raises:
        ConfigError: a fraction cannot carve a stratified split (a class with too few
            images), or a subset is smaller than the number of classes.
    """
    names = list(classes) if classes is not None else None
    pool_index = np.arange(len(pool_labels))
    if test_labels is None:
        pool_index, test_index = _carve(
            pool_index, pool_labels, cfg.test_fraction, seed, "data.test_fraction", names
        )
        test_index, test_of = np.sort(test_index), pool_labels
    else:
        test_index, test_of = np.arange(len(test_labels)), test_labels
    train_index, val_index = _carve(
        pool_index, pool_labels, cfg.val_fraction, seed, "data.val_fraction", names
    )
    chosen = {"train": np.sort(train_index), "val": np.sort(val_index), "test": test_index}
    of = {"train": pool_labels, "val": pool_labels, "test": test_of}
    for name in SPLITS:
        size = getattr(cfg, f"{name}_subset")
        if size is not None:
            index = chosen[name]
            chosen[name] = index[_subsample(of[name][index], size, seed, name)]
    tensors = {name: torch.from_numpy(index.astype(np.int64)) for name, index in chosen.items()}
    return SplitPlan(**tensors, test_from_pool=test_labels is None)


def split_dataset(raw: RawDataset, cfg: DataConfig, seed: int) -> dict[str, Split]:
    """Split `raw` into train, val and test, stratified by class and fixed by `seed`.

    The dataset's own test split is used when it has one (subsampled to `cfg.test_subset`),
    else `cfg.test_fraction` of the train images. `cfg.val_fraction` of the remaining pool
    becomes val (subsampled to `cfg.val_subset`), and train is subsampled to `cfg.train_subset`.
    A subset is an upper bound: one at least as large as its split (or None) keeps all of it.

    Args:
        raw: the whole dataset.
        cfg: the `data` params section.
        seed: seeds every carve; the same seed gives the same splits.

    Returns:
        `{"train": Split, "val": Split, "test": Split}`, each in the dataset's original order.

    Raises:
        ConfigError: a fraction cannot carve a stratified split, or a subset is smaller than
            the number of classes.
    """
    test_labels = None if raw.test_labels is None else raw.test_labels.numpy()
    plan = plan_split(raw.train_labels.numpy(), test_labels, cfg, seed, raw.classes)
    pool = Split(raw.train_images, raw.train_labels)
    own_test = None
    if not plan.test_from_pool:  # plan_split draws test from the pool when there is no own test
        assert raw.test_images is not None and raw.test_labels is not None
        own_test = Split(raw.test_images, raw.test_labels)
    return {
        "train": pool.subset(plan.train),
        "val": pool.subset(plan.val),
        "test": (pool if own_test is None else own_test).subset(plan.test),
    }


def describe_sizes(cfg: DataConfig, splits: dict[str, Split]) -> str:
    """Each split's size, and for a subset larger than its split that all of it was used.

    For example `train 1293 (all; data.train_subset 10000) / val 144 / test 360`.
    """
    parts = []
    for name in SPLITS:
        size, wanted = len(splits[name]), getattr(cfg, f"{name}_subset")
        capped = wanted is not None and wanted > size
        parts.append(f"{name} {size}" + (f" (all; data.{name}_subset {wanted})" if capped else ""))
    return " / ".join(parts)


def _carve(
    index: np.ndarray,
    labels: np.ndarray,
    fraction: float,
    seed: int,
    key: str,
    classes: list[str] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split `index` into (rest, carved) with `fraction` carved out, stratified by label."""
    try:
        rest, carved = train_test_split(
            index, test_size=fraction, stratify=labels[index], random_state=seed
        )
    except ValueError as err:
        present, counts = np.unique(labels[index], return_counts=True)
        smallest = int(present[np.argmin(counts)])
        name = repr(classes[smallest]) if classes is not None else str(smallest)
        raise ConfigError(
            f"{key} = {fraction} cannot carve a stratified split out of {len(index)} images "
            f"of {len(present)} classes, the smallest (class {name}) with {counts.min()} "
            f"({err}); use a fraction that leaves at least one image of every class on both "
            "sides, or add images to the small classes"
        ) from None
    return rest, carved


def _subsample(labels: np.ndarray, size: int, seed: int, name: str) -> np.ndarray:
    """Positions of a stratified sample of at most `size` among `labels`, ascending.

    A `size` at least `len(labels)` keeps every position: subsets are upper bounds, so one
    params.yaml fits datasets of any size.
    """
    key = f"data.{name}_subset"
    classes = len(np.unique(labels))
    if size >= len(labels):
        return np.arange(len(labels))
    if size < classes:
        raise ConfigError(
            f"{key} = {size} is too small to hold each of the {classes} classes once; "
            f"use at least {classes}"
        )
    index = np.arange(len(labels))
    dropped = len(labels) - size
    if dropped < classes:
        # sklearn needs one dropped image per class; dropping fewer than that cannot shift
        # the proportions by more than one image per class, so drop them at random.
        drop = np.random.default_rng(seed).choice(index, size=dropped, replace=False)
        return np.setdiff1d(index, drop)  # sorted
    try:
        chosen, _ = train_test_split(index, train_size=size, stratify=labels, random_state=seed)
    except ValueError as err:  # e.g. a class with a single image cannot be stratified
        raise ConfigError(f"{key} = {size}: cannot draw a stratified sample ({err})") from None
    return np.sort(chosen)
