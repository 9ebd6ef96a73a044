"""The search stage's manifest of kept checkpoints: read and checked before any work.

`models/search/manifest.json` is typed by its writer, :class:`trainlab.search.results.Manifest`
(ranked members with their recipe, scores and checkpoint path relative to the project root).
"""

from __future__ import annotations

from pathlib import Path

from trainlab.errors import DataError
from trainlab.search.results import Manifest
from trainlab.stagefile import read_model

FIX = "run the search stage (`dvc repro search` or `trainlab search`) to write it"


def read_manifest(path: str | Path) -> Manifest:
    """The manifest at `path`, members sorted by rank (1 = best val accuracy).

    Raises:
        DataError: the file is missing, not JSON, not the shape the search writes, or lists
            no members.
    """
    manifest, problem = read_model(path, Manifest, FIX)
    if manifest is None:
        raise DataError(f"search manifest {problem}")
    if not manifest.members:
        raise DataError(
            f"search manifest {str(path)!r} lists no members: the search kept no checkpoint; "
            "check its trials (all pruned or failed?) and run it again"
        )
    members = tuple(sorted(manifest.members, key=lambda member: member.rank))
    return manifest.model_copy(update={"members": members})
