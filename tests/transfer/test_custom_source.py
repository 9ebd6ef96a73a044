"""Transfer's `source` backbone keeps a network's body and swaps its head: a user's network
without that split (not a RecipeNet) is left out of the experiment with a line saying so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.errors import ConfigError
from trainlab.transfer.stage import without_unsplit_source

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resnet.py"
PLAIN = """from torch import nn
from trainlab.models.custom import make_activation

def build(cfg, image_shape, num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), make_activation(cfg),
                         nn.Linear(16, num_classes))
"""


def _config(prepared: Path, *backbones: str, example: bool = False):
    (prepared / "nets").mkdir(exist_ok=True)
    if example:
        shutil.copy(EXAMPLE, prepared / "nets" / "net.py")
    else:
        (prepared / "nets" / "net.py").write_text(PLAIN)
    return load_config(overrides=["model.arch=nets/net.py:build", "model.arch_file=nets",
                                  f"transfer.backbones=[{','.join(backbones)}]"])


def test_a_network_without_body_head_split_leaves_source_out_with_a_line(prepared):
    data = load_prepared(prepared / "data" / "prepared")
    cfg, note = without_unsplit_source(_config(prepared, "source", "efficientnet_lite0"), data)
    assert cfg.transfer.backbones == ("efficientnet_lite0",)
    assert note == ("transfer: model.arch = 'nets/net.py:build' returns a Sequential, not a "
                    "trainlab.models.custom.RecipeNet(body, head): no body/head split to "
                    "transfer, so the `source` backbone is left out")
    with pytest.raises(ConfigError, match=r"transfer\.backbones = \['source'\] needs a "
                                          r"body/head split"):
        without_unsplit_source(_config(prepared, "source"), data)


def test_a_recipe_net_keeps_source(prepared):
    data = load_prepared(prepared / "data" / "prepared")
    cfg = _config(prepared, "source", "efficientnet_lite0", example=True)
    assert without_unsplit_source(cfg, data) == (cfg, None)
