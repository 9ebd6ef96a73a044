import math

import pytest
import torch
from synthetic import image_ids, tagged_images  # tests/synthetic.py

from trainlab.config.schema import DataConfig
from trainlab.data.sources import RawDataset
from trainlab.data.split import Split, describe_sizes, plan_split, split_dataset
from trainlab.errors import ConfigError


def proportions(labels: torch.Tensor, classes: int = 3) -> list[float]:
    return (labels.bincount(minlength=classes).float() / len(labels)).tolist()


def test_carved_test_and_val_keep_class_proportions(raw_no_test):
    cfg = DataConfig(train_subset=None, test_fraction=0.2, val_fraction=0.1)
    splits = split_dataset(raw_no_test, cfg, seed=0)
    assert len(splits["test"]) == 200  # 20 % of 1,000
    assert len(splits["val"]) == 80  # 10 % of the 800 left
    assert len(splits["train"]) == 720
    for split in splits.values():
        assert proportions(split.labels) == pytest.approx([0.5, 0.3, 0.2], abs=0.015)
    # Disjoint, and together exactly the raw images, each with its own label.
    members = torch.cat([image_ids(s.images) for s in splits.values()])
    assert sorted(members.tolist()) == list(range(1000))
    for split in splits.values():
        assert torch.equal(raw_no_test.train_labels[image_ids(split.images)], split.labels)


def test_splits_keep_the_original_order(raw_no_test):
    splits = split_dataset(raw_no_test, DataConfig(train_subset=None), seed=3)
    for split in splits.values():
        order = image_ids(split.images)
        assert torch.equal(order, order.sort().values)


def test_own_test_split_is_used_and_subsampled_stratified(raw_with_test):
    whole = split_dataset(raw_with_test, DataConfig(train_subset=None), seed=0)
    assert torch.equal(whole["test"].labels, raw_with_test.test_labels)
    assert len(whole["train"]) + len(whole["val"]) == 600  # nothing carved for test
    sub = split_dataset(raw_with_test, DataConfig(train_subset=None, test_subset=60), seed=0)
    assert sub["test"].labels.bincount().tolist() == [20, 20, 20]
    assert torch.equal(raw_with_test.test_labels[image_ids(sub["test"].images)], sub["test"].labels)


def test_train_subset_is_stratified(raw_with_test):
    splits = split_dataset(raw_with_test, DataConfig(train_subset=100), seed=0)
    assert splits["train"].labels.bincount().tolist() == [50, 30, 20]
    assert len(splits["val"]) == 60  # val is carved from the whole pool, before the subset


def test_same_seed_same_splits_other_seed_other_splits(raw_no_test):
    cfg = DataConfig(train_subset=300)
    first, again = split_dataset(raw_no_test, cfg, 7), split_dataset(raw_no_test, cfg, 7)
    other = split_dataset(raw_no_test, cfg, 8)
    for name in ("train", "val", "test"):
        assert torch.equal(first[name].images, again[name].images)
        assert torch.equal(first[name].labels, again[name].labels)
        assert not torch.equal(image_ids(first[name].images), image_ids(other[name].images))


def test_subset_of_all_but_one_image(raw_with_test):
    # sklearn cannot leave out fewer images than classes; the split must still work.
    pool = split_dataset(raw_with_test, DataConfig(train_subset=None), seed=0)["train"]
    splits = split_dataset(raw_with_test, DataConfig(train_subset=len(pool) - 1), seed=0)
    assert len(splits["train"]) == len(pool) - 1


def test_a_subset_is_an_upper_bound(raw_with_test):
    whole = split_dataset(raw_with_test, DataConfig(train_subset=None), seed=0)
    cfg = DataConfig(train_subset=10_000, val_subset=61, test_subset=301)
    capped = split_dataset(raw_with_test, cfg, seed=0)
    assert [len(capped[name]) for name in ("train", "val", "test")] == [540, 60, 300]
    for name in ("train", "val", "test"):
        assert torch.equal(capped[name].images, whole[name].images)
    assert describe_sizes(cfg, capped) == (
        "train 540 (all; data.train_subset 10000) / val 60 (all; data.val_subset 61) / "
        "test 300 (all; data.test_subset 301)"
    )


def test_sizes_name_only_the_subsets_that_were_capped(raw_with_test):
    cfg = DataConfig(train_subset=100, val_subset=60, test_subset=None)
    splits = split_dataset(raw_with_test, cfg, seed=0)
    assert describe_sizes(cfg, splits) == "train 100 / val 60 / test 300"


def test_the_plan_on_labels_alone_is_the_split(raw_no_test):
    cfg = DataConfig(train_subset=300, val_subset=50)
    plan = plan_split(raw_no_test.train_labels.numpy(), None, cfg, seed=4)
    splits = split_dataset(raw_no_test, cfg, seed=4)
    assert plan.test_from_pool
    for name in ("train", "val", "test"):
        assert torch.equal(image_ids(splits[name].images), getattr(plan, name))


def test_subset_too_small_for_every_class_is_a_config_error(raw_with_test):
    with pytest.raises(ConfigError, match=r"data.train_subset = 2 is too small .* 3 classes"):
        split_dataset(raw_with_test, DataConfig(train_subset=2), seed=0)


def test_val_fraction_too_small_for_every_class_is_a_config_error(raw_with_test):
    with pytest.raises(ConfigError, match=r"data.val_fraction = 0.001 cannot carve"):
        split_dataset(raw_with_test, DataConfig(val_fraction=0.001, train_subset=None), seed=0)


def test_val_size_is_the_ceiling_of_the_fraction(raw_no_test):
    cfg = DataConfig(train_subset=None, test_fraction=0.15, val_fraction=0.33)
    splits = split_dataset(raw_no_test, cfg, seed=0)
    assert len(splits["test"]) == math.ceil(0.15 * 1000)
    assert len(splits["val"]) == math.ceil(0.33 * 850)


def test_split_rejects_mismatched_labels():
    images = torch.zeros(3, 1, 2, 2, dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"labels must be int64 \(3,\)"):
        Split(images, torch.zeros(2, dtype=torch.int64))


def test_a_class_with_one_image_cannot_be_stratified():
    labels = torch.tensor([0] * 50 + [1] * 49 + [2])
    raw = RawDataset(tagged_images(100), labels, None, None, ("a", "b", "c"), "synthetic")
    with pytest.raises(
        ConfigError, match=r"data.test_fraction = 0.2 cannot carve a stratified split out of 100 "
        r"images of 3 classes, the smallest \(class 'c'\) with 1 \(.*\); use a fraction .* or add "
        "images to the small classes"
    ):
        split_dataset(raw, DataConfig(train_subset=None), seed=0)


def test_val_subset_is_stratified_and_drawn_from_the_val_carve(raw_with_test):
    full = split_dataset(raw_with_test, DataConfig(train_subset=None, val_fraction=0.5), seed=0)
    small = split_dataset(raw_with_test,
                          DataConfig(train_subset=None, val_fraction=0.5, val_subset=100), seed=0)
    assert len(small["val"]) == 100
    assert torch.bincount(small["val"].labels).tolist() == [50, 30, 20]  # 5:3:2 kept
    assert len(small["train"]) == len(full["train"])  # train is not touched
