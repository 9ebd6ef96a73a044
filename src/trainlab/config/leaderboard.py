"""The `leaderboard` section: the headline comparison's baselines, fractions and timing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from trainlab.config.schema import PositiveInt, ProjectPath, Section, check_lists


class LeaderboardConfig(Section):
    """The headline comparison (stage `leaderboard`): the grid's best recipe, its ensembles and
    ImageNet-pretrained baselines trained on the same prepared train split, selected on the
    same val split, scored on the same test images.

    The baselines train as the transfer stage's cells do (`transfer.image_size`, `epochs`,
    `lr`, `finetune_blocks` ...): one recipe for every pretrained network in the project.
    """

    backbones: tuple[Literal["efficientnet_lite0", "resnet18"], ...] = ("efficientnet_lite0",)
    modes: tuple[Literal["linear_probe", "finetune"], ...] = ("linear_probe", "finetune")
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
