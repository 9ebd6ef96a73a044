import pytest
import torch
from torch import nn

from trainlab.config.schema import ACTIVATIONS, ModelConfig
from trainlab.models.activations import Activation
from trainlab.models.networks import (
    RecipeNet,
    build_network,
    hidden_activations,
    weighted_layers,
)

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64)]
SMALL = {"hidden": (16, 8), "channels": (4, 8), "cnn_hidden": 12}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_logits_shape_for_every_arch_activation_and_image(arch, activation, shape):
    net = build_network(ModelConfig(arch=arch, activation=activation, **SMALL), shape, 7)
    logits = net(torch.randn(3, *shape))
    assert logits.shape == (3, 7)
    assert torch.isfinite(logits).all()


def test_cnn_with_many_blocks_stops_pooling_at_one_pixel():
    cfg = ModelConfig(arch="cnn", channels=(4, 4, 4, 4, 4), cnn_hidden=8)
    net = build_network(cfg, (1, 8, 8), 10)
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3  # 8 -> 4 -> 2 -> 1, then no more halving
    assert net.body[-3].in_features == 4 * 1 * 1
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_mlp_layout_and_widths():
    cfg = ModelConfig(arch="mlp", activation="tanh", hidden=(32, 16), dropout=0.25)
    net = build_network(cfg, (1, 28, 28), 10)
    widths = [(m.in_features, m.out_features) for _, m in weighted_layers(net)]
    assert widths == [(784, 32), (32, 16), (16, 10)]
    dropouts = [m.p for m in net.modules() if isinstance(m, nn.Dropout)]
    assert dropouts == [0.25, 0.25]


def test_cnn_layout_and_widths():
    cfg = ModelConfig(arch="cnn", channels=(4, 8), cnn_hidden=12)
    net = build_network(cfg, (3, 32, 32), 10)
    layers = [m for _, m in weighted_layers(net)]
    assert [(m.in_channels, m.out_channels) for m in layers[:2]] == [(3, 4), (4, 8)]
    assert (layers[2].in_features, layers[2].out_features) == (8 * 8 * 8, 12)
    assert (layers[3].in_features, layers[3].out_features) == (12, 10)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_maxout_multiplies_the_preceding_width_by_pieces(arch):
    plain = build_network(ModelConfig(arch=arch, activation="relu", **SMALL), (1, 8, 8), 10)
    maxout = build_network(
        ModelConfig(arch=arch, activation="maxout", maxout_pieces=3, **SMALL), (1, 8, 8), 10
    )

    def outs(net):
        return [getattr(m, "out_features", None) or m.out_channels for _, m in weighted_layers(net)]

    def ins(net):
        return [getattr(m, "in_features", None) or m.in_channels for _, m in weighted_layers(net)]

    assert outs(maxout)[:-1] == [3 * w for w in outs(plain)[:-1]]
    assert outs(maxout)[-1] == outs(plain)[-1] == 10  # the output layer is not widened
    assert ins(maxout) == ins(plain)  # the next layer sees the reduced width


def test_recipe_net_splits_body_and_head():
    net = build_network(ModelConfig(arch="cnn", **SMALL), (1, 28, 28), 10)
    assert isinstance(net, RecipeNet)
    x = torch.randn(2, 1, 28, 28)
    features = net.body(x)
    assert features.shape == (2, net.feature_dim) == (2, 12)
    torch.testing.assert_close(net.head(features), net(x))
    net.head = nn.Linear(net.feature_dim, 3)  # the transfer stage swaps the head
    assert net(x).shape == (2, 3)


def test_layer_lists_are_named_in_forward_order():
    net = build_network(ModelConfig(arch="cnn", activation="elu", **SMALL), (1, 8, 8), 10)
    acts = hidden_activations(net)
    layers = weighted_layers(net)
    assert [n for n, _ in acts] == ["layer1", "layer2", "layer3"]
    assert [n for n, _ in layers] == ["layer1", "layer2", "layer3", "layer4"]
    assert all(isinstance(a, Activation) and a.name == "elu" for _, a in acts)
    assert [type(m) for _, m in layers] == [nn.Conv2d, nn.Conv2d, nn.Linear, nn.Linear]
    assert layers[-1][1] is net.head


def test_relu_family_gets_he_init_and_others_keep_pytorch_default():
    torch.manual_seed(0)
    wide = {"hidden": (2048,)}
    relu = build_network(ModelConfig(arch="mlp", activation="relu", **wide), (1, 32, 32), 10)
    tanh = build_network(ModelConfig(arch="mlp", activation="tanh", **wide), (1, 32, 32), 10)
    fan_in = 1024
    relu_first, tanh_first = relu.body[1], tanh.body[1]
    assert relu_first.weight.var().item() == pytest.approx(2 / fan_in, rel=0.02)
    assert torch.all(relu_first.bias == 0)
    assert tanh_first.weight.var().item() == pytest.approx(1 / (3 * fan_in), rel=0.02)
