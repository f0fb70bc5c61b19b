"""Read a data file into a list of dict rows: JSON Lines, JSON (a list or {"data": [...]}), CSV/TSV,
and Parquet when ``pyarrow`` is installed."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class RowReadError(ValueError):
    """A data file exists but cannot be parsed; the message names the file and the line."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """One JSON object per non-blank line; RowReadError names the file and line of a bad one."""
    rows = []
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RowReadError(f"{path}:{lineno}: not valid JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise RowReadError(f"{path}:{lineno}: expected a JSON object per line")
            rows.append(row)
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise RowReadError(f"{path}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict):
        for key in ("data", "rows", "examples"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise RowReadError(f'{path}: expected a list of objects (or {{"data": [...]}})')
    return data


def _read_csv(path: Path, delimiter: str, fieldnames: Sequence[str] | None) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, fieldnames=list(fieldnames) if fieldnames else None, delimiter=delimiter)
        rows = []
        for row in reader:
            if None in row:
                raise RowReadError(f"{path}:{reader.line_num}: more columns than the header")
            rows.append(dict(row))
        return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RowReadError(
            f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or convert the file to JSON Lines"
        ) from None
    return pq.read_table(path).to_pylist()


def read_rows(path: str | Path, fieldnames: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows of ``path`` by extension. ``fieldnames`` names the columns of a CSV without a header row.

    Text files must be UTF-8: another encoding is a RowReadError naming the file and the byte offset
    (never a bare UnicodeDecodeError from deep in the reader)."""
    path = Path(path)
    try:
        return _read_by_suffix(path, fieldnames)
    except UnicodeDecodeError as exc:
        raise RowReadError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def _read_by_suffix(path: Path, fieldnames: Sequence[str] | None) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".csv":
        return _read_csv(path, ",", fieldnames)
    if suffix == ".tsv":
        return _read_csv(path, "\t", fieldnames)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise RowReadError(
        f"{path}: unsupported file type {suffix!r} (use .jsonl, .json, .csv, .tsv or .parquet)"
    )
