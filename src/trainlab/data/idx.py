"""Read the IDX files of (Fashion-)MNIST, gzipped or raw, without torchvision.

IDX layout: 2 zero bytes, a type byte (0x08 = unsigned byte), a byte with the number of
dimensions, one big-endian int32 per dimension, then the values in C order.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from trainlab.errors import DataError

UBYTE = 0x08


def find_idx(folder: Path, stem: str) -> Path | None:
    """The file `stem.gz` or `stem` in `folder`, gzipped preferred; None when neither exists."""
    for name in (f"{stem}.gz", stem):
        path = folder / name
        if path.is_file():
            return path
    return None


def read_idx(path: Path) -> torch.Tensor:
    """Read one IDX file of unsigned bytes into a uint8 tensor of its stored shape.

    Raises:
        DataError: the file is unreadable, not IDX, or shorter than its header says.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            blob = stream.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot read the IDX file ({err}); fetch it again") from err
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] != UBYTE:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = blob[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(blob[4:header], dtype=">i4"))
    expected = header + int(np.prod(shape))
    if len(shape) != ndim or len(blob) != expected:
        raise DataError(
            f"{path}: truncated or padded IDX file ({len(blob)} bytes, the header of shape "
            f"{shape} needs {expected}); fetch it again"
        )
    values = np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(shape)
    return torch.from_numpy(values.copy())


def read_idx_pair(folder: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 from `<prefix>-images/labels` files.

    Args:
        folder: folder holding the files, e.g. `/usr/share/datasets/fashion-mnist`.
        prefix: `train` or `t10k`.
    """
    image_path = find_idx(folder, f"{prefix}-images-idx3-ubyte")
    label_path = find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if image_path is None or label_path is None:
        raise DataError(f"{folder}: the {prefix} IDX image or label file is missing")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise DataError(
            f"{image_path}: shape {tuple(images.shape)} does not match the labels "
            f"{tuple(labels.shape)} of {label_path}; expected (N, H, W) and (N,)"
        )
    return images.unsqueeze(1), labels.long()


def has_idx_files(folder: Path) -> bool:
    """Whether `folder` holds all four (Fashion-)MNIST IDX files, gzipped or raw."""
    stems = [
        f"{p}-{k}" for p in ("train", "t10k") for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    return folder.is_dir() and all(find_idx(folder, stem) is not None for stem in stems)
