"""The pretrained networks' sections: `transfer` (pretrained backbones vs scratch on a target
task) and `leaderboard` (ImageNet-pretrained baselines on the main task, trained as the
transfer cells are, with `transfer.*` hyperparameters), and the backbone and mode names both
choose from.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from trainlab.config.schema import Positive, PositiveInt, ProjectPath, Section, check_lists

# `Literal[...]` of these tuples and its `type: ignore[valid-type]`: see config.schema.
BACKBONES = ("efficientnet_lite0", "resnet18", "source")
TRANSFER_MODES = ("linear_probe", "finetune", "scratch")
# The leaderboard trains on the main task, so only ImageNet-pretrained backbones (`source` is
# pretrained on part of that task's classes) and only pretrained modes (its scratch is the
# grid's best recipe).
IMAGENET_BACKBONES = tuple(name for name in BACKBONES if name != "source")
PRETRAINED_MODES = tuple(mode for mode in TRANSFER_MODES if mode != "scratch")


class TransferConfig(Section):
    """Transfer learning: pretrained backbones vs training from scratch on a target task.

    The target task is `target_classes` of the prepared data, relabelled 0..C-1; the `source`
    backbone is a trainlab network pretrained on `source_classes` (no download needed).
    """

    backbones: tuple[Literal[BACKBONES], ...] = ("source", "efficientnet_lite0")  # type: ignore[valid-type]
    modes: tuple[Literal[TRANSFER_MODES], ...] = TRANSFER_MODES  # type: ignore[valid-type]
    sizes: tuple[PositiveInt | Literal["all"], ...] = (100, 1000)  # target train images per cell
    # None: the first half of the dataset's classes (source) and the rest (target), resolved
    # by the stage once it knows the classes; (0..4) and (5..9) on Fashion-MNIST.
    source_classes: tuple[Annotated[int, Field(ge=0)], ...] | None = None
    target_classes: tuple[Annotated[int, Field(ge=0)], ...] | None = None
    image_size: PositiveInt = 64  # side the pretrained backbones see (grayscale -> 3 channels)
    epochs: PositiveInt = 5
    min_steps: PositiveInt = 20  # optimizer steps per epoch at least (small sizes cycle)
    patience: PositiveInt | None = None  # early stopping on target val/acc; None = all epochs
    source_epochs: PositiveInt = 3
    batch_size: PositiveInt = 32
    lr: Positive = 3e-3  # Adam; the new head's lr, and every layer's in scratch
    backbone_lr_factor: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1  # finetune: backbone lr
    finetune_blocks: Annotated[int, Field(ge=1)] | Literal["all"] = 3  # top blocks unfrozen
    val_size: PositiveInt | None = 1000  # stratified val images (each epoch); None = all
    test_size: PositiveInt | None = 2000  # stratified test images (once per cell); None = all
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: PositiveInt | None = None  # torch intra-op threads; None = torch's default
    resnet18_weights: str | None = None  # local weights file; None = torchvision's download
    models_dir: ProjectPath = "models/transfer"

    @model_validator(mode="after")
    def _consistent(self) -> TransferConfig:
        check_lists("transfer", self, ("backbones", "modes", "sizes"),
                    ("source_classes", "target_classes"))
        # None (halves of the dataset's classes) is resolved and checked by the stage.
        if self.target_classes is not None and len(self.target_classes) < 2:
            raise ValueError(
                f"transfer.target_classes = {list(self.target_classes)} needs at least 2 classes"
            )
        if ("source" in self.backbones and self.source_classes is not None
                and len(self.source_classes) < 2):
            raise ValueError(
                f"transfer.source_classes = {list(self.source_classes)} needs at least 2 classes "
                "to pretrain the `source` backbone (or drop `source` from transfer.backbones)"
            )
        if self.source_classes is None or self.target_classes is None:
            return self
        shared = sorted(set(self.source_classes) & set(self.target_classes))
        if shared:
            raise ValueError(
                f"transfer.source_classes = {list(self.source_classes)} and "
                f"transfer.target_classes = {list(self.target_classes)} overlap in {shared}: "
                "a class must not be in both, or the source network has seen the target task"
            )
        return self


class LeaderboardConfig(Section):
    """The headline comparison (stage `leaderboard`): the grid's best recipe, its ensembles and
    ImageNet-pretrained baselines trained on the same prepared train split, selected on the
    same val split, scored on the same test images.

    The baselines train as the transfer stage's cells do (`transfer.image_size`, `epochs`,
    `lr`, `finetune_blocks` ...): one recipe for every pretrained network in the project.
    """

    backbones: tuple[Literal[IMAGENET_BACKBONES], ...] = ("efficientnet_lite0",)  # type: ignore[valid-type]
    modes: tuple[Literal[PRETRAINED_MODES], ...] = PRETRAINED_MODES  # type: ignore[valid-type]
    # Fractions of the prepared train split each baseline (and the best recipe, below 1) trains
    # on: the labelled-images curve and where a baseline overtakes the recipe. 1.0 = the split
    # the grid used, the leaderboard's rows.
    fractions: tuple[Annotated[float, Field(gt=0.0, le=1.0)], ...] = (0.01, 0.1, 1.0)
    inference_images: PositiveInt = 512  # test images timed per model for images/s
    models_dir: ProjectPath = "models/leaderboard"

    @model_validator(mode="after")
    def _consistent(self) -> LeaderboardConfig:
        check_lists("leaderboard", self, ("backbones", "modes", "fractions"))
        if 1.0 not in self.fractions:
            raise ValueError(
                f"leaderboard.fractions = {list(self.fractions)} lacks 1.0: the leaderboard's "
                "rows train on the whole train split, as the grid did"
            )
        return self
