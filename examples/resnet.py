"""A small residual network for trainlab's recipe grid (28x28, 8x8 or 32x32 images).

Run the grid on it (README, "Your own network"):

    dvc exp run -S model.arch=examples/resnet.py:build -S model.arch_file=examples/resnet.py

It uses only what `trainlab.models.custom` documents: `make_activation(cfg)` for every hidden
activation (so the grid's activation axis, Maxout's widths included, applies), `width_factor`
for the layer before each activation, `cfg.dropout` before the head, `cfg.channels` as its
stage widths; and it returns a `RecipeNet(body, head)`, so transfer's `source` backbone can keep
the body and swap the head.
"""

from __future__ import annotations

from torch import Tensor, nn

from trainlab.models.custom import (
    ModelConfig,
    RecipeNet,
    init_hidden,
    make_activation,
    width_factor,
)


class Residual(nn.Module):
    """x + BN(conv(act(BN(conv(x))))): (B, c, H, W) -> (B, c, H, W), pre-sum activation only."""

    def __init__(self, channels: int, cfg: ModelConfig) -> None:
        super().__init__()
        k = width_factor(cfg)
        self.conv1 = init_hidden(nn.Conv2d(channels, channels * k, 3, padding=1, bias=False), cfg)
        self.bn1 = nn.BatchNorm2d(channels * k)
        self.act = make_activation(cfg)  # (B, c * k, H, W) -> (B, c, H, W)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity

    def forward(self, x: Tensor) -> Tensor:
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


def _stage(c_in: int, c_out: int, stride: int, cfg: ModelConfig) -> list[nn.Module]:
    """A (strided) conv to c_out channels, BN, activation, then one residual block."""
    k = width_factor(cfg)
    return [
        init_hidden(nn.Conv2d(c_in, c_out * k, 3, stride=stride, padding=1, bias=False), cfg),
        nn.BatchNorm2d(c_out * k),
        make_activation(cfg),  # (B, c_out * k, H', W') -> (B, c_out, H', W')
        Residual(c_out, cfg),
    ]


def build(cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int) -> RecipeNet:
    """One stage per `cfg.channels` width (the first at full size, each next one halves H, W).

    (B, C, H, W) -> (B, channels[-1]) features -> (B, num_classes) logits.
    """
    channels, height, _ = image_shape
    layers: list[nn.Module] = []
    c_in = channels
    for i, width in enumerate(cfg.channels):
        stride = 2 if i > 0 and height >= 4 else 1  # an 8x8 digit keeps at least 2x2
        height = -(-height // stride)  # a padded 3x3 conv's output side: ceil(H / stride)
        layers += _stage(c_in, width, stride, cfg)
        c_in = width
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),  # (B, c, 1, 1) -> (B, c)
        nn.Dropout(cfg.dropout),
    ]
    return RecipeNet(nn.Sequential(*layers), nn.Linear(c_in, num_classes))
