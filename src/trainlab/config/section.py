"""What every params section is: a frozen model that forbids unknown keys, and the value
types and choices the sections share."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

DATASETS = ("fashion_mnist", "digits", "mnist", "cifar10", "cifar100", "svhn", "imagefolder")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout", "gelu")
PREPROCESSING = ("none", "mean_image", "channel_mean", "channel_standardize")
PENALTIES = ("none", "l2", "l1", "elastic")
BACKBONES = ("efficientnet_lite0", "resnet18", "source")
TRANSFER_MODES = ("linear_probe", "finetune", "scratch")

Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Section(BaseModel):
    """A params section: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def project_relative(value: str, key: str) -> str:
    """Keep output paths inside the project: relative, without '..' (no writes elsewhere)."""
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not value.strip():
        raise ValueError(
            f"must be a relative path inside the project without '..', got {value!r} "
            f"for {key}; use a folder such as 'data/prepared'"
        )
    return value
