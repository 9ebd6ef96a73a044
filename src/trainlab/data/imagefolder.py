"""A folder of class sub-folders -> one uint8 tensor (N, C, H, W) with labels.

Everything that can be checked without decoding runs first, so a mistake costs seconds:
the folder layout (folderscan), every header (readable, mode and size, read in parallel), the
caller's check of the labels (the split plan). Only then is every image decoded, on every core.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainlab.data.decode import GRAYSCALE_MODES, decode, image_pool, peek
from trainlab.data.folderscan import FolderListing, quote, scan_folder
from trainlab.errors import DataError

# The prepared data is held about three times at the peak (decoded, split copies, the
# torch.save buffer): refuse a folder whose pixels would take more than this share of memory.
MEMORY_SHARE = 0.3


@dataclass(frozen=True, eq=False)
class FolderImages:
    """An image folder decoded.

    Attributes:
        images: (N, C, H, W) uint8; C = 1 when every image is gray, else 3 (RGB).
        labels: (N,) int64.
        classes: class names in label order (sorted folder names).
        notes: lines for the user (files skipped, colour conversion).
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    notes: tuple[str, ...]


def load_image_folder(
    root: Path,
    image_size: int | None,
    check_labels: Callable[[np.ndarray, tuple[str, ...]], object] | None = None,
    workers: int | None = None,
    pool: str | None = None,
) -> FolderImages:
    """Decode every image under `root/<class>/` into one tensor.

    Args:
        root: folder with one sub-folder per class (see folderscan for what is read).
        image_size: resize every image to this square side (bilinear); None keeps the size,
            which must then be the same for all images.
        check_labels: called with (labels, classes) after the headers were read and before
            any image is decoded, e.g. to plan the split; it raises to stop early.
        workers: processes decoding in parallel; None = every usable core.
        pool: "process" or "thread"; None = the platform's default (decode.default_pool:
            forked processes on Linux, else this process alone).

    Raises:
        DataError: no folder, fewer than two classes, an empty class, unreadable images,
            mixed sizes without `image_size`, or more pixels than memory holds.
    """
    listing = scan_folder(root)
    with image_pool(len(listing.paths), workers, pool) as run:
        headers = run(peek, listing.paths)
        _raise_unreadable(listing, headers)  # first: removing a broken file changes the counts
        _check_sizes(listing, headers, image_size)
        _check_memory(listing, headers, image_size)
        if check_labels is not None:
            check_labels(listing.labels, listing.classes)
        arrays = run(decode, listing.paths, image_size)
    _raise_unreadable(listing, arrays)  # a header can be fine and the pixel data cut short
    images, colour_note = _stack(arrays, headers)
    notes = tuple(note for note in (listing.note(), colour_note) if note)
    return FolderImages(images, torch.from_numpy(listing.labels), listing.classes, notes)


def _raise_unreadable(listing: FolderListing, results: list[object]) -> None:
    bad = [f"{path} ({result})" for path, result in zip(listing.paths, results, strict=True)
           if isinstance(result, str)]
    if bad:
        raise DataError(
            f"imagefolder: cannot read {len(bad)} image(s): {quote(bad)}; remove or replace them"
        )


def _check_sizes(
    listing: FolderListing, headers: list[tuple[str, int, int]], image_size: int | None
) -> None:
    if image_size is not None:
        return
    sizes = Counter((width, height) for _, width, height in headers)
    if len(sizes) == 1:
        return
    example: dict[tuple[int, int], str] = {}
    for path, (_, width, height) in zip(listing.paths, headers, strict=True):
        example.setdefault((width, height), os.path.relpath(path, listing.root))
    found = [f"{w}x{h} ({count} image(s), e.g. {example[w, h]})"
             for (w, h), count in sizes.most_common()]
    (width, height), _ = sizes.most_common(1)[0]
    raise DataError(
        f"imagefolder: the images under {listing.root} differ in size (width x height): "
        f"{quote(found)}; set data.image_size to resize every image to one square side, "
        f"e.g. --set data.image_size={max(width, height)}"
    )


def _check_memory(
    listing: FolderListing, headers: list[tuple[str, int, int]], image_size: int | None
) -> None:
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: nothing to compare
        return
    channels = 1 if all(mode in GRAYSCALE_MODES for mode, _, _ in headers) else 3
    pixels = sum(
        image_size * image_size if image_size else width * height for _, width, height in headers
    )
    need = pixels * channels
    if need > MEMORY_SHARE * memory:
        raise DataError(
            f"imagefolder: the {len(headers)} images under {listing.root} would take "
            f"{need / 2**30:.1f} GiB as uint8 pixels, more than {MEMORY_SHARE:.0%} of this "
            f"machine's {memory / 2**30:.0f} GiB; set data.image_size to a smaller side "
            "(e.g. --set data.image_size=64)"
        )


def _stack(
    arrays: list[np.ndarray], headers: list[tuple[str, int, int]]
) -> tuple[torch.Tensor, str | None]:
    """(N, C, H, W) uint8 from (H, W) gray and (H, W, 3) colour arrays; a note on what the
    channel count came from when the files alone would not tell."""
    colour = sum(array.ndim == 3 for array in arrays)
    channels = 3 if colour else 1
    height, width = arrays[0].shape[:2]
    out = np.empty((len(arrays), channels, height, width), dtype=np.uint8)
    for i, array in enumerate(arrays):
        # A gray (H, W) array broadcasts into all three channels of a colour stack.
        out[i] = array.transpose(2, 0, 1) if array.ndim == 3 else array
    note = None
    if 0 < colour < len(arrays):
        note = (
            f"imagefolder: {colour} colour and {len(arrays) - colour} gray images: every "
            "image is stored as RGB (3 channels; a gray image repeats its channel)"
        )
    elif not colour and any(mode not in GRAYSCALE_MODES for mode, _, _ in headers):
        note = (
            "imagefolder: every image is gray (colour files with equal R, G and B "
            "included): stored as 1 channel"
        )
    return torch.from_numpy(out), note
