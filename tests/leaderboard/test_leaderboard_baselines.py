"""The pretrained baselines: frozen weights stay the pretrained ones, the test images are the
prepared split's, in its order (trainlab.leaderboard.baselines)."""

from __future__ import annotations

import pytest
import torch

from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.errors import ConfigError
from trainlab.leaderboard.baselines import fraction_sizes, train_baselines
from trainlab.tracking import client_for, tracked_run
from trainlab.transfer.backbones import imagenet_backbone

CPU = torch.device("cpu")


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


@pytest.mark.slow
def test_a_frozen_backbone_keeps_its_pretrained_weights(prepared):
    cfg = load_config("params.yaml", [
        "transfer.image_size=32", "transfer.epochs=2", "transfer.min_steps=2",
        "transfer.finetune_blocks=2", "leaderboard.fractions=[1.0]"])
    data = load_prepared("data/prepared")
    client = client_for(cfg.tracking)
    with tracked_run(client, cfg.tracking.experiment, "leaderboard") as parent:
        found = {b.name: b for b in train_baselines(cfg, data, client, parent, CPU)}
    pretrained = imagenet_backbone("efficientnet_lite0", True, 32)
    frozen, top = pretrained.split(2)

    probe = found["efficientnet_lite0 linear_probe"]
    assert _same(probe.model[0], pretrained)  # the whole backbone: untouched
    tuned = found["efficientnet_lite0 finetune"]
    assert _same(tuned.model[0], frozen)  # the bottom blocks: untouched
    assert not _same(tuned.model[1], top)  # the top blocks trained

    # Scored on the prepared test split, in its order: the saved correctness is the
    # deployed model's predictions against the prepared labels.
    for baseline in found.values():
        assert baseline.correct.shape == (len(data.test),)
        assert (baseline.probs.argmax(1) == data.test.labels.numpy()).tolist() == \
            baseline.correct.tolist()
        with torch.no_grad():
            logits = baseline.model(data.test.images[:64].float() / 255)
        assert (logits.argmax(1).numpy() == baseline.probs[:64].argmax(1)).all()


def test_fractions_become_train_image_counts_and_too_small_ones_are_refused(prepared):
    data = load_prepared("data/prepared")  # digits: 1,293 train images, 10 classes
    assert fraction_sizes((1.0, 0.1, 0.01), data) == [(0.01, 13), (0.1, 129), (1.0, 1293)]
    with pytest.raises(ConfigError, match=r"leaderboard.fractions entry 0.005 takes 6 of the "
                                          r"1293 train images, fewer than the 10 classes"):
        fraction_sizes((0.005, 1.0), data)
