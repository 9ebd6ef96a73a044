"""A user's own network (`model.arch: file.py:function`): each bad factory stopped with its one
message before any training, a good one rebuilt from its checkpoint, its code in the recipe
hash, and transfer's `source` left out when it has no body/head split."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from trainlab.config.params import Config
from trainlab.config.schema import ModelConfig
from trainlab.errors import ConfigError
from trainlab.models.checkpoint import load_module
from trainlab.models.custom import check_network, code_digest
from trainlab.models.module import RecipeModule
from trainlab.search.grid import recipe_hash

SHAPE = (1, 8, 8)
GOOD = """
    from torch import nn
    from trainlab.models.custom import make_activation, width_factor

    def build(cfg, image_shape, num_classes):
        c, h, w = image_shape
        k = width_factor(cfg)
        return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 16 * k), make_activation(cfg),
                             nn.Dropout(cfg.dropout), nn.Linear(16, num_classes))
"""


def factory(root: Path, body: str, name: str = "net.py") -> ModelConfig:
    """`nets/<name>` under `root` holding `body`, and the model section naming its `build`."""
    path = root / "nets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return ModelConfig(arch=f"nets/{name}:build", arch_file="nets")


@pytest.mark.parametrize(("body", "message"), [
    ("import no_such_package\n",
     r"model\.arch = 'nets/net\.py:build': module 'nets/net\.py' does not import "
     r"\(ModuleNotFoundError: No module named 'no_such_package'\)"),
    ("def other(cfg, image_shape, num_classes):\n    pass\n",
     r"nets/net\.py has no function 'build' \(its functions: other\); define def build"),
    ("def build(cfg, image_shape, num_classes):\n    return 'a network'\n",
     r"the factory returned str, not a torch nn\.Module"),
    ("from torch import nn\ndef build(cfg, image_shape, num_classes):\n"
     "    return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes + 1))\n",
     r"output on one batch of shape \(2, 1, 8, 8\) is \(2, 11\); it must be \(B, classes\) = "
     r"\(2, 10\) logits"),
    ("from torch import nn\ndef build(cfg, image_shape, num_classes):\n"
     "    return nn.Sequential(nn.Linear(64, num_classes))\n",
     r"the network failed on one batch of shape \(2, 1, 8, 8\) with activation='relu' "
     r"\(RuntimeError: mat1 and mat2"),
    ("def build(cfg, image_shape, num_classes):\n    raise ValueError('too small')\n",
     r"the factory raised ValueError: too small for activation='relu'"),
])
def test_a_bad_factory_stops_with_its_message(project, body, message):
    cfg = factory(project, body)
    with pytest.raises(ConfigError, match=message):
        check_network(cfg, SHAPE, 10)


def test_a_module_that_does_not_import_names_the_module_and_the_error(project):
    cfg = ModelConfig(arch="no_such_pkg.nets:build")
    message = (r"module 'no_such_pkg\.nets' does not import "
               r"\(ModuleNotFoundError: No module named 'no_such_pkg'\)")
    with pytest.raises(ConfigError, match=message):
        check_network(cfg, SHAPE, 10)


def test_a_missing_file_names_the_path_and_where_it_was_looked_for(project):
    with pytest.raises(ConfigError, match=r"file 'nets/none\.py' not found in .*relative to "
                                          r"the project root"):
        check_network(ModelConfig(arch="nets/none.py:build", arch_file="nets"), SHAPE, 10)


def test_a_factory_without_trainlab_activation_is_refused_only_when_the_grid_varies_it(project):
    cfg = factory(project, """
        from torch import nn
        def build(cfg, image_shape, num_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(),
                                 nn.Linear(16, num_classes))
    """)
    check_network(cfg, SHAPE, 10)  # one activation: nothing to compare
    with pytest.raises(ConfigError, match=r"builds no trainlab activation while grid\.activation "
                                          r"varies \(relu, tanh\): the activation axis would "
                                          r"compare identical networks"):
        check_network(cfg, SHAPE, 10, ["relu", "tanh"])


def test_a_good_factory_passes_every_activation_maxout_included(project):
    check_network(factory(project, GOOD), SHAPE, 10, ["relu", "maxout", "sigmoid"])


def test_the_factory_file_must_lie_under_arch_file_so_dvc_reruns_on_edits(project):
    cfg = factory(project, GOOD).model_copy(update={"arch_file": "src/trainlab/models"})
    message = (r"defined in nets/net\.py but model\.arch_file = 'src/trainlab/models'.*set "
               r"model\.arch_file=nets/net\.py")
    with pytest.raises(ConfigError, match=message):
        check_network(cfg, SHAPE, 10)


@pytest.mark.parametrize("arch", ["resnet", "nets/x.txt:build", "../nets/x.py:build",
                                  "/abs/x.py:build", "pkg.mod:"])
def test_arch_syntax_is_checked_on_load(arch):
    with pytest.raises(ValueError, match=r"allowed: 'mlp', 'cnn', or your own network's factory"):
        ModelConfig(arch=arch)


def test_a_checkpoint_of_a_custom_network_reloads_with_its_weights(project):
    cfg = factory(project, GOOD, "reload.py")
    torch.manual_seed(0)
    module = RecipeModule(cfg.model_dump(), {}, {}, SHAPE, 10, "none")
    path = project / "custom.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)},
               path)
    loaded = load_module(path)
    assert loaded.model_cfg.arch == "nets/reload.py:build"  # the checkpoint records the factory
    images = torch.rand(4, *SHAPE)
    with torch.no_grad():
        assert torch.equal(loaded(images), module.eval()(images))


def test_the_recipe_hash_follows_the_factory_code_not_arch_file(project):
    cfg = factory(project, GOOD, "hashed.py")
    base = Config().replace(**{"model.arch": cfg.arch, "model.arch_file": "nets"})
    before, digest = recipe_hash(base, "fp"), code_digest(cfg.arch)
    assert recipe_hash(base.replace(**{"model.arch_file": "nets/hashed.py"}), "fp") == before
    (project / "nets" / "hashed.py").write_text(textwrap.dedent(GOOD) + "\n# edited\n")
    assert code_digest(cfg.arch) != digest and recipe_hash(base, "fp") != before
    assert recipe_hash(Config().replace(**{"model.arch_file": "nets"}), "fp") == \
        recipe_hash(Config(), "fp")  # a built-in network's hash ignores arch_file
