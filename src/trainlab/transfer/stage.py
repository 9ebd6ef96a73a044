"""The transfer stage: backbone x mode x target size, each cell one tracked MLflow run.

Per backbone: the pretrained backbone's frozen part is computed once for the target task's
train/val/test images (the linear probe trains on those features; fine-tuning on the cached
output of the frozen bottom blocks when that is no bigger than the input); then every mode
trains at every target size, and `scratch` trains the same architecture from random weights.
Early stopping and the best snapshot use the target val accuracy; the test accuracy comes
from the best snapshot.

This module orchestrates: the parent run, the backbones and what each cell is given, the
outputs. One cell's training is :mod:`trainlab.transfer.cell`'s, a pretrained backbone's
cells (the frozen-feature cache, then each mode x size) :mod:`trainlab.transfer.pretrained`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

import torch
from mlflow.tracking import MlflowClient
from torch import nn

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData, load_prepared
from trainlab.data.preprocessing import Normalize
from trainlab.data.split import SPLITS
from trainlab.errors import ConfigError
from trainlab.io import project_path
from trainlab.models.custom import check_network, is_custom
from trainlab.models.device import resolve_device
from trainlab.models.networks import RecipeNet, build_network
from trainlab.provenance import provenance_tags
from trainlab.stagefile import write_dvc_metrics, write_model, write_rows
from trainlab.tracking import (
    KIND_TAG,
    TRANSFER_STAGE_KIND,
    client_for,
    log_metrics,
    log_params,
    tracked_run,
)
from trainlab.training.recipe import TrainResult
from trainlab.transfer.backbones import (
    Backbone,
    check_weights,
    imagenet_backbone,
    source_backbone,
)
from trainlab.transfer.cell import CellSetup, run_cell, seed_cell, stage_params
from trainlab.transfer.features import Inputs
from trainlab.transfer.module import TransferModule
from trainlab.transfer.pretrained import train_pretrained_cells
from trainlab.transfer.results import CellResult, TransferSummary, summarise
from trainlab.transfer.source import pretrain_source
from trainlab.transfer.tasks import (
    TargetTask,
    check_classes,
    plan_target,
    resolve_classes,
    resolved,
)


@dataclass
class TransferStudy:
    """Every cell, the stage summary (the DVC metrics) and the parent MLflow run."""

    cells: list[CellResult]
    summary: TransferSummary
    parent_run_id: str


@dataclass(frozen=True)
class Context:
    """What every backbone of one stage run shares."""

    cells: CellSetup  # what the cell trainer needs (config, data, subsets, device, runs)
    task: TargetTask
    sizes: list[tuple[str, int]]  # (requested, actual)
    images: Inputs  # raw target images
    on_cell: Callable[[CellResult], None] | None = None


@dataclass(frozen=True)
class BackboneRun:
    """One backbone's cells and what they shared, for the summary."""

    cells: list[CellResult]
    feature_seconds: float | None = None  # the frozen features, computed once for the cells
    source: TrainResult | None = None  # the `source` backbone's pretraining

    def notes(self) -> dict[str, Any]:
        """The summary's fields of this backbone beyond its cells."""
        notes: dict[str, Any] = {}
        if self.source is not None:
            notes |= {
                "source_test_acc": round(self.source.metrics["test/acc"], 4),
                "source_seconds": round(self.source.seconds, 2),
                "source_checkpoint": project_path(self.source.checkpoint),
                "source_run_id": self.source.run_id,
            }
        if self.feature_seconds is not None:
            notes["feature_seconds"] = self.feature_seconds
        return notes


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
    cfg, split_note = without_unsplit_source(cfg, data)
    cfg, note = resolve_classes(cfg, data)
    for line in (split_note, note):
        if line:
            print(line, flush=True)
    t = cfg.transfer
    check_classes(t, data)
    check_weights(t)
    started = time.perf_counter()
    if t.threads:
        torch.set_num_threads(t.threads)
    device = resolve_device(t.device)
    # One subset per size, drawn from `seed` and shared by every training seed: the spread
    # over seeds is the training's (head, initialisation, batch order), not the subset's.
    plan = plan_target(data, t, cfg.seed)
    if len(plan.sizes) < len(t.sizes):
        print(f"transfer: transfer.sizes = {list(t.sizes)} on {len(plan.task.train)} target "
              f"train images: {[n for _, n in plan.sizes]} (sizes above it take them all, once)",
              flush=True)
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
        setup = CellSetup(cfg, data, plan.subsets, device, client, parent_run_id)
        ctx = Context(setup, task, list(plan.sizes), images, on_cell)
        runs = {name: run_backbone(ctx, name) for name in t.backbones}
        cells = [cell for run in runs.values() for cell in run.cells]
        seconds = time.perf_counter() - started
        notes = {name: run.notes() for name, run in runs.items()}
        summary = summarise(cells, notes, seconds, resolved(t.source_classes, "source_classes"),
                            resolved(t.target_classes, "target_classes"), stats=cfg.stats,
                            transfer=t)
        log_metrics(client, parent_run_id, {"time/seconds": seconds, "cells": len(cells)})
        client.log_dict(parent_run_id, summary.model_dump(mode="json"), "transfer.json")
    return TransferStudy(cells, summary, parent_run_id)


def without_unsplit_source(cfg: Config, data: PreparedData) -> tuple[Config, str | None]:
    """`cfg` without the `source` backbone when `model.arch` builds a network with no body/head
    split (a user's network that is not a RecipeNet), and the line to print saying so.

    Raises:
        ConfigError: the factory fails its checks, or `source` is the only backbone.
    """
    t, arch = cfg.transfer, cfg.model.arch
    if "source" not in t.backbones or not is_custom(arch):
        return cfg, None
    check_network(cfg.model, data.image_shape, data.num_classes)
    with torch.random.fork_rng(devices=[]):  # the seeded cells draw the same numbers
        net = build_network(cfg.model, data.image_shape, data.num_classes)
    if isinstance(net, RecipeNet):
        return cfg, None
    kept = [b for b in t.backbones if b != "source"]
    why = (f"model.arch = {arch!r} returns a {type(net).__name__}, not a "
           "trainlab.models.custom.RecipeNet(body, head)")
    if not kept:
        raise ConfigError(f"transfer.backbones = ['source'] needs a body/head split: {why}; "
                          "return a RecipeNet from the factory, or add efficientnet_lite0")
    return (cfg.replace(**{"transfer.backbones": kept}),
            f"transfer: {why}: no body/head split to transfer, so the `source` backbone is "
            "left out")


# --- one backbone ------------------------------------------------------------------------
def run_backbone(ctx: Context, name: str) -> BackboneRun:
    """Every mode x size of one backbone: pretrained modes first, then scratch."""
    t = ctx.cells.cfg.transfer
    cells: list[CellResult] = []

    def done(result: CellResult) -> None:
        if ctx.on_cell is not None:
            ctx.on_cell(result)
        cells.append(result)

    pretrained_modes = [m for m in t.modes if m != "scratch"]
    feature_seconds, source = None, None
    if pretrained_modes:
        backbone, source = pretrained_backbone(ctx, name)
        trained = train_pretrained_cells(ctx.cells, name, backbone, pretrained_modes, ctx.sizes,
                                         ctx.images, ctx.task.num_classes,
                                         on_cell=lambda cell: done(cell.result))
        feature_seconds = round(trained.feature_seconds, 2)
    if "scratch" in t.modes:
        # Every seed the pretrained modes train at, so a gain compares seeds with seeds.
        for (requested, size), seed in product(ctx.sizes, ctx.cells.cfg.training_seeds()):
            seed_cell(seed)  # the random initialisation is part of the cell: seeded
            fresh = random_backbone(ctx, name)
            prep, body = fresh.split("all")
            module = TransferModule(nn.Linear(fresh.feature_dim, ctx.task.num_classes),
                                    top=body, frozen=prep, lr=t.lr, backbone_lr=t.lr)
            done(run_cell(ctx.cells, name, "scratch", requested, size, module, ctx.images,
                          {"trainable_blocks": len(body)}, seed=seed))
    return BackboneRun(cells, feature_seconds, source)


def pretrained_backbone(ctx: Context, name: str) -> tuple[Backbone, TrainResult | None]:
    """The pretrained backbone on the device, and its pretraining if trainlab ran it."""
    cfg, device = ctx.cells.cfg, ctx.cells.device
    if name == "source":
        source = pretrain_source(cfg, ctx.cells.data, parent_run_id=ctx.cells.parent_run_id,
                                 client=ctx.cells.client)
        module = source.module
        backbone = source_backbone(module.net, module.normalize, pretrained=True)
        return backbone.to(device), source.result
    t = cfg.transfer
    return imagenet_backbone(name, True, t.image_size, t.resnet18_weights).to(device), None


def random_backbone(ctx: Context, name: str) -> Backbone:
    """The same architecture as the pretrained backbone, randomly initialised."""
    cfg, data, device = ctx.cells.cfg, ctx.cells.data, ctx.cells.device
    t = cfg.transfer
    if name == "source":
        # The prepared-data statistics: scratch never sees the source network.
        net = build_network(cfg.model, data.image_shape, ctx.task.num_classes)
        normalize = Normalize(data.preprocessing, data.stats)
        return source_backbone(net, normalize, pretrained=False).to(device)
    return imagenet_backbone(name, False, t.image_size, t.resnet18_weights).to(device)


# --- outputs ---------------------------------------------------------------------------
def add_arguments_transfer(parser) -> None:
    parser.add_argument("--out-json", default="reports/transfer.json", help="the summary")
    parser.add_argument("--metrics", default="metrics/transfer.json",
                        help="DVC metrics file (numbers only)")
    parser.add_argument("--out-csv", default="reports/transfer.csv", help="one row per cell")


def run_transfer(cfg: Config, args) -> int:
    """`trainlab transfer`: every backbone x mode x size on the prepared data."""
    data = load_prepared(cfg.data.prepared_dir)

    def show(cell: CellResult) -> None:
        print(f"transfer: {cell.backbone:>18} {cell.mode:>12} {cell.size:>6} seed "
              f"{cell.seed}: test/acc "
              f"{cell.test_acc:.4f}, gap/acc {cell.gap_acc:+.4f}, {cell.epochs} epochs, "
              f"{cell.seconds:.1f} s", flush=True)

    study = run_transfer_study(cfg, data, on_cell=show)
    write_rows(args.out_csv, study.cells, CellResult)
    write_model(args.out_json, study.summary)
    write_dvc_metrics(args.metrics, study.summary.metrics())
    head = study.summary.headline
    if head is not None:
        interval = ("" if head.low_points is None else
                    f" [{head.low_points:+.2f}, {head.high_points:+.2f}] at {head.confidence:.0%}")
        print(f"transfer: tl_gain = {head.backbone} {head.mode} over scratch at {head.size} "
              f"images: {head.gain_points:+.2f} pp{interval}, mean over {head.seeds} seed(s)")
    print(f"transfer: {len(study.cells)} trainings in {study.summary.total_seconds:.1f} s "
          f"(MLflow run {study.parent_run_id}) -> {args.out_csv}, {args.out_json}")
    return 0
