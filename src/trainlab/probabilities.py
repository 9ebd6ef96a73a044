"""Test-split predictions of several models, in one file: what the leaderboard scores.

The ensemble stage writes its combinations' probabilities here (the best single member, the
mean, greedy selection; the vote as classes), so the leaderboard scores every row on the
same images, in the same order, without loading the checkpoints again. numpy's .npz format,
read without pickle; written atomically.

Ground floor: numpy and :mod:`trainlab.io` only.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainlab.errors import DataError
from trainlab.io import write_bytes

LABELS = "labels"  # the true class per test image; every other array is one model's


@dataclass(frozen=True)
class TestPredictions:
    """Per model, its (N, C) probabilities or (N,) predicted classes, with the N labels."""

    labels: np.ndarray
    models: dict[str, np.ndarray]

    def predicted(self, name: str) -> np.ndarray:
        """The classes model `name` predicts, (N,)."""
        values = self.models[name]
        return values.argmax(axis=1) if values.ndim == 2 else values

    def correct(self, name: str) -> np.ndarray:
        """Which test images model `name` gets right, (N,) bool."""
        return self.predicted(name) == self.labels

    def probabilities(self, name: str) -> np.ndarray | None:
        """(N, C) probabilities, or None for a model that only names classes (the vote)."""
        values = self.models[name]
        return values if values.ndim == 2 else None


def write_predictions(path: str | Path, labels: np.ndarray, **models: np.ndarray) -> Path:
    """`labels` (N,) and each model's (N, C) probabilities (float32) or (N,) classes."""
    labels = np.asarray(labels, dtype=np.int64)
    arrays = {LABELS: labels}
    for name, values in models.items():
        values = np.asarray(values)
        if values.shape[0] != labels.shape[0] or values.ndim not in (1, 2):
            raise ValueError(f"predictions of {name!r} have shape {values.shape}; expected "
                             f"({labels.shape[0]}, classes) or ({labels.shape[0]},)")
        arrays[name] = values.astype(np.float32 if values.ndim == 2 else np.int64)
    buffer = io.BytesIO()
    # allow_pickle named (its default): else numpy's stub matches the **arrays against it
    np.savez_compressed(buffer, allow_pickle=True, **arrays)
    return write_bytes(path, buffer.getvalue())


def read_predictions(path: str | Path, n_images: int | None = None) -> TestPredictions:
    """What :func:`write_predictions` wrote.

    Raises:
        DataError: missing, unreadable, without labels, or not `n_images` long.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"predictions file {str(path)!r} not found; rerun `dvc repro ensemble`")
    try:
        with np.load(path, allow_pickle=False) as found:
            arrays = {name: found[name] for name in found.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(f"predictions file {str(path)!r} is unreadable ({err}); rerun "
                        "`dvc repro ensemble`") from None
    labels = arrays.pop(LABELS, None)
    if labels is None:
        raise DataError(f"predictions file {str(path)!r} has no {LABELS!r} array; rerun "
                        "`dvc repro ensemble`")
    if n_images is not None and len(labels) != n_images:
        raise DataError(f"predictions file {str(path)!r} scores {len(labels)} test images, the "
                        f"prepared test split has {n_images}; rerun `dvc repro ensemble`")
    return TestPredictions(labels, arrays)
