"""Stage files: atomic writes, the reading of another stage's file, and the tree helpers that
make a payload JSON-safe or flat.

A killed stage never leaves a half-written output behind, and a reader of a file another stage
writes gets `(value, None)` or `(None, why not and how to get it)`, never an exception: a
pipeline that has not run every stage yet is a normal state. Part of the ground floor: it
imports nothing of trainlab. A stage file's typed model is read with
:mod:`trainlab.stagefile`.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_with(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call `write(stream)` on a temporary file beside `path`, then rename it over `path`.

    The file is fsynced before the rename and the folder after it, so a crash leaves the old
    file or the new one, never an empty one; it gets the umask's mode (mkstemp's 0600 would
    hide outputs from other users).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_with(path, lambda stream: stream.write(data))


def write_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically (see :func:`write_with`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, payload: Any) -> Path:
    return write_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it: set it and put it back
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    # The rename itself lives in the folder's entry list; without this a power cut may undo it.
    # One more fsync, ~1-5 ms; some file systems cannot open a folder, then it is skipped.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: str | Path, fix: str = "") -> tuple[dict[str, Any] | None, str | None]:
    """A stage's JSON object: (payload, None), or (None, why not, then `fix` if given)."""
    path = Path(path)
    if not path.is_file():
        return None, with_fix(f"{path} is missing", fix)
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return None, with_fix(f"{path} is not readable JSON ({err})", fix)
    if not isinstance(payload, dict):
        return None, with_fix(f"{path} does not hold a JSON object", fix)
    return payload, None


def with_fix(why: str, fix: str) -> str:
    """A problem sentence, then its fix (`why: fix`) when there is one."""
    return f"{why}: {fix}" if fix else why


def project_path(path: str | Path) -> str:
    """`path` relative to the working directory (the project root) when it lies inside it,
    with '/' separators; else as given. What a stage file records of a file it names."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def slug(text: str) -> str:
    """`text` as a file-name or metric-key part: runs of other characters become one `_`
    (letters, digits, `.` and `-` kept; at most 80 characters; "run" when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_")[:80] or "run"


def flatten(tree: Any, prefix: str = "", *, scalars_only: bool = False) -> dict[str, Any]:
    """The leaves of nested dicts under dotted keys (`train.lr`). Lists and empty dicts are
    leaves too, unless `scalars_only` leaves them out (to list a file's numbers); a tree
    that is not a dict has no keys."""
    flat: dict[str, Any] = {}
    if not isinstance(tree, dict):
        return flat
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}.", scalars_only=scalars_only))
        elif not scalars_only or not isinstance(value, list | dict):
            flat[name] = value
    return flat


def clean(tree: Any, *, digits: int | None = None, drop_missing: bool = False) -> Any:
    """JSON-safe: non-finite floats become None, tuples lists, numpy scalars plain Python.

    Args:
        digits: round floats to this many decimals.
        drop_missing: leave out None and empty dicts (a DVC metrics file diffs numbers only).
    """
    if isinstance(tree, dict):
        cleaned = {str(key): clean(value, digits=digits, drop_missing=drop_missing)
                   for key, value in tree.items()}
        if drop_missing:
            return {k: v for k, v in cleaned.items() if v is not None and v != {}}
        return cleaned
    if isinstance(tree, list | tuple):
        return [clean(value, digits=digits, drop_missing=drop_missing) for value in tree]
    if hasattr(tree, "item"):
        tree = tree.item()  # a numpy or torch scalar
    if isinstance(tree, float):
        if not math.isfinite(tree):
            return None
        return round(tree, digits) if digits is not None else tree
    return tree
