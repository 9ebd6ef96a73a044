"""Source/target class split, relabelling, stratified size subsets, class validation."""

from __future__ import annotations

import pytest
import torch

from trainlab.config.params import Config
from trainlab.config.pretrained import TransferConfig
from trainlab.data.prepared import PreparedData
from trainlab.data.preprocessing import fit_stats
from trainlab.data.split import Split
from trainlab.errors import ConfigError
from trainlab.transfer.tasks import (
    check_classes,
    class_task,
    plan_target,
    resolve_classes,
    resolve_size,
    source_data,
    stratified_subset,
)


def tagged_split(labels: list[int]) -> Split:
    """Images whose single pixel is the image's index (so a subset can be traced)."""
    count = len(labels)
    images = torch.arange(count, dtype=torch.uint8).view(count, 1, 1, 1)
    return Split(images, torch.tensor(labels, dtype=torch.int64))


def ten_class_data(per_class: int = 25) -> PreparedData:
    """10 classes x `per_class` images per split, labels interleaved 0..9, 0..9, ...

    At most 25 per class: the uint8 pixel holds the image's index (< 256).
    """
    labels = [k % 10 for k in range(10 * per_class)]
    split = tagged_split(labels)
    return PreparedData(
        train=split, val=split, test=split, classes=tuple(f"c{k}" for k in range(10)),
        dataset="synthetic", preprocessing="none", stats=fit_stats(split.images),
        fingerprint="0" * 16,
    )


def test_class_task_keeps_the_classes_in_order_and_relabels_them():
    split = tagged_split([5, 0, 9, 7, 5, 3, 9])
    task = class_task(split, (9, 5))  # label 9 -> 0, label 5 -> 1
    assert task.images.flatten().tolist() == [0, 2, 4, 6]  # original positions, in order
    assert task.labels.tolist() == [1, 0, 1, 0]


def test_source_and_target_tasks_are_disjoint_and_relabelled():
    data = ten_class_data()
    cfg = TransferConfig(source_classes=(0, 1, 2), target_classes=(7, 8))
    plan = plan_target(data, cfg.model_copy(update={"sizes": ("all",)}), seed=0)
    assert plan.task.classes == ("c7", "c8")
    source = source_data(data, cfg, seed=0)
    assert source.classes == ("c0", "c1", "c2") and source.num_classes == 3
    target_ids = set(plan.task.train.images.flatten().tolist())
    source_ids = set(source.train.images.flatten().tolist())
    assert not target_ids & source_ids
    assert sorted(plan.task.train.labels.unique().tolist()) == [0, 1]
    # Target label 0 is original class 7: image k has class k % 10.
    zero = plan.task.train.images.flatten()[plan.task.train.labels == 0]
    assert all(int(i) % 10 == 7 for i in zero)
    # The source statistics come from the source train images only.
    own = fit_stats(source.train.images)["channel_mean"]
    assert torch.allclose(source.stats["channel_mean"], own)


def test_stratified_subset_is_seeded_proportional_and_nested():
    labels = torch.tensor([0] * 500 + [1] * 300 + [2] * 200)[torch.randperm(1000)]
    small = stratified_subset(labels, 100, seed=3)
    assert len(small) == 100 and len(set(small.tolist())) == 100
    assert labels[small].bincount().tolist() == [50, 30, 20]
    assert torch.equal(small, stratified_subset(labels, 100, seed=3))
    assert not torch.equal(small, stratified_subset(labels, 100, seed=4))
    larger = stratified_subset(labels, 400, seed=3)
    assert set(small.tolist()) <= set(larger.tolist())  # nested: same permutations, a prefix


def test_stratified_subset_keeps_every_class_and_rejects_too_small_sizes():
    labels = torch.tensor([0] * 95 + [1] * 3 + [2] * 2)
    sample = stratified_subset(labels, 10, seed=0)
    assert len(sample) == 10 and labels[sample].unique().tolist() == [0, 1, 2]
    with pytest.raises(ConfigError, match=r"transfer\.sizes entry 2 is too small .* 3 target"):
        stratified_subset(labels, 2, seed=0)


def test_sizes_are_clamped_and_all_means_every_target_image():
    assert resolve_size("all", 645) == 645
    assert resolve_size(5000, 645) == 645
    assert resolve_size(20, 645) == 20
    data = ten_class_data(per_class=25)  # 25 images per class: 50 target train images
    cfg = TransferConfig(source_classes=(0,), target_classes=(3, 4), backbones=("resnet18",),
                         sizes=(10, 1000), val_size=8, test_size=None)
    plan = plan_target(data, cfg, seed=0)
    assert plan.sizes == (("10", 10), ("1000", 50))
    assert len(plan.task.val) == 8 and len(plan.task.test) == 50
    for size, index in plan.subsets.items():
        labels = plan.task.train.labels[index]
        assert len(index) == size and labels.bincount().tolist() == [size // 2, size // 2]


def test_classes_the_dataset_lacks_are_a_config_error_naming_key_value_and_range():
    data = ten_class_data()
    cfg = TransferConfig(source_classes=(0, 1), target_classes=(8, 12))
    with pytest.raises(
        ConfigError,
        match=r"transfer\.target_classes = \[8, 12\] names classes \[12\] that synthetic lacks; "
        r"allowed: 0\.\.9",
    ):
        check_classes(cfg, data)
    bad_source = TransferConfig(source_classes=(0, 10), target_classes=(8, 9))
    with pytest.raises(ConfigError, match=r"transfer\.source_classes = \[0, 10\]"):
        check_classes(bad_source, data)


def classes_data(n: int) -> PreparedData:
    labels = [k % n for k in range(6 * n)]
    split = tagged_split(labels)
    return PreparedData(
        train=split, val=split, test=split, classes=tuple(f"c{k}" for k in range(n)),
        dataset="synthetic", preprocessing="none", stats=fit_stats(split.images),
        fingerprint="0" * 16,
    )


def test_unset_classes_are_the_halves_of_the_dataset():
    cfg, note = resolve_classes(Config(), ten_class_data())
    assert cfg.transfer.source_classes == (0, 1, 2, 3, 4)  # Fashion-MNIST's t-shirt .. coat
    assert cfg.transfer.target_classes == (5, 6, 7, 8, 9)
    assert note is None
    seven, _ = resolve_classes(Config(), classes_data(7))
    assert seven.transfer.source_classes == (0, 1, 2)
    assert seven.transfer.target_classes == (3, 4, 5, 6)


def test_too_few_classes_leave_the_source_backbone_out_and_say_so():
    cfg, note = resolve_classes(Config(), classes_data(3))
    assert cfg.transfer.backbones == ("efficientnet_lite0",)
    assert cfg.transfer.target_classes == (0, 1, 2)
    assert "3 classes, too few to pretrain the `source` backbone" in note
    only_source = Config().replace(**{"transfer.backbones": ["source"]})
    with pytest.raises(ConfigError, match=r"transfer\.backbones = \['source'\] needs 4 classes"):
        resolve_classes(only_source, classes_data(3))


def test_classes_set_by_hand_are_kept():
    cfg = Config().replace(**{"transfer.source_classes": [8, 9],
                              "transfer.target_classes": [0, 1, 2]})
    assert resolve_classes(cfg, ten_class_data())[0] is cfg


def test_sizes_above_the_target_task_make_one_cell_not_copies():
    data = ten_class_data()
    cfg = Config().replace(**{"transfer.sizes": [20, 1000, "all"],
                              "transfer.target_classes": [5, 6, 7, 8, 9]})
    plan = plan_target(data, cfg.transfer, seed=0)
    assert plan.sizes == (("20", 20), ("1000", 125))
