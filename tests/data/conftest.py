"""Small synthetic datasets and file writers for the data tests (CPU, milliseconds).

Helpers are handed out as factory fixtures, so test modules never import this file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from support import write_digits_folder

from trainlab.config.params import Config
from trainlab.data.sources import RawDataset


def tagged_images(count: int, height: int = 4, width: int = 4) -> torch.Tensor:
    """(count, 1, H, W) uint8 whose first two pixels spell the image's index (up to 65535)."""
    images = torch.zeros(count, 1, height, width, dtype=torch.uint8)
    index = torch.arange(count)
    images[:, 0, 0, 0] = (index // 256).to(torch.uint8)
    images[:, 0, 0, 1] = (index % 256).to(torch.uint8)
    return images


def image_ids(images: torch.Tensor) -> torch.Tensor:
    """Read back the indices written by :func:`tagged_images`."""
    return images[:, 0, 0, 0].long() * 256 + images[:, 0, 0, 1].long()


def imbalanced_labels(counts: list[int]) -> torch.Tensor:
    """Labels with counts[k] images of class k, interleaved so order is not class order."""
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(counts)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(123))]


@pytest.fixture
def raw_no_test() -> RawDataset:
    """1,000 images of 3 classes in proportions 5:3:2, no own test split."""
    labels = imbalanced_labels([500, 300, 200])
    return RawDataset(tagged_images(1000), labels, None, None, ("a", "b", "c"), "synthetic")


@pytest.fixture
def raw_with_test() -> RawDataset:
    """600 train images (5:3:2) plus an own test split of 300 images (1:1:1)."""
    train_labels = imbalanced_labels([300, 180, 120])
    test_labels = imbalanced_labels([100, 100, 100])
    test_images = tagged_images(300) + 0  # same tags as train: ids only mean "index"
    return RawDataset(
        tagged_images(600), train_labels, test_images, test_labels, ("a", "b", "c"), "synthetic"
    )


@pytest.fixture
def digits_config() -> Config:
    """The whole digits dataset (1,797 images) with the default fractions."""
    return Config().replace(**{"data.dataset": "digits", "data.train_subset": None})


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file, gzipped when the name ends in .gz."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    blob = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(blob)
    else:
        path.write_bytes(blob)
    return path


def write_mnist_like(folder: Path, train: int, test: int, gz: bool, side: int = 28) -> dict:
    """The four (Fashion-)MNIST IDX files with random pixels; returns the arrays written."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, side, side), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, side, side), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(test) % 10).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(folder / (f"{stem}.gz" if gz else stem), array)
    return arrays


@pytest.fixture
def tagged() -> object:
    """Factory: tagged_images(count, height=4, width=4)."""
    return tagged_images


@pytest.fixture
def ids() -> object:
    """Function: image_ids(images) -> the indices tagged into them."""
    return image_ids


@pytest.fixture
def idx_writer() -> object:
    """Function: write_idx(path, array)."""
    return write_idx


@pytest.fixture
def mnist_writer() -> object:
    """Function: write_mnist_like(folder, train, test, gz, side=28) -> arrays written."""
    return write_mnist_like


@pytest.fixture
def digits_folder() -> object:
    """Factory: support.write_digits_folder(root, classes, per_class, sizes, mode)."""
    return write_digits_folder
