"""The two recipe networks (MLP and small CNN) and the layer lists diagnostics walk.

A user's own network (`model.arch: module:function`) is built by :mod:`trainlab.models.custom`.

Both are a :class:`RecipeNet`: a ``body`` that maps images to features and a linear ``head``
that maps features to logits, so the transfer stage can keep the body and swap the head.
Layers are named by forward position: weighted layer ``layerN`` feeds hidden activation
``layerN``; the last weighted layer is the output layer. Positions are read from module
registration order, which is forward order for a RecipeNet and for nested nn.Sequential.
"""

from __future__ import annotations

from torch import Tensor, nn

from trainlab.config.schema import ModelConfig
from trainlab.models.activations import RELU_FAMILY, Activation, make_activation, width_factor

WEIGHTED = (nn.Linear, nn.Conv2d)


class RecipeNet(nn.Module):
    """``head(body(x))``: images (B, C, H, W) -> features (B, F) -> logits (B, classes)."""

    def __init__(self, body: nn.Sequential, head: nn.Linear) -> None:
        super().__init__()
        self.body = body
        self.head = head

    @property
    def feature_dim(self) -> int:
        """F, the width of the body's output (the head's input)."""
        return self.head.in_features

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def init_hidden(layer: nn.Linear | nn.Conv2d, cfg: ModelConfig) -> nn.Linear | nn.Conv2d:
    """Initialise a layer that feeds an activation.

    The ReLU family gets He (kaiming normal, fan-in) weights and zero biases: PyTorch's default
    gives Var(w) = 1/(3 fan_in), which shrinks the signal about 6x per layer in variance after
    a ReLU, while He keeps it (gain sqrt(2 / (1 + slope^2))). ELU and GELU use the ReLU gain.
    sigmoid, tanh and maxout keep PyTorch's default, the setting the lecture's
    saturation argument is about.
    """
    if cfg.activation in RELU_FAMILY:
        slope = cfg.leaky_slope if cfg.activation == "leaky_relu" else 0.0
        nn.init.kaiming_normal_(layer.weight, a=slope, nonlinearity="leaky_relu")
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return layer


def _mlp(cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int) -> RecipeNet:
    k = width_factor(cfg)
    channels, height, width = image_shape
    layers: list[nn.Module] = [nn.Flatten()]  # (B, C, H, W) -> (B, C*H*W)
    features = channels * height * width
    for units in cfg.hidden:
        layers += [
            init_hidden(nn.Linear(features, units * k), cfg),
            make_activation(cfg),  # (B, units * k) -> (B, units)
            nn.Dropout(cfg.dropout),
        ]
        features = units
    return RecipeNet(nn.Sequential(*layers), nn.Linear(features, num_classes))


def _cnn(cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int) -> RecipeNet:
    k = width_factor(cfg)
    in_channels, height, width = image_shape
    layers: list[nn.Module] = []
    for out_channels in cfg.channels:
        layers += [
            init_hidden(nn.Conv2d(in_channels, out_channels * k, 3, padding=1), cfg),
            make_activation(cfg),  # (B, c * k, H, W) -> (B, c, H, W)
        ]
        if height >= 2 and width >= 2:  # an 8x8 digit has room for 3 halvings only
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        in_channels = out_channels
    layers += [
        nn.Flatten(),  # (B, c, H', W') -> (B, c*H'*W')
        nn.Dropout(cfg.dropout),
        init_hidden(nn.Linear(in_channels * height * width, cfg.cnn_hidden * k), cfg),
        make_activation(cfg),  # (B, cnn_hidden)
        nn.Dropout(cfg.dropout),
    ]
    return RecipeNet(nn.Sequential(*layers), nn.Linear(cfg.cnn_hidden, num_classes))


def build_network(
    cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int
) -> nn.Module:
    """The network ``cfg.arch`` describes, for float images of ``image_shape`` = (C, H, W).

    Args:
        cfg: The model section (arch, activation, widths, dropout).
        image_shape: (C, H, W) of one input image.
        num_classes: Number of logits.

    Returns:
        A module mapping (B, C, H, W) to logits (B, num_classes): a :class:`RecipeNet` for
        `mlp` and `cnn`, whatever the factory returns for a user's network.
    """
    channels, height, width = image_shape  # a list when read back from a checkpoint
    builders = {"mlp": _mlp, "cnn": _cnn}
    if cfg.arch not in builders:
        from trainlab.models.custom import build_custom  # it imports this module

        return build_custom(cfg, (channels, height, width), num_classes)
    return builders[cfg.arch](cfg, (channels, height, width), num_classes)


def hidden_activations(net: nn.Module) -> list[tuple[str, Activation]]:
    """The :class:`Activation` modules of ``net`` in forward order, named ``layer1``..."""
    found = [m for m in net.modules() if isinstance(m, Activation)]
    return [(f"layer{i}", m) for i, m in enumerate(found, start=1)]


def weighted_layers(net: nn.Module) -> list[tuple[str, nn.Linear | nn.Conv2d]]:
    """The Linear/Conv2d layers of ``net`` in forward order, ``layer1``... (last = output)."""
    found = [m for m in net.modules() if isinstance(m, WEIGHTED)]
    return [(f"layer{i}", m) for i, m in enumerate(found, start=1)]
