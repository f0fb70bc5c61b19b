"""Writing a run to disk: ``<outputs_dir>/<timestamp>/<name>/parallel_<p>_number_<n>/``."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from evalscope import fsio
from evalscope.perf.records import Record

SCHEMA = """
CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    request_index INTEGER, prompt_index INTEGER, worker INTEGER,
    intended_start REAL, start REAL, first_output REAL, end_time REAL,
    latency REAL, ttft REAL, dispatch_lag REAL,
    success INTEGER, status INTEGER, error_reason TEXT, error TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, output_chunks INTEGER,
    finish_reason TEXT, chunk_times TEXT, output_text TEXT
)
"""


def safe_name(text: str) -> str:
    """A folder name made from a model name (``org/model:tag`` -> ``org_model_tag``)."""
    return fsio.safe_name(text, fallback="perf")


def make_run_dir(outputs_dir: str, name: str) -> Path:
    """Create and return a new ``<outputs_dir>/<timestamp>/<name>`` folder; never reuses one.

    Two runs started in the same second (or a rerun into an existing folder) get ``_1``, ``_2``...
    suffixes; ``mkdir`` without ``exist_ok`` makes the claim atomic between processes.
    """
    stamp = time.strftime("%Y%m%d_%H%M%S")
    base = Path(outputs_dir).expanduser().resolve() / stamp
    base.mkdir(parents=True, exist_ok=True)
    for i in range(10000):
        candidate = base / (name if i == 0 else f"{name}_{i}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh output folder under {base}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + fsync + rename), so a reader never sees half a file."""
    fsio.atomic_write_json(path, data)


def write_records(path: Path, records: list[Record], keep_text: bool = True) -> None:
    """Every request record into SQLite, in one transaction (the file is new: never appended to)."""
    rows = []
    for i, r in enumerate(sorted(records, key=lambda r: r.index)):
        times = r.out_times
        first = times[0] if len(times) else None
        rows.append((
            i, r.index, r.prompt_index, r.worker, r.intended, r.start, first, r.end,
            r.end - r.intended, (first - r.intended) if first is not None else None, r.start - r.intended,
            int(r.ok), r.status, r.reason, r.error, r.prompt_tokens, r.completion_tokens, len(times),
            r.finish_reason, json.dumps([round(t - r.intended, 6) for t in times]),
            r.text if keep_text else None,
        ))
    with fsio.atomic_path(path) as tmp:
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            with con:
                con.execute(SCHEMA)
                con.executemany(f"INSERT INTO requests VALUES ({','.join('?' * 21)})", rows)
        finally:
            con.close()
