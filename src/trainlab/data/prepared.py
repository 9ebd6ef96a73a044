"""The prepare stage's product: split images, class names, train statistics, a fingerprint.

`prepare` builds it from params, `save_prepared` writes `data.pt` + `meta.json` atomically,
`load_prepared` reads it back and checks it. The fingerprint (sha256 over the split bytes and
class names) goes with every run so a number can be traced to the exact data.

The prepared data owns what the data is: `meta.json` records the params that decided it
(:func:`prepared_by`), and :func:`check_params` stops a command whose params name other data
(`trainlab train --set data.dataset=digits` on data prepared from Fashion-MNIST).
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

from trainlab.config.params import Config
from trainlab.data.preprocessing import STAT_NAMES, fit_stats
from trainlab.data.sources import load_raw
from trainlab.data.split import SPLITS, Split, plan_split, split_dataset
from trainlab.errors import ConfigError, DataError
from trainlab.io import write_bytes, write_with

__all__ = [
    "PreparedData",
    "Split",
    "check_params",
    "fingerprint",
    "load_prepared",
    "prepare",
    "prepared_by",
    "save_prepared",
]

log = logging.getLogger(__name__)

DATA_FILE = "data.pt"
META_FILE = "meta.json"
FORMAT = "trainlab.prepared/1"  # bump when the payload layout changes
FIX = "run `trainlab prepare` (or `dvc repro prepare`) to write it again"
# The params that do not decide the prepared data: where it is written, and whether the raw
# files may be downloaded (the same files either way).
NOT_DECIDING = ("data.prepared_dir", "data.download")


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
        params: the params that decided it (:func:`prepared_by`); None when loaded back.
    """

    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]
    dataset: str
    preprocessing: str
    stats: dict[str, torch.Tensor]
    fingerprint: str
    params: dict[str, Any] | None = None

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


def _buffer(tensor: torch.Tensor) -> memoryview:
    """A CPU tensor's bytes through the buffer protocol: no copy."""
    # numpy's stubs declare ndarray.__buffer__ only for Python >= 3.12; it has one on 3.11 too.
    return memoryview(tensor.contiguous().numpy())  # type: ignore[arg-type]


def fingerprint(splits: dict[str, Split], classes: tuple[str, ...]) -> str:
    """sha256 (first 16 hex digits) of every split's shape, image and label bytes, and classes."""
    digest = hashlib.sha256()
    for name in SPLITS:
        split = splits[name]
        digest.update(f"{name}:{tuple(split.images.shape)}".encode())
        digest.update(_buffer(split.images))
        digest.update(_buffer(split.labels))
    digest.update("\n".join(classes).encode())
    return digest.hexdigest()[:16]


def prepared_by(cfg: Config) -> dict[str, Any]:
    """The params that decide the prepared data, under their dotted keys: the seed (it seeds
    the split) and every `data` key but those in :data:`NOT_DECIDING`."""
    return {key: value for key, value in cfg.flat("seed", "data").items()
            if key not in NOT_DECIDING}


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
        params=prepared_by(cfg),
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
    meta = {
        "dataset": data.dataset,
        "classes": list(data.classes),
        "preprocessing": data.preprocessing,
        "fingerprint": data.fingerprint,
        "image_shape": list(data.image_shape),
        "sizes": {name: len(split) for name, split in data.splits.items()},
        "class_counts": counts,
    }
    if data.params is not None:
        meta["params"] = data.params
    return meta


def check_params(cfg: Config) -> None:
    """Stop when the params name other data than `data.prepared_dir` holds.

    Compares :func:`prepared_by` with what the prepared `meta.json` records: the params that
    decided it, or (data prepared before they were recorded) its dataset and preprocessing.
    Reads only meta.json (milliseconds); missing or unreadable prepared data is left to
    :func:`load_prepared`'s own message.

    Raises:
        ConfigError: a deciding key differs; the message names each key, both values and
            the fix.
    """
    path = Path(cfg.data.prepared_dir) / META_FILE
    try:
        meta = json.loads(path.read_text())
        recorded = meta.get("params") or {"data.dataset": meta["dataset"],
                                          "data.preprocessing": meta["preprocessing"]}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return
    # Through JSON as meta.json was written, so 0.1 and 0.1, None and null compare equal.
    wanted = json.loads(json.dumps(prepared_by(cfg)))
    differ = [f"{key} = {wanted.get(key)!r} (prepared: {recorded.get(key)!r})"
              for key in wanted if key in recorded and wanted[key] != recorded[key]]
    if differ:
        raise ConfigError(
            f"the params name other data than {cfg.data.prepared_dir} holds (its {META_FILE}): "
            f"{', '.join(differ)}; run `trainlab prepare` (or `dvc repro`) to prepare the "
            "data these params name, or drop the overrides that differ"
        )


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
            train=splits["train"], val=splits["val"], test=splits["test"],
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
