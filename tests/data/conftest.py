"""Small synthetic raw datasets and configs for the data tests (CPU, milliseconds).

The functions that make images and files are in tests/synthetic.py, imported by name.
"""

from __future__ import annotations

import pytest
import torch
from synthetic import tagged_images

from trainlab.config.params import Config
from trainlab.data.sources import RawDataset


def imbalanced_labels(counts: list[int]) -> torch.Tensor:
    """Labels with counts[k] images of class k, interleaved so order is not class order."""
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(counts)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(123))]


@pytest.fixture
def raw_no_test() -> RawDataset:
    """1,000 images of 3 classes in proportions 5:3:2, no own test split."""
    labels = imbalanced_labels([500, 300, 200])
    return RawDataset(tagged_images(1000), labels, None, None, ("a", "b", "c"), "synthetic")


@pytest.fixture
def raw_with_test() -> RawDataset:
    """600 train images (5:3:2) plus an own test split of 300 images (1:1:1)."""
    train_labels = imbalanced_labels([300, 180, 120])
    test_labels = imbalanced_labels([100, 100, 100])
    test_images = tagged_images(300) + 0  # same tags as train: ids only mean "index"
    return RawDataset(
        tagged_images(600), train_labels, test_images, test_labels, ("a", "b", "c"), "synthetic"
    )


@pytest.fixture
def digits_config() -> Config:
    """The whole digits dataset (1,797 images) with the default fractions."""
    return Config().replace(**{"data.dataset": "digits", "data.train_subset": None})
