"""Bad input, table-driven: each case exits 2 (usage/config) or 1 (data/runtime) with one
message that names the file or key, the value and the fix, and changes nothing on disk: not the
tracking database, not the Optuna storage, not data/ or models/.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import stagefiles  # tests/stagefiles.py
import torch
from PIL import Image

from trainlab.cli import main
from trainlab.stagefile import write_model


def snapshot(root: Path) -> dict[str, str]:
    """Every file under the project with a hash of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _imagefolder(root: Path, classes: dict[str, int], corrupt: str | None = None) -> None:
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new("L", (8, 8), color=i * 20).save(root / name / f"{i}.png")
    if corrupt:
        (root / corrupt).write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")


def _truncate_prepared(root: Path) -> None:
    data = root / "data" / "prepared" / "data.pt"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])


def _manifest(root: Path, checkpoint: Path) -> None:
    member = stagefiles.member(1, "r", str(checkpoint.relative_to(root)), 0.5, trial=0,
                               test_acc=0.5)
    write_model(root / "models" / "search" / "manifest.json", stagefiles.manifest([member]))


def _network(body: str) -> Callable[[Path], None]:
    """`nets/net.py` holding `body`: a user's network factory (model.arch, issue 26)."""

    def setup(root: Path) -> None:
        (root / "nets").mkdir()
        (root / "nets" / "net.py").write_text("from torch import nn\n" + body)

    return setup


# `model.arch` naming nets/net.py's `build`, and the file DVC watches for it.
NET = ["--set", "model.arch=nets/net.py:build", "--set", "model.arch_file=nets/net.py"]


class Payload:
    """A pickled object: loading it with weights_only=False would run code."""

    def __reduce__(self):
        return (print, ("pwned",))


def _checkpoint(kind: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / "models" / "search" / "rank1_trial0.ckpt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "corrupted":
            path.write_bytes(b"PK\x03\x04 truncated zip")
        elif kind == "foreign":
            torch.save({"weights": torch.zeros(3)}, path)
        else:
            torch.save({"state_dict": {}, "hyper_parameters": {}, "evil": Payload()}, path)
        _manifest(root, path)

    return setup


@dataclass
class Case:
    name: str
    args: list[str]
    code: int
    message: str  # regex the one-line message must match
    setup: Callable[[Path], None] | None = None
    params: str | None = None  # replaces params.yaml
    needs_prepared: bool = True


CASES = [
    # --- usage and config: exit 2 -------------------------------------------------------
    Case("unknown key", ["train", "--set", "train.lrr=0.1"], 2,
         r"unknown key 'train\.lrr' \(value 0\.1\); allowed keys here: .*\blr\b"),
    Case("wrong type", ["train", "--set", "train.epochs=many"], 2,
         r"train\.epochs = 'many' is not allowed: must be a valid integer"),
    Case("negative learning rate", ["train", "--set", "train.lr=-0.01"], 2,
         r"train\.lr = -0\.01 is not allowed: must be greater than 0"),
    Case("dropout 1.5", ["train", "--set", "model.dropout=1.5"], 2,
         r"model\.dropout = 1\.5 is not allowed: must be less than 1"),
    Case("unknown preset name", ["search", "--set", "grid.regularization=[none,l3]"], 2,
         r"grid\.regularization = \['none', 'l3'\] names \['l3'\], not defined under "
         r"presets\.regularization; defined: none \(define it under presets"),
    Case("empty grid", ["search", "--set", "grid.activation=[]"], 2,
         r"grid\.activation is empty"),
    Case("unknown activation", ["train", "--set", "model.activation=swish"], 2,
         r"model\.activation = 'swish' is not allowed: allowed: 'sigmoid'"),
    Case("unknown dataset", ["prepare", "--set", "data.dataset=imagenet"], 2,
         r"data\.dataset = 'imagenet' is not allowed: allowed: 'fashion_mnist'"),
    Case("unknown sampler", ["search", "--set", "search.sampler=random"], 2,
         r"search\.sampler = 'random' is not allowed: allowed: 'grid' or 'tpe'"),
    Case("unknown backbone", ["transfer", "--set", "transfer.backbones=[vgg16]"], 2,
         r"transfer\.backbones\.0 = 'vgg16' is not allowed: allowed: 'efficientnet_lite0'"),
    Case("malformed params.yaml", ["train"], 2, r"params\.yaml: malformed YAML",
         params="train: {lr: [0.1\n"),
    Case("output path outside the project", ["prepare", "--set", "data.prepared_dir=../x"], 2,
         r"data\.prepared_dir = '\.\./x' is not allowed: must be a relative path inside"),
    # The prepared data is digits (conftest): a command may not train on it as other data.
    Case("data keys naming other data than the prepared", ["train", "--set",
                                                            "data.dataset=fashion_mnist"], 2,
         r"the params name other data than data/prepared holds \(its meta\.json\): "
         r"data\.dataset = 'fashion_mnist' \(prepared: 'digits'\); run `trainlab prepare` "
         r"\(or `dvc repro`\) to prepare the data these params name"),
    # A user's network (model.arch names a factory): checked on one batch before any training.
    Case("custom network that does not import", ["train", *NET], 2,
         r"model\.arch = 'nets/net\.py:build': module 'nets/net\.py' does not import "
         r"\(ModuleNotFoundError: No module named 'no_such_package'\)",
         setup=_network("import no_such_package\n")),
    Case("custom network module that does not import", ["train", "--set",
                                                        "model.arch=no_such_pkg.nets:build"], 2,
         r"module 'no_such_pkg\.nets' does not import \(ModuleNotFoundError: No module named "
         r"'no_such_pkg'\); make it importable"),
    Case("custom network without its function", ["train", *NET], 2,
         r"nets/net\.py has no function 'build' \(its functions: make\); define def build\(cfg, "
         r"image_shape, num_classes\)", setup=_network("def make(cfg, shape, n):\n    pass\n")),
    Case("custom network factory returning no module", ["train", *NET], 2,
         r"the factory returned dict, not a torch nn\.Module",
         setup=_network("def build(cfg, shape, n):\n    return {}\n")),
    Case("custom network with the wrong output shape", ["train", *NET], 2,
         r"output on one batch of shape \(2, 1, 8, 8\) is \(2, 64\); it must be \(B, classes\) "
         r"= \(2, 10\) logits",
         setup=_network("def build(cfg, shape, n):\n    return nn.Flatten()\n")),
    Case("custom network ignoring the activation",
         ["search", *NET, "--set", "grid.activation=[relu,tanh]"], 2,
         r"builds no trainlab activation while grid\.activation varies \(relu, tanh\): the "
         r"activation axis would compare identical networks",
         setup=_network("def build(cfg, shape, n):\n    return nn.Sequential(nn.Flatten(), "
                        "nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, n))\n")),
    # --- data and runtime: exit 1 -------------------------------------------------------
    Case("missing dataset folder",
         ["prepare", "--set", "data.dataset=imagefolder", "--set", "data.root=no_such_dir"], 1,
         r"no_such_dir", needs_prepared=False),
    Case("imagefolder without images",
         ["prepare", "--set", "data.dataset=imagefolder", "--set", "data.root=images"], 1,
         r"no images under images", setup=lambda r: _imagefolder(r / "images", {"a": 0, "b": 0}),
         needs_prepared=False),
    Case("imagefolder with one class",
         ["prepare", "--set", "data.dataset=imagefolder", "--set", "data.root=images"], 1,
         r"images has 1 class folder.*needs at least 2",
         setup=lambda r: _imagefolder(r / "images", {"a": 6}),
         needs_prepared=False),
    Case("corrupted image file",
         ["prepare", "--set", "data.dataset=imagefolder", "--set", "data.root=images"], 1,
         r"bad\.png", setup=lambda r: _imagefolder(r / "images", {"a": 6, "b": 6}, "a/bad.png"),
         needs_prepared=False),
    Case("truncated prepared data", ["train"], 1, r"data\.pt.*trainlab prepare",
         setup=_truncate_prepared),
    Case("corrupted checkpoint", ["ensemble"], 1, r"rank1_trial0\.ckpt.*(corrupted|truncated)",
         setup=_checkpoint("corrupted")),
    Case("foreign checkpoint", ["ensemble"], 1, r"rank1_trial0\.ckpt.*not a trainlab checkpoint",
         setup=_checkpoint("foreign")),
    Case("checkpoint carrying a pickled object", ["ensemble"], 1,
         r"rank1_trial0\.ckpt.*refused", setup=_checkpoint("pickled")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_exits_with_a_clear_message_and_changes_nothing(case, project, capsys):
    if case.needs_prepared:
        assert main(["prepare"]) == 0
    if case.setup:
        case.setup(project)
    if case.params is not None:
        (project / "params.yaml").write_text(case.params)
    capsys.readouterr()
    before = snapshot(project)

    code = main(case.args)

    err = capsys.readouterr().err.strip()
    assert code == case.code, err
    assert len(err.splitlines()) == 1, err
    assert re.search(case.message, err), err
    assert snapshot(project) == before  # no database, storage, data or model file touched
