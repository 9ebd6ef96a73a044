"""The search stage's manifest of kept checkpoints: read and checked before any work.

`models/search/manifest.json` (written by the search stage)::

    {"study": str, "parent_run_id": str,
     "members": [{"rank": 1, "trial": 12, "run_id": str, "cell": "relu|l2|flip_crop",
                  "activation": ..., "regularization": ..., "augmentation": ..., "seed": ...,
                  "val_acc": float, "test_acc": float,
                  "checkpoint": "models/search/rank1_trial12.ckpt"}, ...]}

Checkpoint paths are relative to the project root (where DVC runs the stage). Keys beyond
these are allowed, so the search can record more without breaking this stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainlab.errors import DataError

FIX = "run the search stage (`dvc repro search` or `trainlab search`) to write it"


class Member(BaseModel):
    """One kept checkpoint of the search."""

    model_config = ConfigDict(extra="allow", frozen=True)

    rank: Annotated[int, Field(ge=1)]
    run_id: Annotated[str, Field(min_length=1)]
    checkpoint: Annotated[str, Field(min_length=1)]
    val_acc: float
    test_acc: float | None = None
    trial: int | None = None
    cell: str | None = None
    activation: str | None = None
    regularization: str | None = None
    augmentation: str | None = None
    seed: int | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    study: str
    parent_run_id: Annotated[str, Field(min_length=1)]
    members: tuple[Member, ...]


def read_manifest(path: str | Path) -> Manifest:
    """The manifest at `path`, members sorted by rank (1 = best val accuracy).

    Raises:
        DataError: the file is missing, not JSON, lacks a key, or lists no members.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"search manifest {str(path)!r} not found; {FIX}")
    try:
        raw: Any = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"search manifest {str(path)!r} is not valid JSON ({err}); {FIX}") from None
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise DataError(
            f"search manifest {str(path)!r} is malformed: {key}: {first['msg']} "
            f"({err.error_count()} problem(s)); {FIX}"
        ) from None
    if not manifest.members:
        raise DataError(
            f"search manifest {str(path)!r} lists no members: the search kept no checkpoint; "
            "check its trials (all pruned or failed?) and run it again"
        )
    members = tuple(sorted(manifest.members, key=lambda member: member.rank))
    return manifest.model_copy(update={"members": members})
