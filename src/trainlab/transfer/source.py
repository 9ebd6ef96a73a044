"""The `source` backbone: a trainlab network pretrained on the source classes.

Pretraining is an ordinary trainlab training (:func:`trainlab.training.recipe.train_recipe`)
on the source task, so it is tracked in MLflow like any recipe and its best checkpoint is
kept under `transfer.models_dir`/source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow.tracking import MlflowClient

from trainlab.config.params import Config
from trainlab.config.schema import TrainConfig
from trainlab.data.prepared import PreparedData
from trainlab.models.checkpoint import load_module
from trainlab.models.module import RecipeModule
from trainlab.tracking import KIND_TAG, TRANSFER_SOURCE_KIND
from trainlab.training.recipe import TrainResult, train_recipe
from trainlab.transfer.tasks import resolved, source_data


@dataclass(frozen=True)
class SourceModel:
    """The pretrained source network and how it was obtained."""

    module: RecipeModule
    result: TrainResult


def source_config(cfg: Config) -> Config:
    """The config of the source pretraining: params `model` and `transfer`, nothing else.

    `train` is rebuilt from the transfer section (epochs, batch size, lr, device, threads,
    patience), so the stage depends on the params it declares only; regularization and
    augmentation are off.
    """
    t = cfg.transfer
    train = TrainConfig(
        epochs=t.source_epochs, batch_size=t.batch_size, lr=t.lr, device=t.device,
        threads=t.threads, patience=t.patience, diagnostics_every=0,
    )
    return Config(seed=cfg.seed, data=cfg.data, model=cfg.model, tracking=cfg.tracking, train=train)


def pretrain_source(
    cfg: Config,
    data: PreparedData,
    *,
    parent_run_id: str | None = None,
    client: MlflowClient | None = None,
) -> SourceModel:
    """Train `cfg.model` on the source classes; the best snapshot (on source val) is kept."""
    result = train_recipe(
        source_config(cfg),
        source_data(data, cfg.transfer, cfg.seed),
        Path(cfg.transfer.models_dir) / "source",
        run_name=f"transfer-source-{cfg.model.arch}",
        parent_run_id=parent_run_id,
        tags={KIND_TAG: TRANSFER_SOURCE_KIND, "transfer.backbone": "source",
              "transfer.source_classes": str(list(resolved(cfg.transfer.source_classes,
                                                           "source_classes")))},
        client=client,
    )
    return SourceModel(load_module(result.checkpoint), result)
