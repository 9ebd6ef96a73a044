"""The recipes' optimizers: torch's fused kernels where they run, the same update rule."""

from __future__ import annotations

import pytest
import torch

from trainlab.models.optim import build_optimizer


def _trained(name: str, fused: bool) -> torch.Tensor:
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(16, 8))
    optimizer = build_optimizer([weight], name, lr=0.01, momentum=0.9)
    if not fused:  # the reference: torch's per-tensor implementation, same hyper-parameters
        kind = torch.optim.SGD if name == "sgd" else torch.optim.Adam
        optimizer = kind([weight], **{k: v for k, v in optimizer.defaults.items()
                                      if k in ("lr", "momentum", "betas", "eps")},
                         foreach=False)
    x = torch.randn(32, 16)
    for _ in range(20):
        loss = (x @ weight).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return weight.detach()


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_cpu_parameters_get_the_fused_kernel_and_the_same_updates(name):
    optimizer = build_optimizer([torch.nn.Parameter(torch.zeros(3))], name, lr=0.1)
    assert optimizer.defaults["fused"] is True
    torch.testing.assert_close(_trained(name, fused=True), _trained(name, fused=False),
                               rtol=1e-5, atol=1e-6)


def test_param_groups_keep_their_learning_rates():
    head, body = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    optimizer = build_optimizer([{"params": head.parameters(), "lr": 0.1},
                                 {"params": body.parameters(), "lr": 0.001}], "adam", lr=0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.001]
    assert optimizer.defaults["fused"] is True


def test_parameters_without_fused_kernels_get_torch_default():
    on_meta = torch.nn.Parameter(torch.zeros(3, device="meta"))
    assert not build_optimizer([on_meta], "adam", lr=0.1).defaults["fused"]


def test_an_unknown_optimizer_is_named_in_the_error():
    with pytest.raises(ValueError, match="'rmsprop'"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], "rmsprop", lr=0.1)
