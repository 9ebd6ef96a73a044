"""The prepared dataset as an MLflow run input: the runs table's Dataset column and the run
page's Datasets used show its name and digest (trainlab's data fingerprint), the dataset
drawer its source folder and profile (split sizes, classes, image shape).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import DatasetInput, InputTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

if TYPE_CHECKING:  # only its attributes are read; the data package sits above this one
    from trainlab.data.prepared import PreparedData

TRAINING = "training"  # MLflow's usual context name for the data a model was fitted on


class PreparedDataset(MetaDataset):
    """A dataset MLflow knows by its metadata only: the images stay in `data/prepared/`."""

    def __init__(self, data: PreparedData, source: str | Path) -> None:
        self._profile = {
            "splits": {name: len(split.labels) for name, split in data.splits.items()},
            "classes": data.num_classes,
            "image_shape": list(data.image_shape),  # (C, H, W)
        }
        with warnings.catch_warnings():
            # A local path matches two registered source types, both LocalArtifactDatasetSource.
            warnings.simplefilter("ignore", UserWarning)
            resolved = resolve_dataset_source(str(Path(source).resolve()))
        super().__init__(resolved, name=data.dataset, digest=data.fingerprint)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        return super().to_dict() | {"profile": json.dumps(self.profile)}


def log_dataset(
    client: MlflowClient, run_id: str, data: PreparedData, source: str | Path,
    context: str = TRAINING,
) -> None:
    """Log the prepared splits `data` (read from the folder `source`) as an input of the run.

    Logging it again (a resumed search's parent run) adds nothing: MLflow keeps one input per
    dataset (name, digest) and run.
    """
    entity = PreparedDataset(data, source)._to_mlflow_entity()
    client.log_inputs(run_id, datasets=[
        DatasetInput(entity, [InputTag(MLFLOW_DATASET_CONTEXT, context)])])
