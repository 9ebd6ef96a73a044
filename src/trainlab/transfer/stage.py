"""The transfer stage: backbone x mode x target size, each cell one tracked MLflow run.

Per backbone: the pretrained backbone's frozen part is computed once for the target task's
train/val/test images (the linear probe trains on those features; fine-tuning on the cached
output of the frozen bottom blocks when that is no bigger than the input); then every mode
trains at every target size, and `scratch` trains the same architecture from random weights.
Early stopping and the best snapshot use the target val accuracy; the test accuracy comes
from the best snapshot.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.tracking import MlflowClient
from torch import nn

from trainlab.config import Config
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.data.preprocessing import Normalize
from trainlab.io import project_path
from trainlab.models.networks import build_network
from trainlab.models.scoring import module_accuracy
from trainlab.provenance import provenance_tags
from trainlab.stagefile import write_model, write_rows
from trainlab.tracking import (
    KIND_TAG,
    TRANSFER_KIND,
    TRANSFER_STAGE_KIND,
    client_for,
    log_metrics,
    log_params,
    tracked_run,
)
from trainlab.training.recipe import MONITOR, fit, resolve_device
from trainlab.transfer.backbones import (
    Backbone,
    check_weights,
    imagenet_backbone,
    source_backbone,
)
from trainlab.transfer.module import (
    FEATURE_BATCH,
    Batches,
    BestSnapshot,
    CellData,
    TransferModule,
    frozen_features,
)
from trainlab.transfer.results import CellResult, TransferSummary, summarise
from trainlab.transfer.source import pretrain_source
from trainlab.transfer.tasks import TargetTask, check_classes, plan_target

SPLITS = ("train", "val", "test")


@dataclass
class TransferStudy:
    """Every cell, the stage summary (the DVC metrics) and the parent MLflow run."""

    cells: list[CellResult]
    summary: TransferSummary
    parent_run_id: str


@dataclass
class Inputs:
    """What one kind of module eats, for the whole target task, on the device.

    `splits` maps train/val/test to uint8 images or float features (N, ...); labels alike.
    """

    splits: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]


@dataclass
class Context:
    cfg: Config
    task: TargetTask
    sizes: list[tuple[str, int]]  # (requested, actual)
    subsets: dict[int, torch.Tensor]  # actual size -> target train indices
    images: Inputs  # raw target images
    device: torch.device
    client: MlflowClient
    parent_run_id: str
    data: PreparedData
    on_cell: Callable[[CellResult], None] | None = None
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)  # per backbone, for the summary


def run_transfer_study(
    cfg: Config,
    data: PreparedData,
    *,
    client: MlflowClient | None = None,
    on_cell: Callable[[CellResult], None] | None = None,
) -> TransferStudy:
    """Run every cell of `cfg.transfer` on the prepared data, tracked under one parent run.

    Raises:
        ConfigError: a source/target class the dataset lacks, or a size below the class count.
        DataError: pretrained weights missing or unreadable.
    """
    t = cfg.transfer
    check_classes(t, data)
    check_weights(t)
    started = time.perf_counter()
    if t.threads:
        torch.set_num_threads(t.threads)
    device = resolve_device(t.device)
    plan = plan_target(data, t, cfg.seed)
    task = plan.task
    images = Inputs(
        {name: getattr(task, name).images.to(device) for name in SPLITS},
        {name: getattr(task, name).labels.to(device) for name in SPLITS},
    )
    client = client or client_for(cfg.tracking)
    tags = provenance_tags(data.fingerprint) | {KIND_TAG: TRANSFER_STAGE_KIND,
                                                "data.dataset": data.dataset}
    with tracked_run(client, cfg.tracking.experiment, "transfer", tags) as parent_run_id:
        log_params(client, parent_run_id, stage_params(cfg))
        ctx = Context(cfg, task, list(plan.sizes), plan.subsets, images, device, client,
                      parent_run_id, data, on_cell)
        cells: list[CellResult] = []
        for name in t.backbones:
            cells += run_backbone(ctx, name)
        seconds = time.perf_counter() - started
        summary = summarise(cells, ctx.notes, seconds, t.source_classes, t.target_classes)
        log_metrics(client, parent_run_id, {"time/seconds": seconds, "cells": len(cells)})
        client.log_dict(parent_run_id, summary.model_dump(mode="json"), "transfer.json")
    return TransferStudy(cells, summary, parent_run_id)


def stage_params(cfg: Config) -> dict[str, Any]:
    """The params the stage reads (seed, model, transfer), under their dotted keys."""
    return cfg.flat("seed", "model", "transfer")


# --- one backbone ------------------------------------------------------------------------
def run_backbone(ctx: Context, name: str) -> list[CellResult]:
    """Every mode x size of one backbone: pretrained modes first, then scratch."""
    t = ctx.cfg.transfer
    cells: list[CellResult] = []
    pretrained_modes = [m for m in t.modes if m != "scratch"]
    if pretrained_modes:
        backbone = pretrained_backbone(ctx, name)
        frozen, top = backbone.split(t.finetune_blocks)
        started = time.perf_counter()
        probe, tune = frozen_inputs(ctx, backbone, frozen, top, "finetune" in pretrained_modes)
        # Computed once, shared by the cells (whose own seconds leave it out).
        ctx.notes.setdefault(name, {})["feature_seconds"] = round(time.perf_counter() - started, 2)
        blocks = len(top)
        for mode in pretrained_modes:
            for requested, size in ctx.sizes:
                if mode == "linear_probe":
                    module = TransferModule(nn.Linear(backbone.feature_dim, ctx.task.num_classes),
                                            lr=t.lr)
                    inputs = probe
                else:
                    module = TransferModule(
                        nn.Linear(backbone.feature_dim, ctx.task.num_classes),
                        top=copy.deepcopy(top),  # every cell starts from the pretrained weights
                        frozen=None if tune is not ctx.images else frozen,
                        lr=t.lr, backbone_lr=t.lr * t.backbone_lr_factor,
                    )
                    inputs = tune
                trainable = 0 if mode == "linear_probe" else blocks
                cells.append(run_cell(ctx, name, mode, requested, size, module, inputs,
                                      {"trainable_blocks": trainable}))
    if "scratch" in t.modes:
        for requested, size in ctx.sizes:
            seed_cell(ctx)  # the random initialisation is part of the cell: seeded
            fresh = random_backbone(ctx, name)
            prep, body = fresh.split("all")
            module = TransferModule(nn.Linear(fresh.feature_dim, ctx.task.num_classes),
                                    top=body, frozen=prep, lr=t.lr, backbone_lr=t.lr)
            cells.append(run_cell(ctx, name, "scratch", requested, size, module, ctx.images,
                                  {"trainable_blocks": len(body)}))
    return cells


def pretrained_backbone(ctx: Context, name: str) -> Backbone:
    t = ctx.cfg.transfer
    if name == "source":
        source = pretrain_source(ctx.cfg, ctx.data, parent_run_id=ctx.parent_run_id,
                                 client=ctx.client)
        ctx.notes.setdefault(name, {}).update({
            "source_test_acc": round(source.result.metrics["test/acc"], 4),
            "source_seconds": round(source.result.seconds, 2),
            "source_checkpoint": project_path(source.result.checkpoint),
            "source_run_id": source.result.run_id,
        })
        module = source.module
        return source_backbone(module.net, module.normalize, pretrained=True).to(ctx.device)
    return imagenet_backbone(name, True, t.image_size, t.resnet18_weights).to(ctx.device)


def random_backbone(ctx: Context, name: str) -> Backbone:
    """The same architecture as the pretrained backbone, randomly initialised."""
    t = ctx.cfg.transfer
    if name == "source":
        # The prepared-data statistics: scratch never sees the source network.
        net = build_network(ctx.cfg.model, ctx.data.image_shape, ctx.task.num_classes)
        normalize = Normalize(ctx.data.preprocessing, ctx.data.stats)
        return source_backbone(net, normalize, pretrained=False).to(ctx.device)
    return imagenet_backbone(name, False, t.image_size, t.resnet18_weights).to(ctx.device)


def frozen_inputs(
    ctx: Context, backbone: Backbone, frozen: nn.Module, top: nn.Module, finetune: bool
) -> tuple[Inputs, Inputs]:
    """(linear-probe features, fine-tune inputs), each computed once for the whole task.

    Fine-tuning trains on the cached output of the frozen bottom blocks when there are any
    and that output is no bigger per image than the resized input (so caching never costs
    more memory than the input itself); else on the raw images, through `frozen` per batch.
    """
    labels = ctx.images.labels
    bottom = {}
    if finetune and len(frozen) > 1 and _cache_fits(backbone, frozen, ctx):
        bottom = {k: frozen_features(frozen, v, ctx.device) for k, v in ctx.images.splits.items()}
    if bottom:
        probe = {k: frozen_features(top, v, ctx.device) for k, v in bottom.items()}
        return Inputs(probe, labels), Inputs(bottom, labels)
    probe = {k: frozen_features(backbone, v, ctx.device) for k, v in ctx.images.splits.items()}
    return Inputs(probe, labels), ctx.images


def _cache_fits(backbone: Backbone, frozen: nn.Module, ctx: Context) -> bool:
    sample = ctx.images.splits["train"][:1]
    prep = frozen_features(backbone.prep, sample, ctx.device)
    return frozen_features(frozen, sample, ctx.device).numel() <= prep.numel()


# --- one cell ----------------------------------------------------------------------------
def seed_cell(ctx: Context) -> None:
    pl.seed_everything(ctx.cfg.seed, workers=False, verbose=False)


def run_cell(
    ctx: Context,
    backbone: str,
    mode: str,
    requested: str,
    size: int,
    module: TransferModule,
    inputs: Inputs,
    extra_params: dict[str, Any],
) -> CellResult:
    """Train one cell, keep its best val snapshot, evaluate it, and track it as one run."""
    t = ctx.cfg.transfer
    started = time.perf_counter()
    seed_cell(ctx)
    module.head.reset_parameters()  # seeded: the same head initialisation in every cell
    index = ctx.subsets[size].to(ctx.device)
    train_x, train_y = inputs.splits["train"][index], inputs.labels["train"][index]
    data = CellData(
        Batches(train_x, train_y, t.batch_size, shuffle=True, seed=ctx.cfg.seed,
                min_steps=t.min_steps),
        Batches(inputs.splits["val"], inputs.labels["val"], FEATURE_BATCH),
    )
    tags = provenance_tags(ctx.data.fingerprint) | {
        KIND_TAG: TRANSFER_KIND, "transfer.backbone": backbone, "transfer.mode": mode,
        "transfer.size": str(size), "transfer.requested_size": requested,
        "data.dataset": ctx.data.dataset,
    }
    run_name = f"transfer-{backbone}-{mode}-{size}"
    with tracked_run(ctx.client, ctx.cfg.tracking.experiment, run_name, tags,
                     ctx.parent_run_id) as run_id:
        log_params(ctx.client, run_id, stage_params(ctx.cfg) | {
            "cell.backbone": backbone, "cell.mode": mode, "cell.size": size,
            "cell.head_lr": module.hparams.lr,
            "cell.backbone_lr": module.hparams.backbone_lr if mode != "linear_probe" else 0.0,
            **{f"cell.{k}": v for k, v in extra_params.items()},
        })
        best = BestSnapshot(MONITOR)
        callbacks: list[Callback] = [best]
        if t.patience is not None:
            callbacks.append(EarlyStopping(monitor=MONITOR, mode="max", patience=t.patience))
        trainer = pl.Trainer(
            max_epochs=t.epochs, accelerator=ctx.device.type, devices=1,
            logger=MLFlowLogger(experiment_name=ctx.cfg.tracking.experiment,
                                tracking_uri=ctx.cfg.tracking.uri, run_id=run_id,
                                log_model=False),
            callbacks=callbacks, num_sanity_val_steps=0, enable_progress_bar=False,
            enable_model_summary=False, enable_checkpointing=False, log_every_n_steps=1,
            deterministic=True if ctx.device.type == "cpu" else "warn",
        )
        fit(trainer, module, data)
        module.load_state_dict(best.state)
        test_acc = module_accuracy(module, Batches(inputs.splits["test"], inputs.labels["test"],
                                            FEATURE_BATCH))
        train_acc = module_accuracy(module, Batches(train_x, train_y, FEATURE_BATCH))
        seconds = time.perf_counter() - started
        log_metrics(ctx.client, run_id, {
            "test/acc": test_acc, "final/train_acc": train_acc, "gap/acc": train_acc - test_acc,
            "val/acc_best": best.best_score, "epochs_run": trainer.current_epoch,
            "best_epoch": best.best_epoch, "time/seconds": seconds,
        }, step=trainer.global_step)
    result = CellResult(
        backbone=backbone, mode=mode, size=size, requested_size=requested, test_acc=test_acc,
        final_train_acc=train_acc, gap_acc=train_acc - test_acc, val_acc=best.best_score,
        epochs=trainer.current_epoch, best_epoch=best.best_epoch, seconds=seconds, run_id=run_id,
    )
    if ctx.on_cell is not None:
        ctx.on_cell(result)
    return result


# --- outputs ---------------------------------------------------------------------------
def add_arguments_transfer(parser) -> None:
    parser.add_argument("--out-json", default="reports/transfer.json", help="DVC metrics file")
    parser.add_argument("--out-csv", default="reports/transfer.csv", help="one row per cell")


def run_transfer(cfg: Config, args) -> int:
    """`trainlab transfer`: every backbone x mode x size on the prepared data."""
    data = load_prepared(cfg.data.prepared_dir)

    def show(cell: CellResult) -> None:
        print(f"transfer: {cell.backbone:>18} {cell.mode:>12} {cell.size:>6}: test/acc "
              f"{cell.test_acc:.4f}, gap/acc {cell.gap_acc:+.4f}, {cell.epochs} epochs, "
              f"{cell.seconds:.1f} s", flush=True)

    study = run_transfer_study(cfg, data, on_cell=show)
    write_rows(args.out_csv, study.cells, CellResult)
    write_model(args.out_json, study.summary)
    print(f"transfer: {len(study.cells)} cells in {study.summary.total_seconds:.1f} s "
          f"(MLflow run {study.parent_run_id}) -> {args.out_csv}, {args.out_json}")
    return 0
