"""The one atomic writer, the one stage-file reader and the tree helpers of `trainlab.io`."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from trainlab.io import (
    clean,
    flatten,
    project_path,
    read_json,
    write_atomic,
    write_json,
    write_with,
)


def test_atomic_write_gets_the_umask_mode_and_leaves_no_temporary_file(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_atomic(tmp_path / "sub" / "a.txt", "héllo\n")
    finally:
        os.umask(old)
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert path.stat().st_mode & 0o777 == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = write_json(tmp_path / "a.json", {"old": 1})

    def half(stream):
        stream.write(b'{"new": ')
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        write_with(path, half)
    assert read_json(path) == ({"old": 1}, None)
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_reading_a_stage_file_says_why_not_and_the_fix(tmp_path):
    fix = "run `dvc repro search`"
    assert read_json(tmp_path / "no.json", fix) == (
        None, f"{tmp_path / 'no.json'} is missing: {fix}")
    (tmp_path / "bad.json").write_text("{not json")
    payload, problem = read_json(tmp_path / "bad.json")
    assert payload is None and problem.startswith(f"{tmp_path / 'bad.json'} is not readable JSON")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json(tmp_path / "list.json")[1].endswith("does not hold a JSON object")


def test_flatten_keeps_lists_as_values_unless_only_scalars_are_asked_for():
    tree = {"a": {"b": 1, "c": [1, 2], "d": {}}, "e": "x"}
    assert flatten(tree) == {"a.b": 1, "a.c": [1, 2], "a.d": {}, "e": "x"}
    assert flatten(tree, scalars_only=True) == {"a.b": 1, "e": "x"}
    assert flatten([1, 2]) == {}


def test_clean_makes_a_tree_json_safe_and_optionally_rounds_and_drops_missing():
    tree = {"n": np.int64(3), "f": np.float32(0.5), "nan": math.nan, "t": (1, np.float64(2.25)),
            "b": True, "s": "x", "none": None, "sub": {"gone": None}}
    assert clean(tree) == {"n": 3, "f": 0.5, "nan": None, "t": [1, 2.25], "b": True, "s": "x",
                           "none": None, "sub": {"gone": None}}
    assert type(clean(tree)["n"]) is int
    assert clean({"x": 1 / 3, **tree}, digits=2, drop_missing=True) == {
        "x": 0.33, "n": 3, "f": 0.5, "t": [1, 2.25], "b": True, "s": "x"}


def test_project_path_is_relative_inside_the_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert project_path(tmp_path / "models" / "a.ckpt") == "models/a.ckpt"
    assert project_path("/elsewhere/a.ckpt") == "/elsewhere/a.ckpt"
