"""Raw datasets -> uint8 image tensors (N, C, H, W) with int64 labels, from wherever they lie.

Local files come first (the Debian package of Fashion-MNIST, `data.root`); torchvision's
downloads are the fallback for users with a network. A dataset that cannot be found raises a
DataError that lists the places looked at and the ways to get it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainlab.config.schema import DataConfig
from trainlab.data.idx import has_idx_files, read_idx_pair
from trainlab.data.imagefolder import load_image_folder
from trainlab.errors import DataError

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_RAW_ROOT = Path("data/raw")  # torchvision's root when data.root is not set
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(d) for d in range(10))
# dataset -> torchvision class name; SVHN takes split="train"/"test" instead of train=bool.
TORCHVISION_CLASSES = {
    "fashion_mnist": "FashionMNIST",
    "mnist": "MNIST",
    "cifar10": "CIFAR10",
    "cifar100": "CIFAR100",
    "svhn": "SVHN",
}


@dataclass(frozen=True, eq=False)
class RawDataset:
    """A whole dataset as read from disk, before any split.

    Attributes:
        train_images: (N, C, H, W) uint8.
        train_labels: (N,) int64 in [0, len(classes)).
        test_images: (M, C, H, W) uint8, or None when the dataset has no own test split.
        test_labels: (M,) int64, or None with test_images.
        classes: class names in label order.
        source: where the data was read from (folder, file or loader).
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor | None
    test_labels: torch.Tensor | None
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        _check_pair(self.train_images, self.train_labels, "train", len(self.classes))
        if (self.test_images is None) != (self.test_labels is None):
            raise ValueError("test_images and test_labels must both be set or both be None")
        if self.test_images is not None and self.test_labels is not None:
            _check_pair(self.test_images, self.test_labels, "test", len(self.classes))
            if self.test_images.shape[1:] != self.train_images.shape[1:]:
                raise ValueError(
                    f"test images {tuple(self.test_images.shape[1:])} differ in shape from "
                    f"train images {tuple(self.train_images.shape[1:])}"
                )


def _check_pair(images: torch.Tensor, labels: torch.Tensor, name: str, num_classes: int) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4:
        shape = tuple(images.shape)
        raise ValueError(f"{name} images must be uint8 (N, C, H, W), got {images.dtype} {shape}")
    if labels.dtype != torch.int64 or labels.shape != (len(images),):
        shape = tuple(labels.shape)
        raise ValueError(
            f"{name} labels must be int64 ({len(images)},), got {labels.dtype} {shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        low, high = int(labels.min()), int(labels.max())
        raise ValueError(f"{name} labels must lie in [0, {num_classes}), got [{low}, {high}]")


LabelCheck = Callable[[np.ndarray, tuple[str, ...]], object]


def load_raw(cfg: DataConfig, check_labels: LabelCheck | None = None) -> RawDataset:
    """Read the dataset named by `cfg.dataset` into memory.

    Args:
        cfg: the `data` params section (dataset, root, download, image_size are read).
        check_labels: for an image folder, called with (labels, classes) after listing the
            files and reading their headers, before decoding them (the slow part), e.g. to plan
            the split; it raises to stop.

    Raises:
        DataError: the dataset is missing, cannot be downloaded, or a file is unreadable.
    """
    if cfg.dataset == "fashion_mnist":
        return _fashion_mnist(cfg)
    if cfg.dataset == "digits":
        return _digits()
    if cfg.dataset == "imagefolder":
        return _image_folder(cfg, check_labels)
    return _torchvision(cfg, _raw_root(cfg), looked=[])


def source_paths(cfg: DataConfig) -> list[Path]:
    """The files or folders `load_raw(cfg)` reads (for a stamp of the raw data; cheap).

    Raises:
        DataError: an image folder without data.root.
    """
    if cfg.dataset == "imagefolder":
        return [_folder_root(cfg)]
    if cfg.dataset == "digits":
        import sklearn.datasets

        return [Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"]
    if cfg.dataset == "fashion_mnist":
        found = [folder for folder in _fashion_mnist_places(cfg) if has_idx_files(folder)]
        if found:
            return found[:1]
    return [_raw_root(cfg)]


def _raw_root(cfg: DataConfig) -> Path:
    return Path(cfg.root) if cfg.root else DEFAULT_RAW_ROOT


def _fashion_mnist_places(cfg: DataConfig) -> list[Path]:
    # An explicit data.root replaces the default places; torchvision's own layout is checked too.
    looked = [Path(cfg.root)] if cfg.root else [DEBIAN_FASHION_MNIST]
    looked.append(_raw_root(cfg) / "FashionMNIST" / "raw")
    return looked


def _fashion_mnist(cfg: DataConfig) -> RawDataset:
    looked = _fashion_mnist_places(cfg)
    for folder in looked:
        if has_idx_files(folder):
            train_images, train_labels = read_idx_pair(folder, "train")
            test_images, test_labels = read_idx_pair(folder, "t10k")
            return RawDataset(
                train_images,
                train_labels,
                test_images,
                test_labels,
                FASHION_MNIST_CLASSES,
                str(folder),
            )
    return _torchvision(cfg, _raw_root(cfg), looked)


def _digits() -> RawDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values are 0..16 ink counts; stretch them to the 0..255 scale of the other datasets.
    pixels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
    images = torch.from_numpy(pixels).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    return RawDataset(images, labels, None, None, DIGIT_CLASSES, "sklearn.datasets.load_digits")


def _folder_root(cfg: DataConfig) -> Path:
    if cfg.root is None:
        raise DataError(
            "imagefolder needs data.root: set it to a folder with one sub-folder of images "
            "per class (root/cat/1.png, root/dog/2.png), e.g. --set data.root=DIR"
        )
    return Path(cfg.root).expanduser()  # `--set data.root=~/photos`: the shell leaves ~ alone


def _image_folder(cfg: DataConfig, check_labels: LabelCheck | None) -> RawDataset:
    root = _folder_root(cfg)
    folder = load_image_folder(root, cfg.image_size, check_labels)
    for note in folder.notes:  # files skipped, colour conversion: the user should know
        print(note, flush=True)
    return RawDataset(folder.images, folder.labels, None, None, folder.classes, str(root))


def _torchvision(cfg: DataConfig, root: Path, looked: list[Path]) -> RawDataset:
    name = TORCHVISION_CLASSES[cfg.dataset]
    import torchvision.datasets

    cls = getattr(torchvision.datasets, name)
    # With download=True torchvision first uses files already under root, then fetches.
    try:
        if cfg.dataset == "svhn":
            splits = [cls(str(root), split=s, download=cfg.download) for s in ("train", "test")]
        else:
            splits = [cls(str(root), train=t, download=cfg.download) for t in (True, False)]
    except (RuntimeError, OSError, ValueError) as err:  # URLError is an OSError
        action = (
            "could not download it" if cfg.download else "found no files (data.download is false)"
        )
        raise _missing(cfg.dataset, [*looked, root], f"torchvision {action}: {err}") from err
    train, test = splits
    train_images, train_labels = _tensors(train)
    test_images, test_labels = _tensors(test)
    classes = tuple(getattr(train, "classes", DIGIT_CLASSES))  # SVHN has no names: digits
    if cfg.dataset == "fashion_mnist":
        classes = FASHION_MNIST_CLASSES
    source = f"torchvision.datasets.{name} at {root}"
    return RawDataset(train_images, train_labels, test_images, test_labels, classes, source)


def _tensors(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision's in-memory arrays -> (N, C, H, W) uint8 and (N,) int64."""
    data = torch.as_tensor(np.asarray(dataset.data), dtype=torch.uint8)
    if data.dim() == 3:  # (N, H, W): MNIST-like grayscale
        data = data.unsqueeze(1)
    elif data.shape[-1] in (1, 3):  # (N, H, W, C): CIFAR stores channels last
        data = data.permute(0, 3, 1, 2)
    targets = dataset.targets if hasattr(dataset, "targets") else dataset.labels
    labels = torch.as_tensor(np.asarray(targets), dtype=torch.int64)
    return data.contiguous(), labels


def _missing(dataset: str, looked: list[Path], reason: str) -> DataError:
    places = ", ".join(dict.fromkeys(str(p.absolute()) for p in looked))  # each place once
    ways = [
        "set data.root to a folder holding the files",
        "set data.download=true on a machine with network access",
    ]
    if dataset == "fashion_mnist":
        ways.insert(0, f"`apt-get install dataset-fashion-mnist` (fills {DEBIAN_FASHION_MNIST})")
    reason = " ".join(reason.split())  # torchvision's messages span lines; keep one line
    return DataError(
        f"dataset {dataset!r} not found; looked in: {places} ({reason}). "
        f"To get it: {'; or '.join(ways)}"
    )
