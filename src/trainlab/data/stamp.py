"""A second `trainlab prepare` of unchanged data does no work.

The stamp is a sha256 over what decides the prepared data: the raw files (every file under
the dataset's source paths: relative path, size, modification time), the params that decide
the prepared data (:func:`~trainlab.data.prepared.prepared_by`: the seed and the `data` keys),
and the data package's own code. `stamp.json` beside `data.pt` records it; :func:`forget`
removes it before `data.pt` is replaced and :func:`record` writes it after, so a stamp found
always describes the `data.pt` beside it. DVC skips an unchanged
stage on its own; this serves the direct command.

Cost: listing and stat-ing 10,000 image files takes ~30 ms; a prepare of them, seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from trainlab.config.params import Config
from trainlab.data.prepared import DATA_FILE, prepared_by
from trainlab.data.sources import source_paths
from trainlab.io import write_json

STAMP_FILE = "stamp.json"
DATA_CODE = Path(__file__).resolve().parent  # the data package: how the raw data is prepared


def source_stamp(cfg: Config) -> str:
    """sha256 hex digest of the raw files, the data params, the seed and the data code.

    Raises:
        DataError: the dataset's place cannot be named (an image folder without data.root).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(prepared_by(cfg), sort_keys=True).encode())
    for source in source_paths(cfg.data):
        digest.update(f"\0source {source.absolute()}\n".encode())
        for entry in _files(source):
            digest.update(entry.encode())
    for path in sorted(DATA_CODE.glob("*.py")):
        digest.update(f"\0code {path.name}\n".encode() + path.read_bytes())
    return digest.hexdigest()


def _files(source: Path) -> list[str]:
    """'relative path, size, mtime' per file under `source` (itself when a file), sorted."""
    if not source.is_dir():
        return [_describe(source, source.name)]
    found = []
    folders = [(str(source), "")]
    while folders:  # os.scandir, not Path objects: 10,000 files in ~30 ms rather than ~150
        folder, prefix = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # unreadable: prepare itself will say so
            found.append(f"{prefix}\tunreadable\n")
            continue
        for entry in entries:
            if entry.is_dir():
                folders.append((entry.path, f"{prefix}{entry.name}/"))
            else:
                found.append(_describe(entry, prefix + entry.name))
    return sorted(found)


def _describe(path: os.DirEntry | Path, name: str) -> str:
    try:
        info = path.stat()
    except OSError:  # missing, or a link to nothing: its name still counts
        return f"{name}\tmissing\n"
    return f"{name}\t{info.st_size}\t{info.st_mtime_ns}\n"


def up_to_date(directory: str | Path, stamp: str) -> dict[str, Any] | None:
    """The record in `directory` when it carries `stamp` and data.pt is the one it saw.

    Returns:
        The recorded fields (`stamp`, `fingerprint`, `data_size`, `data_mtime_ns`), or None
        when the prepared data must be built (missing, other stamp, data file changed).
    """
    directory = Path(directory)
    try:
        recorded = json.loads((directory / STAMP_FILE).read_text())
        info = (directory / DATA_FILE).stat()
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("stamp") != stamp:
        return None
    if (recorded.get("data_size"), recorded.get("data_mtime_ns")) != (
        info.st_size,
        info.st_mtime_ns,
    ):
        return None
    return recorded


def forget(directory: str | Path) -> None:
    """Remove the stamp before the prepared data is replaced (a crash then redoes the work)."""
    (Path(directory) / STAMP_FILE).unlink(missing_ok=True)


def record(directory: str | Path, stamp: str, fingerprint: str) -> None:
    """Write the stamp after the prepared data, with data.pt's size and mtime."""
    info = (Path(directory) / DATA_FILE).stat()
    write_json(
        Path(directory) / STAMP_FILE,
        {"stamp": stamp, "fingerprint": fingerprint, "data_size": info.st_size,
         "data_mtime_ns": info.st_mtime_ns},
    )
