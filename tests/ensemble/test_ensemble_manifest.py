"""The search's manifest: read, sorted by rank, and refused with a clear message."""

from __future__ import annotations

import json

import pytest
from stagefiles import manifest, member  # tests/stagefiles.py

from trainlab.ensemble.manifest import read_manifest
from trainlab.errors import DataError
from trainlab.stagefile import write_model


def test_members_are_sorted_by_rank(tmp_path):
    path = write_model(tmp_path / "manifest.json", manifest(
        [member(2, "r2", "c2.ckpt", 0.8), member(1, "r1", "c1.ckpt", 0.9)]))
    read = read_manifest(path)
    assert [m.rank for m in read.members] == [1, 2]
    assert read.members[0].run_id == "r1" and read.parent_run_id == "p"
    assert read.members[0].test_acc is None


def _written(**changes) -> str:
    """A valid manifest's JSON with top-level `changes` (None: the key removed)."""
    payload = manifest([member(1, "r1", "c1.ckpt", 0.9)]).model_dump(mode="json")
    for key, value in changes.items():
        payload.pop(key) if value is None else payload.update({key: value})
    return json.dumps(payload)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "is missing: run the search stage"),
        ("{not json", "is not readable JSON"),
        (_written(parent_run_id=None), r": field `parent_run_id` is missing \(it was written by "
                                       r"another version of trainlab or edited by hand\): run "
                                       r"the search stage"),
        (_written(members=[{"rank": 1}]), "field `members.0.trial` is missing; field "
                                          "`members.0.run_id` is missing"),
        (_written(future=1), "field `future` is not one trainlab writes"),
        (_written(members=[]), "lists no members"),
        (json.dumps([1, 2]), "does not hold a JSON object"),
    ],
)
def test_bad_manifests_are_refused_naming_the_file(tmp_path, text, match):
    path = tmp_path / "manifest.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_manifest(path)
    assert str(path) in str(info.value)
