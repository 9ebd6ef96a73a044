"""RecipeModule pieces that need no Trainer: epoch totals, channels-last, batch lists."""

import pytest
import torch

from trainlab.config.params import Config
from trainlab.models.classifier import EpochTotals
from trainlab.models.module import RecipeModule, _as_list


def test_epoch_totals_weight_each_batch_by_its_size():
    totals = EpochTotals()
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    totals.add(torch.tensor(1.0), logits[:2], torch.tensor([0, 0]))  # 1 of 2 right
    totals.add(torch.tensor(4.0), logits[2:], torch.tensor([0]))  # 1 of 1 right
    assert totals.compute() == pytest.approx({"loss": (2 * 1.0 + 4.0) / 3, "acc": 2 / 3})
    assert totals.compute() == {}  # reset after computing


def test_epoch_totals_over_many_batches_equal_the_whole_epoch_at_once():
    # More batches than are kept before summing, with ragged sizes: the sums must not
    # depend on where the pending batches were summed.
    generator = torch.Generator().manual_seed(0)
    sizes = [7] * 20 + [3, 5] + [7] * 17 + [2]
    logits = torch.randn(sum(sizes), 4, generator=generator)
    labels = torch.randint(0, 4, (sum(sizes),), generator=generator)
    totals = EpochTotals()
    start = 0
    for n in sizes:
        batch_logits, batch_labels = logits[start:start + n], labels[start:start + n]
        loss = torch.nn.functional.cross_entropy(batch_logits, batch_labels)
        totals.add(loss, batch_logits, batch_labels)
        start += n
    expected_loss = torch.nn.functional.cross_entropy(logits, labels).item()
    expected_acc = (logits.argmax(1) == labels).float().mean().item()
    assert totals.compute() == pytest.approx({"loss": expected_loss, "acc": expected_acc},
                                             rel=1e-5)


def test_as_list_takes_a_batch_or_a_list_of_batches():
    x, y = torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long)
    assert len(_as_list((x, y))) == 1 and _as_list((x, y))[0][0] is x
    assert len(_as_list([(x, y), (x, y)])) == 2


def test_channels_last_keeps_the_outputs():
    cfg = Config()
    module = RecipeModule(model=cfg.model.model_dump(mode="json"), regularization={},
                          augmentation={}, image_shape=(1, 28, 28), num_classes=10,
                          preprocessing="none").eval()
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        before = module(x)
        module.use_channels_last()
        after = module(x)
    conv = module.net.body[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(before, after, atol=1e-5)


def test_channels_last_only_on_a_cpu_when_given_the_device():
    cfg = Config()
    layout = torch.channels_last
    for device, expected in [(torch.device("cuda"), False), (torch.device("cpu"), True)]:
        module = RecipeModule(model=cfg.model.model_dump(mode="json"), regularization={},
                              augmentation={}, image_shape=(1, 28, 28), num_classes=10,
                              preprocessing="none")
        module.use_channels_last(device)  # the device is only read, never moved to
        second = [m for m in module.net.modules() if isinstance(m, torch.nn.Conv2d)][1]
        assert second.weight.is_contiguous(memory_format=layout) is expected
