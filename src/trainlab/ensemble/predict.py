"""Members' probabilities, computed once per member and split, then shared by every combination.

Each checkpoint is loaded with weights_only (a pickled object is refused, never run), checked
against the prepared data, asked for the val and test splits, and dropped before the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from trainlab.data.loader import DeviceLoader
from trainlab.data.prepared import PreparedData
from trainlab.errors import DataError
from trainlab.models.checkpoint import load_predictor, predict_proba
from trainlab.search.results import Member


@dataclass(frozen=True)
class Predictions:
    """Probabilities of the loaded members, by rank: val (M, Nv, C), test (M, Nt, C), CPU."""

    members: tuple[Member, ...]
    val: torch.Tensor
    test: torch.Tensor
    val_labels: torch.Tensor
    test_labels: torch.Tensor


def predict_members(
    members: tuple[Member, ...], data: PreparedData, batch_size: int, device: torch.device
) -> Predictions:
    """Load each member's checkpoint once and predict the val and test splits.

    Raises:
        DataError: a checkpoint is missing, unreadable, unsafe (pickled objects) or does not
            fit the prepared data; the message names the member and the file.
    """
    loaders = {
        name: DeviceLoader(split, batch_size, device, shuffle=False)
        for name, split in (("val", data.val), ("test", data.test))
    }
    probs: dict[str, list[torch.Tensor]] = {"val": [], "test": []}
    labels: dict[str, torch.Tensor] = {}
    for member in members:
        module = _load_member(member, data, device)
        for name, loader in loaders.items():
            member_probs, labels[name] = predict_proba(module, loader)
            probs[name].append(member_probs.cpu())
        del module  # one member on the device at a time
    return Predictions(
        members=members,
        val=torch.stack(probs["val"]),
        test=torch.stack(probs["test"]),
        val_labels=labels["val"].cpu(),
        test_labels=labels["test"].cpu(),
    )


def _load_member(member: Member, data: PreparedData, device: torch.device) -> torch.nn.Module:
    where = f"ensemble member rank {member.rank} (run {member.run_id})"
    try:
        module = load_predictor(member.checkpoint, map_location=device)
    except DataError as err:
        raise DataError(f"{where}: {err}") from None
    shape = tuple(module.hparams["image_shape"])
    classes = int(module.hparams["num_classes"])
    if shape != data.image_shape or classes != data.num_classes:
        raise DataError(
            f"{where}: checkpoint {member.checkpoint!r} takes images {shape} with {classes} "
            f"classes, but the prepared {data.dataset} data has {data.image_shape} with "
            f"{data.num_classes}; rerun the search on the current prepared data"
        )
    return module


def check_fingerprints(
    client: MlflowClient, members: tuple[Member, ...], fingerprint: str
) -> list[str]:
    """DataError when a member's MLflow run was trained on other prepared data.

    Returns notes for the members whose run is not in this tracking store (not checked).
    """
    notes = []
    for member in members:
        try:
            tags = client.get_run(member.run_id).data.tags
        except MlflowException:
            notes.append(
                f"rank {member.rank}: run {member.run_id} is not in the tracking store; "
                "its data fingerprint was not checked"
            )
            continue
        trained_on = tags.get("data.fingerprint")
        if trained_on is not None and trained_on != fingerprint:
            raise DataError(
                f"ensemble member rank {member.rank} (run {member.run_id}) was trained on "
                f"prepared data {trained_on}, but data.prepared_dir holds {fingerprint}; "
                "rerun the search on the current data (`dvc repro search`)"
            )
    return notes
