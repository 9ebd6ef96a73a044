"""Which test (and validation) images a model got right: one bool per image of a prepared split.

Paired comparisons (:mod:`trainlab.stats.paired`) need two models' results on the SAME images,
in the same order: every training saves its best snapshot's correctness beside its checkpoint
(`test_correct.npy`, ~10 KB for 10,000 images) and as an MLflow artifact, so the search, the
report and the leaderboard compare recipes image by image without re-scoring a checkpoint.

The best snapshot's validation correctness is saved the same way (`val_correct.npy`): racing
compares cells on the validation images (it decides what to train, so it never looks at test).

Ground floor: numpy and :mod:`trainlab.io` only.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from trainlab.errors import DataError
from trainlab.io import write_bytes

FILE = "test_correct.npy"  # beside a training's best.ckpt
ARTIFACT = f"predictions/{FILE}"  # in its MLflow run
VAL_FILE = "val_correct.npy"  # the same snapshot on the validation split
VAL_ARTIFACT = f"predictions/{VAL_FILE}"


def save_correct(path: str | Path, correct: np.ndarray) -> Path:
    """Write a 1-D bool array atomically (numpy's .npy format, no pickle)."""
    array = np.asarray(correct)
    if array.ndim != 1 or array.dtype != np.bool_:
        raise ValueError(f"correctness must be a 1-D bool array, got {array.dtype} {array.shape}")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return write_bytes(path, buffer.getvalue())


def load_correct(path: str | Path | None, n_images: int | None = None,
                 split: str = "test") -> np.ndarray:
    """The bool array saved by :func:`save_correct` (`split` names it in the errors).

    Raises:
        DataError: missing (`path` None: none was recorded), unreadable, not a 1-D bool array,
            or not `n_images` long.
    """
    if path is None:
        raise DataError(f"no {split} correctness was recorded; rerun the training that writes it")
    try:
        array = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read the {split} correctness {str(path)!r} ({err}); rerun the "
                        "training that wrote it") from None
    if array.ndim != 1 or array.dtype != np.bool_:
        raise DataError(f"{str(path)!r} holds {array.dtype} {array.shape}, not one bool per "
                        f"{split} image; rerun the training that wrote it")
    if n_images is not None and array.size != n_images:
        raise DataError(f"{str(path)!r} scores {array.size} {split} images, not {n_images}: it "
                        "was trained on other prepared data; rerun the search")
    return array
