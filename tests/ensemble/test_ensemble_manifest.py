"""The search's manifest: read, sorted by rank, and refused with a clear message."""

from __future__ import annotations

import json

import pytest

from trainlab.ensemble.manifest import read_manifest
from trainlab.errors import DataError


def member(rank: int, **extra) -> dict:
    return {
        "rank": rank,
        "run_id": f"r{rank}",
        "checkpoint": f"c{rank}.ckpt",
        "val_acc": 1 - rank / 10,
    } | extra


def test_members_are_sorted_by_rank_and_extra_keys_kept(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "study": "s",
                "parent_run_id": "p",
                "future": 1,
                "members": [member(2), member(1, note="x")],
            }
        )
    )
    manifest = read_manifest(path)
    assert [m.rank for m in manifest.members] == [1, 2]
    assert manifest.members[0].run_id == "r1" and manifest.parent_run_id == "p"
    assert manifest.members[0].test_acc is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "not found; run the search stage"),
        ("{not json", "is not valid JSON"),
        (json.dumps({"study": "s", "members": []}), "malformed: parent_run_id"),
        (
            json.dumps({"study": "s", "parent_run_id": "p", "members": [{"rank": 1}]}),
            "malformed: members.0.run_id",
        ),
        (json.dumps({"study": "s", "parent_run_id": "p", "members": []}), "lists no members"),
        (json.dumps([1, 2]), "malformed"),
    ],
)
def test_bad_manifests_are_refused_naming_the_file(tmp_path, text, match):
    path = tmp_path / "manifest.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_manifest(path)
    assert str(path) in str(info.value)
