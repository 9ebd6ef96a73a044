"""Datasets, splits, preprocessing, on-device batch augmentation and the DataModule."""

from trainlab.data.augment import BatchAugment
from trainlab.data.loader import DeviceLoader
from trainlab.data.prepared import PreparedData, load_prepared, prepare, save_prepared
from trainlab.data.preprocessing import Normalize, fit_stats
from trainlab.data.sources import RawDataset, load_raw
from trainlab.data.split import Split, split_dataset

__all__ = [
    "BatchAugment",
    "DeviceLoader",
    "Normalize",
    "PreparedData",
    "RawDataset",
    "RecipeDataModule",
    "Split",
    "fit_stats",
    "load_prepared",
    "load_raw",
    "prepare",
    "save_prepared",
    "split_dataset",
]


def __getattr__(name: str) -> object:
    # Lazy: importing lightning takes seconds, and `prepare` or the tests of other modules
    # do not need it.
    if name == "RecipeDataModule":
        from trainlab.data.datamodule import RecipeDataModule

        return RecipeDataModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
