"""A stage file as one typed model: written from it, read back into it, refused clearly.

Each stage file has one owner, a pydantic model in the package that writes it (see DESIGN.md,
"One owner per fact"); every writer, reader and test fixture goes through that model. A file
an older trainlab wrote, or one edited by hand into another shape, is not guessed at: the
reader gets `(None, problem)`, one sentence naming the file, the field and the fix.

- JSON files: :func:`write_model`, :func:`read_model`
- CSV files, one model per row: :func:`write_rows`, :func:`read_rows` (an empty cell is None)
- DVC metrics files, numbers only: :func:`write_dvc_metrics` (each model's `metrics()` view)

Part of the ground floor: pydantic and :mod:`trainlab.io` only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from trainlab.io import read_json, with_fix, write_atomic, write_json


class StageFile(BaseModel):
    """The base of every stage-file model: frozen, and no key it does not declare.

    Fields are declared without defaults (`float | None` is required, null allowed), so a
    renamed or dropped key is an error, never a silent None.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


Model = TypeVar("Model", bound=BaseModel)

WHY = "it was written by another version of trainlab or edited by hand"


def rerun(stage: str) -> str:
    """The fix of a missing or stale stage file (the end of a problem)."""
    return f"rerun `dvc repro {stage}`"


def write_dvc_metrics(path: str | Path, values: Mapping[str, float | int | None]) -> Path:
    """A DVC metrics file: a stage's headline numbers only (what `dvc metrics show` and
    `dvc exp show` print as columns, so few and short), unmeasured ones left out. Text, ids
    and paths belong in the stage's own file, a plain output."""
    numbers = {key: round(float(value), 6) if isinstance(value, float) else value
               for key, value in values.items() if value is not None}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"metric {key!r} = {value!r} is not a number")
    return write_json(path, numbers)


def write_model(path: str | Path, model: BaseModel) -> Path:
    """`model` as JSON at `path`, atomically (keys sorted, by alias)."""
    return write_json(path, model.model_dump(mode="json", by_alias=True))


def read_model(path: str | Path, model: type[Model], fix: str = "") -> tuple[Model | None,
                                                                            str | None]:
    """The JSON file at `path` as `model`: (value, None), or (None, why not, then `fix`)."""
    payload, problem = read_json(path, fix)
    if payload is None:
        return None, problem
    try:
        return model.model_validate(payload), None
    except ValidationError as err:
        return None, with_fix(f"{path}: {describe(err)} ({WHY})", fix)


def write_rows(path: str | Path, rows: Sequence[BaseModel], row: type[BaseModel]) -> Path:
    """One CSV line per model, the columns in the order `row` declares them; None is ''."""
    out = io.StringIO()
    writer = csv.DictWriter(out, list(row.model_fields), lineterminator="\n")
    writer.writeheader()
    for item in rows:
        values = item.model_dump(mode="json")
        writer.writerow({k: "" if v is None else v for k, v in values.items()})
    return write_atomic(path, out.getvalue())


def read_rows(path: str | Path, row: type[Model], fix: str = "") -> tuple[list[Model] | None,
                                                                           str | None]:
    """The CSV at `path`, one `row` per line: (rows, None), or (None, why not, then `fix`).

    A file without rows, with other columns than `row` declares, or with a cell of the wrong
    type is refused, naming the column (and the line).
    """
    path = Path(path)
    if not path.is_file():
        return None, with_fix(f"{path} is missing", fix)
    try:
        with path.open(newline="") as stream:
            reader = csv.DictReader(stream)
            header = list(reader.fieldnames or [])
            lines = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        return None, with_fix(f"{path} is not a readable CSV ({err})", fix)
    if problem := _columns_problem(header, list(row.model_fields)):
        return None, with_fix(f"{path} {problem} ({WHY})", fix)
    if not lines:
        return None, with_fix(f"{path} has no rows", fix)
    rows = []
    for number, line in enumerate(lines, start=2):  # line 1 is the header
        try:
            rows.append(row.model_validate({k: None if v == "" else v for k, v in line.items()}))
        except ValidationError as err:
            return None, with_fix(f"{path} line {number}: {describe(err)} ({WHY})", fix)
    return rows, None


def _columns_problem(header: list[str], columns: list[str]) -> str:
    missing = [c for c in columns if c not in header]
    unknown = [c for c in header if c not in columns]
    parts = []
    if missing:
        parts.append(f"lacks the column(s) {', '.join(missing)}")
    if unknown:
        parts.append(f"has the column(s) {', '.join(unknown)}, which trainlab does not write")
    return " and ".join(parts)


def describe(err: ValidationError, most: int = 2) -> str:
    """The first `most` problems of a validation error, each naming its field (dotted)."""
    parts = [_one(error) for error in err.errors()[:most]]
    more = err.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more problem(s))" if more > 0 else "")


def _one(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "the top level"
    if error["type"] == "missing":
        return f"field `{field}` is missing"
    if error["type"] == "extra_forbidden":
        return f"field `{field}` is not one trainlab writes"
    return f"field `{field}` = {error['input']!r}: {error['msg']}"
