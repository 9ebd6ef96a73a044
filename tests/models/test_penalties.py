import pytest
import torch
from torch import nn

from trainlab.config.schema import RegularizationConfig
from trainlab.models.penalties import penalty


def tiny_net() -> nn.Module:
    """Conv weights [1, -2, 0, 3] and Linear weights [[-1, 0.5]]; biases 100 (must not count)."""
    net = nn.Sequential(nn.Conv2d(1, 1, kernel_size=2), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([1.0, -2.0, 0.0, 3.0]).view(1, 1, 2, 2))
        net[2].weight.copy_(torch.tensor([[-1.0, 0.5]]))
        net[0].bias.fill_(100.0)
        net[2].bias.fill_(100.0)
    return net


# sum W^2 = 1 + 4 + 0 + 9 + 1 + 0.25 = 15.25; sum |W| = 1 + 2 + 0 + 3 + 1 + 0.5 = 7.5
@pytest.mark.parametrize(
    ("kind", "beta", "expected"),
    [("l2", 1.0, 15.25), ("l1", 1.0, 7.5), ("elastic", 1.0, 22.75), ("elastic", 0.5, 15.125)],
)
def test_penalty_matches_hand_computation(kind, beta, expected):
    cfg = RegularizationConfig(kind=kind, strength=0.1, elastic_beta=beta)
    value = penalty(tiny_net(), cfg)
    assert value.item() == pytest.approx(0.1 * expected)


def test_none_and_zero_strength_give_a_zero_tensor():
    net = tiny_net()
    for cfg in [RegularizationConfig(kind="none", strength=1.0), RegularizationConfig(kind="l2")]:
        value = penalty(net, cfg)
        assert value.shape == () and value.item() == 0.0
        assert value.device == net[0].weight.device


def test_l2_gradient_is_two_lambda_w_and_biases_get_none():
    net = tiny_net()
    penalty(net, RegularizationConfig(kind="l2", strength=0.5)).backward()
    torch.testing.assert_close(net[2].weight.grad, 2 * 0.5 * net[2].weight.detach())
    assert net[0].bias.grad is None and net[2].bias.grad is None


def test_frozen_weights_are_not_penalised():
    net = tiny_net()
    net[0].weight.requires_grad_(False)
    value = penalty(net, RegularizationConfig(kind="l2", strength=1.0))
    assert value.item() == pytest.approx(1.25)  # only the Linear: 1 + 0.25
