"""Source and target tasks carved out of the prepared data, and the target-size subsets.

The classes of one dataset are split in two: the `source` backbone is pretrained on
`transfer.source_classes`, every backbone is then transferred to `transfer.target_classes`
(relabelled 0..C-1), so transfer can be studied on Fashion-MNIST without any download.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainlab.config.params import Config
from trainlab.config.pretrained import TransferConfig
from trainlab.data.prepared import PreparedData, fingerprint
from trainlab.data.preprocessing import fit_stats
from trainlab.data.split import Split
from trainlab.errors import ConfigError


@dataclass(frozen=True, eq=False)
class TargetTask:
    """The target classes' train/val/test splits, labels 0..C-1, and the class names."""

    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def resolve_classes(cfg: Config, data: PreparedData) -> tuple[Config, str | None]:
    """`cfg` with `transfer.source_classes`/`target_classes` left null set to the first half
    of the dataset's classes and the rest, and a line to print when the stage adapted.

    With fewer than 4 classes there is no pair of 2-class tasks: the `source` backbone (which
    needs one) is left out, and every class is the target task.
    """
    t, n = cfg.transfer, data.num_classes
    if t.source_classes is not None and t.target_classes is not None:
        return cfg, None
    changes: dict[str, object] = {}
    note = None
    if n < 4 and "source" in t.backbones and t.source_classes is None:
        kept = [b for b in t.backbones if b != "source"]
        if not kept:
            raise ConfigError(
                f"transfer.backbones = ['source'] needs 4 classes or more ({data.dataset} has "
                f"{n}): the source backbone pretrains on half of them; add efficientnet_lite0"
            )
        changes["transfer.backbones"] = kept
        note = (f"transfer: {data.dataset} has {n} classes, too few to pretrain the `source` "
                "backbone on half of them: left out; the target task is every class")
    half = n // 2 if "transfer.backbones" not in changes else 0
    source = list(range(half)) if t.source_classes is None else None
    if source is not None:
        changes["transfer.source_classes"] = source
    if t.target_classes is None:
        taken = set(source if source is not None else t.source_classes or ())
        changes["transfer.target_classes"] = [c for c in range(half, n) if c not in taken]
    return cfg.replace(**changes), note


def resolved(classes: tuple[int, ...] | None, key: str) -> tuple[int, ...]:
    """`transfer.<key>` as :func:`resolve_classes` set it (None only before that)."""
    if classes is None:
        raise ValueError(f"transfer.{key} is not resolved yet: call resolve_classes first")
    return tuple(classes)


def check_classes(cfg: TransferConfig, data: PreparedData) -> None:
    """Every source/target class must exist in the prepared data (overlaps: config.py).

    Raises:
        ConfigError: naming the key, its value and the allowed range.
    """
    keys = ["target_classes"] + (["source_classes"] if "source" in cfg.backbones else [])
    for key in keys:
        values = list(getattr(cfg, key))
        missing = [c for c in values if not 0 <= c < data.num_classes]
        if missing:
            raise ConfigError(
                f"transfer.{key} = {values} names classes {missing} that {data.dataset} lacks; "
                f"allowed: 0..{data.num_classes - 1} ({', '.join(data.classes)})"
            )


def class_task(split: Split, classes: tuple[int, ...]) -> Split:
    """The images of `classes` only, in their order, with label `classes[k]` -> k."""
    match = split.labels[:, None] == torch.tensor(classes)[None, :]  # (N, C) bool
    keep = torch.nonzero(match.any(dim=1)).flatten()
    return Split(split.images[keep].contiguous(), match[keep].int().argmax(dim=1))


def target_task(data: PreparedData, cfg: TransferConfig) -> TargetTask:
    """The target task: `cfg.target_classes` of every split, relabelled 0..C-1."""
    classes = resolved(cfg.target_classes, "target_classes")
    return TargetTask(
        class_task(data.train, classes), class_task(data.val, classes),
        class_task(data.test, classes),
        classes=tuple(data.classes[c] for c in classes),
    )


@dataclass(frozen=True, eq=False)
class TargetPlan:
    """The target task as the cells use it.

    Attributes:
        task: train holds only the images some size uses (so features are computed for
            those alone); val and test are capped at `transfer.val_size`/`test_size`.
        sizes: (requested, actual) per `transfer.sizes` entry, clamped to what exists.
        subsets: actual size -> indices into `task.train` (stratified, seeded, nested).
    """

    task: TargetTask
    sizes: tuple[tuple[str, int], ...]
    subsets: dict[int, torch.Tensor]


def plan_target(data: PreparedData, cfg: TransferConfig, seed: int) -> TargetPlan:
    """The target task, its capped val/test and the train subset of every size."""
    task = target_task(data, cfg)
    sizes = tuple((str(size), resolve_size(size, len(task.train))) for size in cfg.sizes)
    # Sizes above what the target task holds all take every image: one cell each, not copies.
    distinct: dict[int, tuple[str, int]] = {}
    for requested, n in sizes:
        distinct.setdefault(n, (requested, n))
    sizes = tuple(distinct.values())
    subsets = {n: stratified_subset(task.train.labels, n, seed) for _, n in sizes}
    used = torch.unique(torch.cat(list(subsets.values())))  # sorted
    task = TargetTask(
        task.train.subset(used),
        cap(task.val, cfg.val_size, seed),
        cap(task.test, cfg.test_size, seed),
        task.classes,
    )
    return TargetPlan(task, sizes, {n: torch.searchsorted(used, i) for n, i in subsets.items()})


def cap(split: Split, size: int | None, seed: int) -> Split:
    """A stratified, seeded sample of at most `size` images (None: the whole split)."""
    if size is None or size >= len(split):
        return split
    return split.subset(stratified_subset(split.labels, size, seed))


def source_data(data: PreparedData, cfg: TransferConfig, seed: int) -> PreparedData:
    """The source task as prepared data of its own, for trainlab's usual training.

    Val and test are capped like the target's. The statistics are fitted again on the source
    train images: the source network never sees a target image, not even through its
    normalisation.
    """
    classes = resolved(cfg.source_classes, "source_classes")
    splits = {name: class_task(split, classes) for name, split in data.splits.items()}
    splits["val"] = cap(splits["val"], cfg.val_size, seed)
    splits["test"] = cap(splits["test"], cfg.test_size, seed)
    names = tuple(data.classes[c] for c in classes)
    return PreparedData(
        train=splits["train"], val=splits["val"], test=splits["test"],
        classes=names,
        dataset=data.dataset,
        preprocessing=data.preprocessing,
        stats=fit_stats(splits["train"].images),
        fingerprint=fingerprint(splits, names),
    )


def resolve_size(size: int | str, available: int) -> int:
    """The number of images a `transfer.sizes` entry takes: "all", or clamped to `available`."""
    return available if size == "all" else min(int(size), available)


def stratified_subset(labels: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """Indices (ascending) of a seeded, stratified sample of `size` among `labels`.

    Each class gets its share of `size` by largest remainder (at least one image when `size`
    allows), drawn from a per-class permutation fixed by `seed`, so a smaller size takes a
    prefix of the same permutations: the samples of one seed are (nearly) nested.

    Raises:
        ConfigError: `size` cannot hold each class once.
    """
    classes, counts = torch.unique(labels, return_counts=True)
    if size >= len(labels):
        return torch.arange(len(labels))
    if size < len(classes):
        raise ConfigError(
            f"transfer.sizes entry {size} is too small to hold each of the {len(classes)} "
            f"target classes once; use at least {len(classes)}"
        )
    shares = counts.double() * size / len(labels)
    take = shares.floor().long().clamp_min(1).minimum(counts)
    # Largest remainders first get the images still missing (round-robin while any lack).
    order = torch.argsort(shares - shares.floor(), descending=True, stable=True).tolist()
    while int(take.sum()) < size:
        for k in order:
            if int(take.sum()) < size and take[k] < counts[k]:
                take[k] += 1
    while int(take.sum()) > size:  # the at-least-one rule overshot: trim the largest share
        take[int(torch.argmax(take))] -= 1
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for cls, count in zip(classes.tolist(), take.tolist(), strict=True):
        members = torch.nonzero(labels == cls).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:count]])
    return torch.cat(chosen).sort().values
