"""Synthetic images and dataset files for the data tests (importable as `synthetic`:
pytest's `pythonpath`); the image-folder writer is `support.write_digits_folder`."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch


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
