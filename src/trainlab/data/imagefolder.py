"""A folder of class sub-folders -> one uint8 tensor (N, C, H, W) with labels.

torchvision's ImageFolder finds the classes and files; the pixels are decoded here so a
broken file is named and every image gets the same colour mode and size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from trainlab.errors import DataError

# Modes PIL decodes to one channel; a folder with only these becomes 1-channel "L".
GRAYSCALE_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})
DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError)


def load_image_folder(
    root: Path, image_size: int | None
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Decode every image under `root/<class>/` into one tensor.

    Args:
        root: folder with one sub-folder per class.
        image_size: resize every image to this square side (bilinear); None keeps the size,
            which must then be the same for all images.

    Returns:
        Images (N, C, H, W) uint8 with C = 1 when every file is grayscale, else 3 (RGB);
        labels (N,) int64; class names in label order (sorted folder names).

    Raises:
        DataError: no folder, no images, a single class, an unreadable file or mixed sizes.
    """
    samples, classes = _scan(root)
    modes = [_peek_mode(path) for path, _ in samples]
    mode = "L" if all(m in GRAYSCALE_MODES for m in modes) else "RGB"
    arrays = [_decode(path, mode, image_size) for path, _ in samples]
    first_path, first = samples[0][0], arrays[0]
    for (path, _), array in zip(samples, arrays, strict=True):
        if array.shape != first.shape:
            raise DataError(
                f"{path}: size {array.shape[1]}x{array.shape[0]} differs from "
                f"{first.shape[1]}x{first.shape[0]} of {first_path}; set data.image_size "
                "to resize every image to one square size"
            )
    stacked = torch.from_numpy(np.stack(arrays))  # (N, H, W) for L or (N, H, W, 3) for RGB
    images = stacked.unsqueeze(1) if mode == "L" else stacked.permute(0, 3, 1, 2)
    labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
    return images.contiguous(), labels, classes


def _scan(root: Path) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
    hint = "data.root must be a folder with one sub-folder of images per class (root/cat/1.png)"
    if not root.is_dir():
        raise DataError(f"imagefolder: {root} is not a folder; {hint}")
    from torchvision.datasets import ImageFolder  # imported here: torchvision takes seconds

    try:
        folder = ImageFolder(str(root))
    except FileNotFoundError as err:
        raise DataError(f"imagefolder: no images under {root} ({err}); {hint}") from err
    if len(folder.classes) < 2:
        raise DataError(
            f"imagefolder: {root} has {len(folder.classes)} class folder(s) "
            f"{folder.classes}; a classifier needs at least 2; {hint}"
        )
    return list(folder.samples), tuple(folder.classes)


def _peek_mode(path: str) -> str:
    # Image.open reads only the header: cheap, and it already rejects non-images.
    try:
        with Image.open(path) as image:
            return image.mode
    except DECODE_ERRORS as err:
        raise DataError(
            f"imagefolder: cannot read image {path} ({err}); remove or replace it"
        ) from err


def _decode(path: str, mode: str, image_size: int | None) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image = image.convert(mode)
            if image_size is not None:
                image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except DECODE_ERRORS as err:
        raise DataError(
            f"imagefolder: cannot read image {path} ({err}); remove or replace it"
        ) from err
