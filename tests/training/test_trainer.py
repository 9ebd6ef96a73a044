"""The one Trainer factory: what it builds, and that a recipe and a transfer cell both use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from mlflow.tracking import MlflowClient
from torch import nn

from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri
from trainlab.tracking import client_for, tracked_run
from trainlab.training.recipe import train_recipe
from trainlab.training.trainer import EpochLogger, TrackedRun, build_trainer
from trainlab.transfer.cell import CellSetup, run_cell
from trainlab.transfer.features import Inputs
from trainlab.transfer.module import TransferModule
from trainlab.transfer.tasks import plan_target, resolve_classes

CPU = torch.device("cpu")


def test_the_logger_writes_to_the_absolute_uri_of_a_relative_one(project: Path, tmp_path: Path):
    client = MlflowClient("sqlite:///mlflow.db")  # relative: MLflow would cache it per string
    with tracked_run(client, "tests", "run") as run_id:
        trainer, checkpoint = build_trainer(
            max_epochs=3, device=CPU, checkpoint_dir=tmp_path / "best", patience=2,
            run=TrackedRun(client, "tests", run_id))
    assert isinstance(trainer.logger, EpochLogger)
    assert trainer.logger._tracking_uri == f"sqlite:///{project / 'mlflow.db'}"
    assert trainer.logger.run_id == run_id
    assert Path(checkpoint.dirpath) == tmp_path / "best"  # explicit: MLflow has no save_dir
    assert (checkpoint.monitor, checkpoint.mode, checkpoint.save_weights_only) == (
        "val/acc", "max", True)
    (stop,) = [c for c in trainer.callbacks if isinstance(c, EarlyStopping)]
    assert (stop.monitor, stop.patience) == ("val/acc", 2)
    untracked, _ = build_trainer(max_epochs=1, device=CPU, checkpoint_dir=tmp_path, run=None)
    assert untracked.logger is None
    assert not any(isinstance(c, EarlyStopping) for c in untracked.callbacks)


class Seen(Callback):
    """What the Trainer of a training is made of, read when fit starts."""

    def on_fit_start(self, trainer, pl_module) -> None:
        self.callbacks = [type(c) for c in trainer.callbacks if c is not self]
        self.logger = trainer.logger
        self.dirpath = Path(trainer.checkpoint_callback.dirpath)


@pytest.mark.slow
def test_a_recipe_and_a_transfer_cell_train_in_the_same_kind_of_trainer(prepared: Path):
    cfg = load_config("params.yaml", ["train.patience=1", "transfer.patience=1",
                                      "transfer.epochs=2", "transfer.min_steps=2"])
    data = load_prepared(cfg.data.prepared_dir)
    recipe_seen, cell_seen = Seen(), Seen()
    recipe = train_recipe(cfg, data, "models/train", callbacks=[recipe_seen])

    cfg, _ = resolve_classes(cfg, data)  # the default's classes are the dataset's halves
    plan = plan_target(data, cfg.transfer, cfg.seed)
    images = Inputs({name: getattr(plan.task, name).images for name in ("train", "val", "test")},
                    {name: getattr(plan.task, name).labels for name in ("train", "val", "test")})
    client = client_for(cfg.tracking)
    size = max(plan.subsets)
    with tracked_run(client, cfg.tracking.experiment, "transfer") as parent:
        setup = CellSetup(cfg, data, plan.subsets, CPU, client, parent)
        module = TransferModule(nn.Linear(64, plan.task.num_classes), frozen=nn.Flatten(), lr=0.01)
        cell = run_cell(setup, "pixels", "linear_probe", "all", size, module, images, {},
                        callbacks=[cell_seen], seed=cfg.seed)

    assert recipe_seen.callbacks == cell_seen.callbacks
    assert {EarlyStopping, ModelCheckpoint} <= set(cell_seen.callbacks)
    database = f"sqlite:///{prepared / 'mlflow.db'}"
    for seen in (recipe_seen, cell_seen):
        assert type(seen.logger) is EpochLogger and seen.logger._tracking_uri == database
    assert recipe_seen.dirpath == prepared / "models" / "train" / recipe.run_id
    assert cell_seen.dirpath == prepared / cfg.transfer.models_dir / "cells" / cell.run_id
    assert (cell_seen.dirpath / "best.ckpt").is_file() and recipe.checkpoint.is_file()
    # Both runs log their epochs the same way: one val/acc point per epoch, at the count of
    # optimizer steps, and the final metrics at the last step.
    tracked = MlflowClient(absolute_uri(cfg.tracking.uri))
    for run_id, epochs in ((recipe.run_id, recipe.epochs_run), (cell.run_id, cell.epochs)):
        history = tracked.get_metric_history(run_id, "val/acc")
        (final,) = tracked.get_metric_history(run_id, "test/acc")
        assert len(history) == epochs and history[-1].step == final.step > 0
