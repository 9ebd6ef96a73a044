import pytest
import torch
from torch import nn

from trainlab.config.schema import ModelConfig
from trainlab.models.activations import make_activation
from trainlab.models.diagnostics import (
    ActivationProbe,
    activation_stats,
    first_to_last_grad_ratio,
    grad_norms,
)
from trainlab.models.networks import build_network, hidden_activations, weighted_layers


def one_layer(activation: str, weight: float, bias: float, units: int = 8) -> nn.Module:
    """Flatten -> Linear(16, units) with every weight/bias fixed -> activation -> Linear."""
    linear = nn.Linear(16, units)
    nn.init.constant_(linear.weight, weight)
    nn.init.constant_(linear.bias, bias)
    act = make_activation(ModelConfig(activation=activation))
    return nn.Sequential(nn.Flatten(), linear, act, nn.Linear(units, 3))


def images(n: int = 64) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(n, 1, 4, 4)  # zero-centred, 16 features


def test_relu_with_huge_negative_bias_is_all_dead():
    stats = activation_stats(one_layer("relu", 0.01, -1000.0), images())
    assert stats["diag/layer1/dead"] == 1.0
    assert stats["diag/dead"] == 1.0


def test_relu_with_huge_positive_bias_has_no_dead_units():
    stats = activation_stats(one_layer("relu", 0.01, 1000.0), images())
    assert stats["diag/layer1/dead"] == 0.0


def test_dead_is_the_fraction_of_units_weighted_over_layers():
    net = one_layer("relu", 0.0, 1.0, units=4)
    with torch.no_grad():
        net[1].bias.copy_(torch.tensor([-1.0, 1.0, 1.0, 1.0]))  # one of 4 units dead
    stats = activation_stats(net, images())
    assert stats["diag/layer1/dead"] == pytest.approx(0.25)
    # a second 12-unit layer that is all dead: (1 + 12) / (4 + 12) units dead overall
    deep = nn.Sequential(*net[:3], nn.Linear(4, 12), make_activation(ModelConfig()))
    with torch.no_grad():
        nn.init.constant_(deep[3].bias, -1000.0)
    stats = activation_stats(deep, images())
    assert stats["diag/layer2/dead"] == 1.0
    assert stats["diag/dead"] == pytest.approx(13 / 16)


def test_conv_channel_counts_as_dead_only_when_off_at_every_position():
    conv = nn.Conv2d(1, 2, kernel_size=1)
    with torch.no_grad():
        conv.weight.fill_(1.0)  # output = pixel + bias
        conv.bias.copy_(torch.tensor([-1000.0, 0.0]))  # channel 0 dead, channel 1 follows x
    net = nn.Sequential(conv, make_activation(ModelConfig(activation="leaky_relu")))
    x = -torch.ones(4, 1, 3, 3)
    x[0, 0, 2, 2] = 1.0  # one positive pixel in one image keeps channel 1 alive
    assert activation_stats(net, x)["diag/layer1/dead"] == pytest.approx(0.5)


def test_sigmoid_with_huge_weights_saturates():
    stats = activation_stats(one_layer("sigmoid", 100.0, 0.0), images())
    assert stats["diag/layer1/saturated"] > 0.99
    assert stats["diag/saturated"] == stats["diag/layer1/saturated"]
    assert "diag/layer1/dead" not in stats and "diag/dead" not in stats


def test_tanh_with_huge_weights_saturates_and_small_weights_do_not():
    assert activation_stats(one_layer("tanh", 100.0, 0.0), images())["diag/layer1/saturated"] > 0.99
    assert activation_stats(one_layer("tanh", 0.01, 0.0), images())["diag/layer1/saturated"] == 0


def test_tanh_is_zero_centred_and_sigmoid_is_not():
    torch.manual_seed(1)
    cfg = {"arch": "mlp", "hidden": (64, 64)}
    x = images(256)
    tanh = activation_stats(build_network(ModelConfig(activation="tanh", **cfg), (1, 4, 4), 3), x)
    sig = activation_stats(build_network(ModelConfig(activation="sigmoid", **cfg), (1, 4, 4), 3), x)
    assert abs(tanh["diag/layer1/mean"]) < 0.05
    assert sig["diag/layer1/mean"] == pytest.approx(0.5, abs=0.05)
    assert sig["diag/layer2/mean"] == pytest.approx(0.5, abs=0.1)


def test_saturation_is_zero_for_non_saturating_activations():
    for name in ["relu", "maxout", "gelu"]:
        net = build_network(ModelConfig(arch="mlp", activation=name, hidden=(8,)), (1, 4, 4), 3)
        stats = activation_stats(net, images())
        assert stats["diag/layer1/saturated"] == 0.0
        assert ("diag/layer1/dead" in stats) == (name != "maxout")


def test_hooks_are_removed_and_modes_restored():
    net = build_network(ModelConfig(arch="mlp", dropout=0.5, hidden=(8, 8)), (1, 4, 4), 3)
    net.train()
    net.body[3].eval()  # a submodule frozen in eval mode (e.g. a probed backbone) stays so
    before = {name: m.training for name, m in net.named_modules()}
    activation_stats(net, images())
    assert {name: m.training for name, m in net.named_modules()} == before
    assert all(not m._forward_hooks for m in net.modules())
    net.eval()
    activation_stats(net, images())
    assert not any(m.training for m in net.modules())


def test_activation_stats_runs_without_dropout_and_gradients():
    net = build_network(ModelConfig(arch="mlp", dropout=0.9, hidden=(32,)), (1, 4, 4), 3)
    net.train()
    x = images()
    assert activation_stats(net, x) == activation_stats(net, x)  # eval mode: deterministic
    assert all(p.grad is None for p in net.parameters())


def test_grad_norms_match_manual_norms_and_skip_layers_without_grad():
    net = build_network(ModelConfig(arch="cnn", channels=(4,), cnn_hidden=8), (1, 8, 8), 3)
    assert grad_norms(net) == {}  # before any backward
    net(images(8).repeat(1, 1, 2, 2)).sum().backward()
    norms = grad_norms(net)
    layers = weighted_layers(net)
    assert list(norms) == [f"grad_norm/layer{i}" for i in range(1, 4)]
    for name, layer in layers:
        value = norms[f"grad_norm/{name}"]
        assert isinstance(value, torch.Tensor) and value.shape == ()
        expected = layer.weight.grad.flatten().pow(2).sum().sqrt()
        assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    layers[0][1].weight.grad = None  # e.g. a frozen first layer: skipped, names kept
    assert list(grad_norms(net)) == ["grad_norm/layer2", "grad_norm/layer3"]


def test_first_to_last_grad_ratio():
    norms = {"grad_norm/layer2": torch.tensor(4.0), "grad_norm/layer1": torch.tensor(1.0)}
    norms["grad_norm/layer3"] = torch.tensor(8.0)
    assert first_to_last_grad_ratio(norms).item() == pytest.approx(1 / 8)
    logged = {"train/grad_norm/layer1": 0.5, "train/grad_norm/layer10": 2.0, "train/loss": 9.0}
    assert first_to_last_grad_ratio(logged) == pytest.approx(0.25)
    assert first_to_last_grad_ratio({"grad_norm/layer1": 1.0, "grad_norm/layer2": 0.0}) == float(
        "inf"
    )
    with pytest.raises(ValueError, match="at least 2 layers"):
        first_to_last_grad_ratio({"grad_norm/layer1": 1.0})


def test_probe_over_batches_reads_the_first_images_as_one_batch_would():
    net = build_network(ModelConfig(arch="mlp", activation="relu", hidden=(16, 8)), (1, 4, 4), 3)
    x = images(100)
    probe = ActivationProbe(net.eval(), 50)
    with torch.no_grad():
        for batch in x.split(32):  # 32 + 18 of the second batch count; the rest is ignored
            with probe.watch(len(batch)):
                net(batch)
    assert probe.full and probe.seen == 50
    expected = activation_stats(net, x[:50])
    assert probe.stats() == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert expected != pytest.approx(activation_stats(net, x), rel=1e-5, abs=1e-6)


def test_probe_that_saw_nothing_reports_nothing():
    net = one_layer("relu", 0.01, 0.0)
    assert ActivationProbe(net, 10).stats() == {}


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_mean_and_spread_match_torch_over_the_whole_batch(activation):
    """Summed batch by batch (40 + 40 + 16 images), they are the whole batch's numbers."""
    net = build_network(ModelConfig(arch="cnn", activation=activation, channels=(4, 8),
                                    cnn_hidden=16), (1, 8, 8), 3).eval()
    x = torch.rand(96, 1, 8, 8)
    probe = ActivationProbe(net, 96)
    outputs: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for batch in x.split(40):
            with probe.watch(len(batch)):
                net(batch)
        hooks = [act.register_forward_hook(lambda m, i, y, n=name: outputs.setdefault(n, y))
                 for name, act in hidden_activations(net)]
        net(x)
        for hook in hooks:
            hook.remove()
    stats = probe.stats()
    assert len(outputs) == 3  # two conv layers and the hidden dense layer
    for name, y in outputs.items():
        assert stats[f"diag/{name}/mean"] == pytest.approx(y.mean().item(), rel=1e-5, abs=1e-7)
        assert stats[f"diag/{name}/std"] == pytest.approx(y.std(correction=0).item(), rel=1e-4)
