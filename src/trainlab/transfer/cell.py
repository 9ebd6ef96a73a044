"""One transfer cell: a backbone x mode x target size trained, scored, tracked as one run.

The cell trains through the project's one Trainer factory
(:func:`trainlab.training.trainer.build_trainer`), as a recipe does: the MLflow logger at
the absolute tracking URI, early stopping and the best snapshot on the target val accuracy,
kept as `transfer.models_dir`/cells/<run id>/best.ckpt. The test and train accuracies come
from that snapshot.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from mlflow.tracking import MlflowClient
from torch import nn

from trainlab.config.params import Config
from trainlab.config.pretrained import TransferConfig
from trainlab.correctness import FILE as CORRECT_FILE
from trainlab.correctness import save_correct
from trainlab.data.prepared import PreparedData
from trainlab.io import project_path
from trainlab.models.scoring import module_accuracy, module_correct
from trainlab.progress import on_terminal
from trainlab.provenance import provenance_tags
from trainlab.tracking import KIND_TAG, TRANSFER_KIND, log_params, tracked_run
from trainlab.training.trainer import TrackedRun, build_trainer, fit_best
from trainlab.transfer.backbones import Backbone
from trainlab.transfer.features import Inputs
from trainlab.transfer.module import FEATURE_BATCH, Batches, CellData, TransferModule
from trainlab.transfer.results import CellResult


@dataclass(frozen=True)
class CellSetup:
    """What every cell of one stage run shares."""

    cfg: Config
    data: PreparedData  # the prepared data the target task comes from (its tags)
    subsets: dict[int, torch.Tensor]  # actual size -> target train indices
    device: torch.device
    client: MlflowClient
    parent_run_id: str  # the stage's run


def stage_params(cfg: Config) -> dict[str, Any]:
    """The params the stage reads (seed, model, transfer, stats.seeds), under their dotted
    keys."""
    return cfg.flat("seed", "model", "transfer") | {"stats.seeds": cfg.stats.seeds}


def pretrained_module(mode: str, backbone: Backbone, frozen: nn.Module, top: nn.Module,
                      raw_inputs: bool, num_classes: int, t: TransferConfig) -> TransferModule:
    """A linear probe (a new head on the cached features) or a fine-tune (the top blocks,
    copied from the pretrained ones, and a new head; `frozen` runs per batch only when the
    inputs are raw images rather than its cached output)."""
    head = nn.Linear(backbone.feature_dim, num_classes)
    if mode == "linear_probe":
        return TransferModule(head, lr=t.lr)
    return TransferModule(
        head, top=copy.deepcopy(top),  # every cell starts from the pretrained weights
        frozen=frozen if raw_inputs else None, lr=t.lr, backbone_lr=t.lr * t.backbone_lr_factor,
    )


def seed_cell(seed: int) -> None:
    """Seed a cell's training: its head (and scratch's network) initialisation and data order."""
    pl.seed_everything(seed, workers=False, verbose=False)


def run_cell(
    setup: CellSetup,
    backbone: str,
    mode: str,
    requested: str,
    size: int,
    module: TransferModule,
    inputs: Inputs,
    extra_params: dict[str, Any],
    callbacks: Sequence[Callback] = (),
    kind: str = TRANSFER_KIND,
    *,
    seed: int,
) -> CellResult:
    """Train one cell at one seed, keep its best val snapshot, evaluate it, and track it as
    one run (each of `Config.training_seeds` is a run and a transfer.csv row of its own).

    `callbacks` join the Trainer's own (as `train_recipe`'s do). `kind` tags the run (the
    leaderboard's baselines are cells on the whole task, kept apart from the transfer study).
    `seed` seeds the head's initialisation and the batch order.
    """
    cfg, t = setup.cfg, setup.cfg.transfer
    started = time.perf_counter()
    seed_cell(seed)
    module.head.reset_parameters()  # seeded: every cell of one seed starts from the same head
    index = setup.subsets[size].to(setup.device)
    train_x, train_y = inputs.splits["train"][index], inputs.labels["train"][index]
    data = CellData(
        Batches(train_x, train_y, t.batch_size, shuffle=True, seed=seed,
                min_steps=t.min_steps),
        Batches(inputs.splits["val"], inputs.labels["val"], FEATURE_BATCH),
    )
    tags = provenance_tags(setup.data.fingerprint) | {
        KIND_TAG: kind, "transfer.backbone": backbone, "transfer.mode": mode,
        "transfer.size": str(size), "transfer.requested_size": requested,
        "transfer.seed": str(seed), "data.dataset": setup.data.dataset,
    }
    run_name = f"{kind}-{backbone}-{mode}-{size}-s{seed}"
    with tracked_run(setup.client, cfg.tracking.experiment, run_name, tags,
                     setup.parent_run_id) as run_id:
        log_params(setup.client, run_id, stage_params(cfg) | {
            "cell.backbone": backbone, "cell.mode": mode, "cell.size": size, "cell.seed": seed,
            "cell.head_lr": module.hparams["lr"],
            "cell.backbone_lr": module.hparams["backbone_lr"] if mode != "linear_probe" else 0.0,
            **{f"cell.{k}": v for k, v in extra_params.items()},
        })
        trainer, checkpoint = build_trainer(
            max_epochs=t.epochs, device=setup.device,
            # The run id is one seed's: no seed's snapshot or correctness overwrites another's.
            checkpoint_dir=Path(t.models_dir) / "cells" / run_id,
            run=TrackedRun(setup.client, cfg.tracking.experiment, run_id), patience=t.patience,
            callbacks=callbacks, progress=on_terminal(),
        )
        with fit_best(trainer, checkpoint, module, data, setup.device) as best:
            best_epoch, val_acc = best.epoch, best.score
            correct = module_correct(module, Batches(inputs.splits["test"],
                                                     inputs.labels["test"], FEATURE_BATCH))
            test_acc = correct.double().mean().item()
            # Per test image, for claim 9's paired interval (the cells share the images).
            assert checkpoint.dirpath is not None  # build_trainer gave it checkpoint_dir
            correct_path = save_correct(Path(checkpoint.dirpath) / CORRECT_FILE,
                                        correct.cpu().numpy())
            train_acc = module_accuracy(module, Batches(train_x, train_y, FEATURE_BATCH))
            seconds = time.perf_counter() - started
            best.final.update({
                "test/acc": test_acc, "final/train_acc": train_acc,
                "gap/acc": train_acc - test_acc, "val/acc_best": val_acc,
                "epochs_run": trainer.current_epoch, "best_epoch": best_epoch,
                "time/seconds": seconds,
            })
    return CellResult(
        backbone=backbone, mode=mode, size=size, seed=seed, requested_size=requested,
        test_acc=test_acc,
        final_train_acc=train_acc, gap_acc=train_acc - test_acc, val_acc=val_acc,
        epochs=trainer.current_epoch, best_epoch=best_epoch, seconds=seconds, run_id=run_id,
        test_correct=project_path(correct_path),
    )
