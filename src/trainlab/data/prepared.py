"""The prepare stage's product: split images, class names, train statistics, a fingerprint.

`prepare` builds it from params, `save_prepared` writes `data.pt` + `meta.json` atomically,
`load_prepared` reads it back and checks it. The fingerprint (sha256 over the split bytes and
class names) goes with every run so a number can be traced to the exact data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainlab.config import Config
from trainlab.data.preprocessing import STAT_NAMES, fit_stats
from trainlab.data.sources import load_raw
from trainlab.data.split import SPLITS, Split, plan_split, split_dataset
from trainlab.errors import DataError
from trainlab.io import write_bytes, write_with

__all__ = [
    "PreparedData",
    "Split",
    "fingerprint",
    "load_prepared",
    "prepare",
    "save_prepared",
]

log = logging.getLogger(__name__)

DATA_FILE = "data.pt"
META_FILE = "meta.json"
FORMAT = "trainlab.prepared/1"  # bump when the payload layout changes
FIX = "run `trainlab prepare` (or `dvc repro prepare`) to write it again"


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Train/val/test splits with what the later stages need to know about them.

    Attributes:
        train, val, test: the splits, uint8 images (N, C, H, W) and int64 labels.
        classes: class names in label order.
        dataset: the `data.dataset` it came from.
        preprocessing: the `data.preprocessing` mode chosen in params.
        stats: `mean_image` (C, H, W), `channel_mean` (C,), `channel_std` (C,), float32 on
            the [0, 1] scale, fitted on train only (every mode can use them).
        fingerprint: first 16 hex digits of the sha256 of the split bytes and class names.
    """

    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]
    dataset: str
    preprocessing: str
    stats: dict[str, torch.Tensor]
    fingerprint: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        channels, height, width = self.train.images.shape[1:]
        return channels, height, width

    @property
    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "val": self.val, "test": self.test}


def fingerprint(splits: dict[str, Split], classes: tuple[str, ...]) -> str:
    """sha256 (first 16 hex digits) of every split's shape, image and label bytes, and classes."""
    digest = hashlib.sha256()
    for name in SPLITS:
        split = splits[name]
        digest.update(f"{name}:{tuple(split.images.shape)}".encode())
        digest.update(split.images.contiguous().numpy())  # buffer protocol: no bytes copy
        digest.update(split.labels.contiguous().numpy())
    digest.update("\n".join(classes).encode())
    return digest.hexdigest()[:16]


def prepare(cfg: Config) -> PreparedData:
    """Load the dataset of `cfg.data`, split it with `cfg.seed`, fit the train statistics.

    Raises:
        DataError: the raw dataset is missing or unreadable.
        ConfigError: a subset or fraction does not fit the dataset.
    """
    # An image folder is slow to decode: its split is planned on the labels first.
    raw = load_raw(cfg.data, lambda labels, classes: plan_split(
        labels, None, cfg.data, cfg.seed, classes))
    splits = split_dataset(raw, cfg.data, cfg.seed)
    data = PreparedData(
        **splits,
        classes=raw.classes,
        dataset=cfg.data.dataset,
        preprocessing=cfg.data.preprocessing,
        stats=fit_stats(splits["train"].images),
        fingerprint=fingerprint(splits, raw.classes),
    )
    sizes = {name: len(split) for name, split in splits.items()}
    log.info(
        "prepared %s from %s: %s images, fingerprint %s",
        data.dataset,
        raw.source,
        sizes,
        data.fingerprint,
    )
    return data


def save_prepared(data: PreparedData, directory: str | Path) -> Path:
    """Write `data.pt` and `meta.json` into `directory` (created), each atomically.

    Returns:
        The path of `data.pt`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "dataset": data.dataset,
        "classes": list(data.classes),
        "preprocessing": data.preprocessing,
        "fingerprint": data.fingerprint,
        "stats": {name: data.stats[name].contiguous() for name in STAT_NAMES},
        "splits": {
            name: {"images": split.images.contiguous(), "labels": split.labels.contiguous()}
            for name, split in data.splits.items()
        },
    }
    data_path = directory / DATA_FILE
    write_with(data_path, lambda stream: torch.save(payload, stream))
    meta = json.dumps(_meta(data), indent=2).encode() + b"\n"
    write_bytes(directory / META_FILE, meta)
    return data_path


def _meta(data: PreparedData) -> dict[str, Any]:
    """The human- and DVC-readable summary written next to data.pt."""
    counts = {
        name: dict(
            zip(
                data.classes,
                split.labels.bincount(minlength=data.num_classes).tolist(),
                strict=True,
            )
        )
        for name, split in data.splits.items()
    }
    return {
        "dataset": data.dataset,
        "classes": list(data.classes),
        "preprocessing": data.preprocessing,
        "fingerprint": data.fingerprint,
        "image_shape": list(data.image_shape),
        "sizes": {name: len(split) for name, split in data.splits.items()},
        "class_counts": counts,
    }


def load_prepared(directory: str | Path) -> PreparedData:
    """Read what :func:`save_prepared` wrote and check its fingerprint.

    Raises:
        DataError: `data.pt` is missing, truncated, not trainlab's, or does not match its
            fingerprint; the message names the file and how to rebuild it.
    """
    path = Path(directory) / DATA_FILE
    if not path.is_file():
        raise DataError(f"prepared data {path} not found; {FIX}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as err:
        reason = " ".join(str(err).split())[:200]
        raise DataError(
            f"prepared data {path} is truncated or unreadable ({reason}); {FIX}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataError(f"prepared data {path} is not a trainlab {FORMAT} file; {FIX}")
    try:
        splits = {name: Split(**payload["splits"][name]) for name in SPLITS}
        data = PreparedData(
            **splits,
            classes=tuple(payload["classes"]),
            dataset=payload["dataset"],
            preprocessing=payload["preprocessing"],
            stats={name: payload["stats"][name] for name in STAT_NAMES},
            fingerprint=payload["fingerprint"],
        )
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"prepared data {path} lacks or garbles {err}; {FIX}") from err
    if fingerprint(splits, data.classes) != data.fingerprint:
        raise DataError(f"prepared data {path} does not match its fingerprint (corrupted); {FIX}")
    return data
