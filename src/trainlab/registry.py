"""The search's best recipe and the ensemble as MLflow models, registered with an alias.

Each is a pyfunc model over trainlab checkpoints (the mean of their softmax probabilities; one
checkpoint for the best recipe): input float32 images (N, C, H, W) with pixels in [0, 1], as
the prepared data holds them once scaled; output the class probabilities (N, classes).
Registered as `<experiment>-recipe` and `<experiment>-ensemble`, each new version takes the
alias `champion`, so `mlflow.pyfunc.load_model("models:/<name>@champion")` always loads the
newest. A version is a new model: registering the checkpoints the latest version already
holds (a rerun with nothing new) adds none and keeps the alias there. Loading needs trainlab
installed (the checkpoints are its LightningModules).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.tracking import MlflowClient
from mlflow.types.type_hints import TypeFromExample

ALIAS = "champion"  # moved to every newly registered version
EXAMPLE_IMAGES = 4  # images in the logged input example
# A version's tag: the sha256 of its checkpoints' bytes, in member order (checkpoints_digest).
CHECKPOINTS_TAG = "trainlab.checkpoints_sha256"


class CheckpointEnsemble(PythonModel):
    """Mean softmax probabilities of trainlab checkpoints (artifacts `member<k>`)."""

    def load_context(self, context) -> None:
        from trainlab.models.checkpoint import load_predictor

        names = sorted(context.artifacts, key=lambda name: int(name.removeprefix("member")))
        self.members = [load_predictor(context.artifacts[name]) for name in names]

    # TypeFromExample: MLflow's hint for "the logged input example's type" (a float32
    # array), which also spares every import its warning about an untyped `predict`.
    def predict(self, context, model_input: TypeFromExample, params=None) -> np.ndarray:
        import torch

        x = torch.as_tensor(np.asarray(model_input, dtype=np.float32))
        with torch.inference_mode():
            probs = [torch.softmax(member(x).float(), dim=1) for member in self.members]
        return torch.stack(probs).mean(dim=0).numpy()


def register(client: MlflowClient, run_id: str, name: str, checkpoints: Sequence[str | Path],
             example: np.ndarray) -> str:
    """Log the checkpoints as one pyfunc model of run `run_id`, register it as `name` and
    point the alias `champion` at the new version; its version number.

    When the latest version of `name` holds the same checkpoints (same bytes, same order),
    nothing is logged or registered: the alias stays on (or returns to) that version, whose
    number is returned. The run does not count: an ensemble rerun is a new run of the same
    model.
    """
    digest = checkpoints_digest(checkpoints)
    latest = latest_version(client, name)
    if latest is not None and latest.tags.get(CHECKPOINTS_TAG) == digest:
        client.set_registered_model_alias(name, ALIAS, latest.version)
        return str(latest.version)
    artifacts = {f"member{k}": str(Path(path).resolve()) for k, path in enumerate(checkpoints)}
    loaded = CheckpointEnsemble()  # only for the signature's output: the logged one is bare
    loaded.load_context(_Context(artifacts))
    example = np.asarray(example[:EXAMPLE_IMAGES], dtype=np.float32)
    signature = infer_signature(example, loaded.predict(None, example))
    mlflow.set_tracking_uri(client.tracking_uri)
    logging.getLogger("mlflow").setLevel(logging.ERROR)  # its per-model notices
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name="model", python_model=CheckpointEnsemble(), artifacts=artifacts,
            signature=signature,
            input_example=example, registered_model_name=name,
            pip_requirements=[f"trainlab=={importlib.metadata.version('trainlab')}",
                              f"torch=={importlib.metadata.version('torch')}"],
        )
    version = str(info.registered_model_version)
    # Tagged before the alias moves: a version the alias names always carries its digest (a
    # crash in between leaves an untagged version, and the next run registers a new one).
    client.set_model_version_tag(name, version, CHECKPOINTS_TAG, digest)
    client.set_registered_model_alias(name, ALIAS, version)
    return version


def checkpoints_digest(checkpoints: Sequence[str | Path]) -> str:
    """sha256 hex digest over each checkpoint's sha256, in order: what the model is."""
    digest = hashlib.sha256()
    for path in checkpoints:
        with open(path, "rb") as stream:
            digest.update(hashlib.file_digest(stream, "sha256").digest())
    return digest.hexdigest()


def latest_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The highest-numbered version of registered model `name`; None before the first."""
    # MLflow's filter takes no escapes: a name holding ' is matched inside "..." instead.
    quote = '"' if "'" in name else "'"
    versions = client.search_model_versions(f"name = {quote}{name}{quote}")
    return max(versions, key=lambda version: int(version.version), default=None)


def example_images(data) -> np.ndarray:
    """A few prepared test images as the models take them: float32, pixels in [0, 1]."""
    return data.test.images[:EXAMPLE_IMAGES].float().div(255.0).numpy()


class _Context:
    """What `load_context` reads when the model is built here, before it is logged."""

    def __init__(self, artifacts: dict[str, str]) -> None:
        self.artifacts = artifacts
