import math

import pytest
import torch
from torch import nn

from trainlab.config.schema import ModelConfig
from trainlab.models.activations import (
    ACTIVATIONS,
    Activation,
    Maxout,
    make_activation,
    width_factor,
)

POINTS = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])


def values_and_grads(name: str, x: torch.Tensor = POINTS, **overrides):
    act = make_activation(ModelConfig(activation=name, **overrides))
    x = x.clone().requires_grad_(True)
    y = act(x)
    y.sum().backward()
    return y.detach(), x.grad


def test_registry_covers_every_configured_activation():
    from trainlab.config.schema import ACTIVATIONS as CONFIGURED

    assert set(ACTIVATIONS) == set(CONFIGURED)


def test_make_activation_builds_fresh_named_modules():
    cfg = ModelConfig(activation="relu")
    first, second = make_activation(cfg), make_activation(cfg)
    assert isinstance(first, Activation) and first.name == "relu"
    assert first is not second and first.fn is not second.fn


def test_sigmoid_values_and_gradient():
    y, grad = values_and_grads("sigmoid")
    expected = 1 / (1 + torch.exp(-POINTS))
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(grad, expected * (1 - expected))  # sigma(1 - sigma)
    assert grad[2].item() == pytest.approx(0.25)
    # the lecture's x = +-10: the gradient is ~0 (saturated)
    _, far = values_and_grads("sigmoid", torch.tensor([-10.0, 10.0]))
    assert far.max().item() < 5e-5


def test_tanh_values_and_gradient():
    y, grad = values_and_grads("tanh")
    torch.testing.assert_close(y, torch.tanh(POINTS))
    assert grad[2].item() == pytest.approx(1.0)
    assert grad[3].item() == pytest.approx(1 - math.tanh(1.0) ** 2)


def test_relu_values_and_gradient():
    y, grad = values_and_grads("relu")
    torch.testing.assert_close(y, torch.tensor([0.0, 0.0, 0.0, 1.0, 2.0]))
    torch.testing.assert_close(grad, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0]))


def test_leaky_relu_uses_the_configured_slope():
    y, grad = values_and_grads("leaky_relu", leaky_slope=0.1)
    torch.testing.assert_close(y, torch.tensor([-0.2, -0.1, 0.0, 1.0, 2.0]))
    torch.testing.assert_close(grad[[0, 1, 3, 4]], torch.tensor([0.1, 0.1, 1.0, 1.0]))


def test_elu_uses_the_configured_alpha():
    y, grad = values_and_grads("elu", elu_alpha=2.0)
    assert y[1].item() == pytest.approx(2.0 * (math.exp(-1.0) - 1))
    assert y[4].item() == pytest.approx(2.0)
    assert grad[1].item() == pytest.approx(2.0 * math.exp(-1.0))  # alpha * e^x for x < 0
    assert grad[3].item() == pytest.approx(1.0)


def test_gelu_values_and_gradient():
    y, grad = values_and_grads("gelu")
    phi = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # standard normal CDF at 1
    assert y[3].item() == pytest.approx(phi)
    assert y[2].item() == 0.0
    assert grad[2].item() == pytest.approx(0.5)


def test_maxout_2d_is_the_max_of_adjacent_pieces():
    x = torch.tensor([[1.0, 5.0, -3.0, -4.0, 2.0, 2.5]])  # (B=1, width=3 * pieces=2)
    torch.testing.assert_close(Maxout(2)(x), torch.tensor([[5.0, -3.0, 2.5]]))


def test_maxout_matches_a_hand_loop_in_2d_and_4d():
    torch.manual_seed(0)
    for shape in [(4, 3 * 3), (4, 2 * 3, 5, 7)]:
        x = torch.randn(*shape)
        out = Maxout(3)(x)
        width = shape[1] // 3
        assert out.shape == (shape[0], width, *shape[2:])
        for unit in range(width):
            pieces = [x[:, unit * 3 + p] for p in range(3)]
            torch.testing.assert_close(out[:, unit], torch.stack(pieces).amax(0))


def test_maxout_routes_the_gradient_to_the_winning_piece():
    x = torch.tensor([[1.0, 5.0, -3.0, -4.0]], requires_grad=True)
    Maxout(2)(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([[0.0, 1.0, 1.0, 0.0]]))


def test_maxout_predicts_the_values_it_trains_with():
    # Prediction (no gradient) takes elementwise maxima, training max(dim): the same numbers,
    # channels-last kept, for 2D and 4D inputs, 2 and 3 pieces, with ties and a NaN.
    torch.manual_seed(0)
    for shape, pieces in [((8, 2 * 5), 2), ((4, 3 * 4, 6, 6), 3), ((4, 2 * 8, 7, 7), 2)]:
        x = torch.randn(*shape)
        x.view(-1)[::5] = 0.0  # ties between pieces
        x.view(-1)[3] = float("nan")
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        maxout = Maxout(pieces)
        trained = maxout(x.clone().requires_grad_()).detach()
        with torch.inference_mode():
            predicted = maxout(x)
        with torch.no_grad():
            predicted_no_grad = maxout(x.clone().requires_grad_())
        reference = x.unflatten(1, (-1, pieces)).max(dim=2).values
        for out in (trained, predicted, predicted_no_grad):
            torch.testing.assert_close(out, reference, rtol=0, atol=0, equal_nan=True)
        assert predicted.isnan().sum() == 1
        if x.dim() == 4:
            assert predicted.is_contiguous(memory_format=torch.channels_last)


def test_maxout_rejects_a_width_not_divisible_by_pieces():
    with pytest.raises(ValueError, match="multiple of 3"):
        Maxout(3)(torch.zeros(2, 4))


def test_width_factor():
    assert width_factor(ModelConfig(activation="maxout", maxout_pieces=4)) == 4
    assert width_factor(ModelConfig(activation="relu", maxout_pieces=4)) == 1


def test_activation_wrapper_is_transparent():
    act = Activation("tanh", nn.Tanh())
    x = torch.randn(3, 4)
    torch.testing.assert_close(act(x), torch.tanh(x))
    assert "tanh" in repr(act)
