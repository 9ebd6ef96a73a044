"""The pretrained networks' sections (trainlab.config.pretrained): transfer and leaderboard."""

from __future__ import annotations

import pytest

from trainlab.config.params import Config
from trainlab.errors import ConfigError


@pytest.mark.parametrize(
    "override,message",
    [
        ({"transfer.source_classes": [0, 1, 5], "transfer.target_classes": [5, 6]},
         r"transfer\.source_classes = \[0, 1, 5\] and transfer\.target_classes = \[5, 6\] "
         r"overlap in \[5\]"),
        ({"transfer.target_classes": [5]}, r"needs at least 2 classes"),
        ({"transfer.sizes": [100, 100]}, r"transfer\.sizes = \[100, 100\] repeats a value"),
        ({"transfer.backbones": ["vgg"]}, r"transfer\.backbones\.0 = 'vgg' is not allowed"),
        ({"transfer.modes": ["probe"]}, r"transfer\.modes\.0 = 'probe' is not allowed"),
        ({"transfer.headline": {"backbone": "resnet18"}},
         r"transfer\.headline\.backbone = 'resnet18' is not trained: allowed are "
         r"transfer\.backbones \['source', 'efficientnet_lite0'\]"),
        ({"transfer.modes": ["linear_probe", "scratch"], "transfer.headline": {"mode": "finetune"}},
         r"transfer\.headline\.mode = 'finetune' is not trained: allowed are the pretrained "
         r"modes of transfer\.modes \['linear_probe'\]"),
    ],
)
def test_bad_transfer_sections_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        Config().replace(**override)


@pytest.mark.parametrize(
    "override,message",
    [
        # `source` and `scratch` are transfer's, not the leaderboard's (config.pretrained).
        ({"leaderboard.backbones": ["source"]},
         r"leaderboard\.backbones\.0 = 'source' is not allowed: allowed: 'efficientnet_lite0' "
         r"or 'resnet18'"),
        ({"leaderboard.modes": ["scratch"]},
         r"leaderboard\.modes\.0 = 'scratch' is not allowed: allowed: 'linear_probe' or "
         r"'finetune'"),
        ({"leaderboard.fractions": [0.1, 0.5]},
         r"leaderboard\.fractions = \[0\.1, 0\.5\] lacks 1\.0"),
    ],
)
def test_bad_leaderboard_sections_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        Config().replace(**override)


def test_the_headline_defaults_to_the_first_backbone_fine_tuned():
    assert Config().transfer.headline_cell() == ("source", "finetune")
    probe = Config().replace(**{"transfer.modes": ["linear_probe", "scratch"]})
    assert probe.transfer.headline_cell() == ("source", "linear_probe")
    assert Config().replace(**{"transfer.modes": ["finetune"]}).transfer.headline_cell() is None
    assert Config().leaderboard.headline_baseline() == "efficientnet_lite0 finetune"
    assert Config().replace(**{"stats.seeds": 2, "seed": 5}).training_seeds() == [5, 6]
