"""`reports/train.json` (DVC metrics of `trainlab train`), typed: its one owner.

The keys are the MLflow metric names of the recipe's run (`test/acc`, `gap/acc` ...), so the
file and the run read alike; accuracies are fractions, losses in nats, 6 decimals. Pydantic
only, so the report reads it without Lightning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from trainlab.stagefile import StageFile

STAGE = "train"  # `dvc repro train` writes the file

Number = Annotated[float, AfterValidator(lambda value: round(value, 6))]


class TrainSummary(StageFile):
    """reports/train.json: the best snapshot's scores and the train-vs-test gap."""

    model_config = ConfigDict(populate_by_name=True)

    test_acc: Number = Field(alias="test/acc")
    test_loss: Number = Field(alias="test/loss")
    final_train_acc: Number = Field(alias="final/train_acc")
    final_train_loss: Number = Field(alias="final/train_loss")
    gap_acc: Number = Field(alias="gap/acc")  # final train accuracy - test accuracy
    gap_loss: Number = Field(alias="gap/loss")  # test loss - final train loss
    val_acc_best: Number = Field(alias="val/acc_best")
    epochs_run: int
    best_epoch: int  # from 0, as MLflow logs it
    seconds: Number = Field(alias="time/seconds")
    run_id: str | None  # None when tracking is off

    def metrics(self) -> dict[str, float | None]:
        """The DVC metrics (metrics/train.json): test accuracy and the gap."""
        return {"acc": self.test_acc, "gap": self.gap_acc}

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, float], run_id: str | None) -> TrainSummary:
        """From a training's metrics, keyed as it logs them to MLflow."""
        return cls.model_validate({**metrics, "run_id": run_id})
