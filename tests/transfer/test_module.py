"""What each mode trains: linear probe (head only), finetune (top blocks), scratch (all)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn

from trainlab.models.scoring import module_accuracy
from trainlab.training.trainer import build_trainer, load_best
from trainlab.transfer.backbones import Backbone
from trainlab.transfer.module import (
    Batches,
    CellData,
    TransferModule,
    frozen_features,
)

CPU = torch.device("cpu")


def toy_backbone() -> Backbone:
    """Three blocks with BatchNorm (whose running statistics must not move when frozen)."""
    torch.manual_seed(0)
    blocks = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()),
        nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
        nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 8), nn.ReLU()),
    )
    return Backbone("toy", nn.Identity(), blocks, 8, pretrained=True)


@pytest.fixture
def images() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 1, 8, 8), dtype=torch.uint8, generator=generator)
    return x, torch.arange(96) % 3


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], module: nn.Module) -> dict[str, bool]:
    return {k: not torch.equal(before[k], v) for k, v in module.state_dict().items()}


def train(module: TransferModule, x: torch.Tensor, y: torch.Tensor, folder: Path,
          epochs: int = 2) -> ModelCheckpoint:
    """Fit as a transfer cell does (the shared Trainer factory, untracked); its best snapshot."""
    trainer, best = build_trainer(max_epochs=epochs, device=CPU, checkpoint_dir=folder, run=None)
    trainer.fit(module, datamodule=CellData(Batches(x, y, 16, shuffle=True, min_steps=3),
                                            Batches(x, y, 32)))
    return best


def test_linear_probe_trains_the_head_on_features_computed_once(images, tmp_path):
    x, y = images
    backbone = toy_backbone().train()  # even in train mode, features must not touch BN stats
    before = snapshot(backbone)
    features = frozen_features(backbone, x, CPU)
    assert features.shape == (96, 8) and backbone.training
    head = nn.Linear(8, 3)
    head_before = snapshot(head)
    module = TransferModule(head, lr=0.05)
    train(module, features, y, tmp_path)
    assert not any(changed(before, backbone).values())  # weights and running statistics
    assert all(changed(head_before, head).values())
    assert len(module.configure_optimizers().param_groups) == 1  # the head alone trains


def test_finetune_trains_the_top_blocks_and_leaves_the_frozen_ones_alone(images, tmp_path):
    x, y = images
    backbone = toy_backbone()
    frozen, top = backbone.split(1)
    pretrained_top = snapshot(top)
    frozen_before = snapshot(frozen)
    cell_top = copy.deepcopy(top)  # each cell fine-tunes its own copy
    module = TransferModule(nn.Linear(8, 3), top=cell_top, frozen=frozen, lr=0.01,
                            backbone_lr=0.001)
    train(module, x, y, tmp_path)
    assert not any(changed(frozen_before, frozen).values())  # BatchNorm statistics included
    moved = changed(pretrained_top, cell_top)
    assert moved["0.2.weight"] and moved["0.2.bias"]  # the Linear of the (only) top block
    assert not any(changed(pretrained_top, top).values())  # the pretrained copy is untouched
    lrs = [group["lr"] for group in module.configure_optimizers().param_groups]
    assert lrs == [0.01, 0.001]  # head at lr, backbone at lr * backbone_lr_factor


def test_finetune_all_blocks_changes_every_block(images, tmp_path):
    x, y = images
    backbone = toy_backbone()
    before = snapshot(backbone.blocks)
    prep, body = backbone.split("all")
    assert len(prep) == 1  # only the parameter-free input adaptor stays frozen
    module = TransferModule(nn.Linear(8, 3), top=body, frozen=prep, lr=0.01, backbone_lr=0.01)
    train(module, x, y, tmp_path)
    moved = changed(before, backbone.blocks)
    for block in ("0", "1", "2"):
        assert any(v for k, v in moved.items() if k.startswith(f"{block}.")), block
    assert moved["0.1.running_mean"]  # trainable BatchNorm updates its statistics


def test_frozen_part_stays_in_eval_mode_while_training():
    backbone = toy_backbone()
    frozen, top = backbone.split(1)
    module = TransferModule(nn.Linear(8, 3), top=top, frozen=frozen).train()
    assert module.training and module.top.training
    assert not any(m.training for m in module.frozen.modules())


def test_best_snapshot_restores_the_best_epoch_and_accuracy_reads_it(images, tmp_path):
    x, y = images
    module = TransferModule(nn.Linear(64, 3), frozen=nn.Flatten(), lr=0.05)
    best = train(module, x.float() / 255, y, tmp_path, epochs=3)
    assert Path(best.best_model_path) == tmp_path / "best.ckpt"
    epoch = load_best(module, best, CPU)
    assert 0 <= epoch < 3
    score = module_accuracy(module, Batches(x.float() / 255, y, 32))  # the val batches
    assert score == pytest.approx(float(best.best_model_score))


def test_batches_cycle_small_sets_to_min_steps_and_are_seeded():
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    y = torch.arange(10)
    batches = Batches(x, y, 4, shuffle=True, seed=1, min_steps=5)
    assert len(batches) == 5  # ceil(10 / 4) = 3 batches, raised to 5
    epoch = list(batches)
    seen = torch.cat([b[1] for b in epoch])
    assert len(seen) == 20 and seen.bincount(minlength=10).tolist() == [2] * 10
    assert epoch[0][0].dtype == torch.float32 and float(epoch[0][0].max()) <= 9 / 255 + 1e-6
    again = list(Batches(x, y, 4, shuffle=True, seed=1, min_steps=5))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(epoch, again, strict=True))
    in_order = list(Batches(x, y, 4, min_steps=5))  # evaluation: every image once, in order
    assert torch.cat([b[1] for b in in_order]).tolist() == list(range(10))
