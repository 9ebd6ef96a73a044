"""Registered models: a version is a new model, so registering the same checkpoints again adds
none (the alias stays on it), and a changed checkpoint adds one (the alias moves to it)."""

from __future__ import annotations

from pathlib import Path

import torch

from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.registry import ALIAS, CHECKPOINTS_TAG, example_images, register
from trainlab.tracking import client_for
from trainlab.training.recipe import build_module

NAME = "tests-recipe"


def _checkpoint(path: Path, seed: int) -> Path:
    """An untrained trainlab checkpoint (seeded weights): enough for a pyfunc model."""
    cfg = load_config()
    torch.manual_seed(seed)
    module = build_module(cfg, load_prepared(cfg.data.prepared_dir))
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)},
               path)
    return path


def test_the_same_run_and_checkpoint_register_once_and_a_changed_one_anew(prepared):
    cfg = load_config()
    client = client_for(cfg.tracking)
    example = example_images(load_prepared(cfg.data.prepared_dir))
    run_id = client.create_run(client.create_experiment("registry")).info.run_id
    checkpoint = _checkpoint(prepared / "best.ckpt", seed=0)

    first = register(client, run_id, NAME, [checkpoint], example)
    again = register(client, run_id, NAME, [checkpoint], example)  # a rerun, nothing new

    assert first == again == "1"
    assert [str(v.version) for v in client.search_model_versions(f"name = '{NAME}'")] == ["1"]
    assert str(client.get_model_version_by_alias(NAME, ALIAS).version) == "1"

    _checkpoint(checkpoint, seed=1)  # the same path, other weights: another model
    changed = register(client, run_id, NAME, [checkpoint], example)

    assert changed == "2"
    versions = client.search_model_versions(f"name = '{NAME}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    assert str(client.get_model_version_by_alias(NAME, ALIAS).version) == "2"
    assert len({v.tags[CHECKPOINTS_TAG] for v in versions}) == 2
