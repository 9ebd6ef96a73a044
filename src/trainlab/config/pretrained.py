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


class TransferHeadline(Section):
    """The one gain the stage's DVC metric `tl_gain` reports, declared before the run: the
    named backbone and mode over scratch at the smallest target size, mean over `stats.seeds`
    trainings (the interval beside it in reports/transfer.json). A max over noisy gains would
    be biased upwards and would change cell with the seed."""

    backbone: Literal[BACKBONES] | None = None  # type: ignore[valid-type]  # None: the first of transfer.backbones
    mode: Literal[PRETRAINED_MODES] | None = None  # type: ignore[valid-type]  # None: finetune, else the first pretrained mode


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
    headline: TransferHeadline = TransferHeadline()  # what `tl_gain` is

    def headline_cell(self) -> tuple[str, str] | None:
        """(backbone, mode) of `tl_gain`; None when no pretrained mode or no scratch is run."""
        pretrained = [mode for mode in self.modes if mode != "scratch"]
        if not pretrained or "scratch" not in self.modes:
            return None
        mode = self.headline.mode or ("finetune" if "finetune" in pretrained else pretrained[0])
        return self.headline.backbone or self.backbones[0], mode

    @model_validator(mode="after")
    def _consistent(self) -> TransferConfig:
        check_lists("transfer", self, ("backbones", "modes", "sizes"),
                    ("source_classes", "target_classes"))
        h = self.headline
        if h.backbone is not None and h.backbone not in self.backbones:
            raise ValueError(
                f"transfer.headline.backbone = {h.backbone!r} is not trained: allowed are "
                f"transfer.backbones {list(self.backbones)} (or null: the first of them)"
            )
        if h.mode is not None and h.mode not in self.modes:
            raise ValueError(
                f"transfer.headline.mode = {h.mode!r} is not trained: allowed are the "
                f"pretrained modes of transfer.modes "
                f"{[m for m in self.modes if m != 'scratch']} (or null: finetune, else the first)"
            )
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

    def headline_baseline(self) -> str:
        """The baseline row `base_vs` reports (declared, not the best of noisy rows): the first
        backbone, fine-tuned (else its first mode), on the whole train split."""
        mode = "finetune" if "finetune" in self.modes else self.modes[0]
        return f"{self.backbones[0]} {mode}"

    @model_validator(mode="after")
    def _consistent(self) -> LeaderboardConfig:
        check_lists("leaderboard", self, ("backbones", "modes", "fractions"))
        if 1.0 not in self.fractions:
            raise ValueError(
                f"leaderboard.fractions = {list(self.fractions)} lacks 1.0: the leaderboard's "
                "rows train on the whole train split, as the grid did"
            )
        return self
