"""A perf run on disk: the public write and read functions of its files.

```
<run folder>/                         # RunDir: exact when given, else <outputs_dir>/<timestamp>/<name>/
  config.json                         # the run's arguments, secrets redacted
  parallel_<p>_number_<n>/            # one per sweep point (write_point / read_point)
    benchmark_args.json               # the point's arguments (+ parallel, number[, shards])
    benchmark_summary.json            # PointResult.metrics (EvalScope's keys)
    benchmark_percentile.json         # PointResult.percentiles
    benchmark_data.db                 # SQLite, table ``requests``: one row per RequestRecord
  report.html                         # written by evalscope.perf.api.run_perf, not by the engine
```
"""

from __future__ import annotations

import json
import re
import sqlite3
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from evalscope import fsio
from evalscope.client.jsonfast import loads
from evalscope.perf.records import RequestRecord
from evalscope.perf.results import PerfRun, PointMetrics, PointPercentiles, PointResult

ARGS_FILE = "benchmark_args.json"
SUMMARY_FILE = "benchmark_summary.json"
PERCENTILE_FILE = "benchmark_percentile.json"
#: a multi-turn point's rows per turn index and its session figures ({"turns": [...], "sessions": {...}})
MULTI_TURN_FILE = "benchmark_multi_turn.json"
RECORDS_FILE = "benchmark_data.db"
POINT_RE = re.compile(r"^parallel_(\d+)_number_(\d+)$")

SCHEMA = """
CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    request_index INTEGER, prompt_index INTEGER, worker INTEGER,
    intended_start REAL, start REAL, first_output REAL, end_time REAL,
    latency REAL, ttft REAL, dispatch_lag REAL,
    success INTEGER, status INTEGER, error_reason TEXT, error TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, output_chunks INTEGER,
    finish_reason TEXT, chunk_times TEXT, output_text TEXT,
    session_id INTEGER, turn INTEGER,
    ramp INTEGER
)
"""


class PerfReadError(ValueError):
    """A perf run folder or one of its files cannot be read (the message names the file)."""


def point_name(parallel: int, number: int) -> str:
    """The folder (and ``results`` key) of a sweep point: ``parallel_<p>_number_<n>``."""
    return f"parallel_{parallel}_number_{number}"


def point_dirs(run_dir: str | Path) -> list[Path]:
    """The sweep point folders of a run (holding a summary), in the order they were written."""
    root = Path(run_dir)
    found = [
        p for p in root.iterdir() if p.is_dir() and POINT_RE.match(p.name) and (p / SUMMARY_FILE).is_file()
    ]

    def order(p: Path) -> tuple[float, int, int]:
        m = POINT_RE.match(p.name)
        assert m is not None
        return ((p / SUMMARY_FILE).stat().st_mtime, int(m.group(1)), int(m.group(2)))

    return sorted(found, key=order)


def write_point(
    point_dir: str | Path,
    result: PointResult,
    records: list[RequestRecord],
    args: dict[str, Any],
    keep_text: bool = True,
) -> None:
    """Write one sweep point's four files (each atomically; an existing folder is written into)."""
    folder = Path(point_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fsio.atomic_write_json(folder / ARGS_FILE, args)
    fsio.atomic_write_json(folder / SUMMARY_FILE, result.metrics.model_dump(mode="json"))
    fsio.atomic_write_json(folder / PERCENTILE_FILE, result.percentiles.model_dump(mode="json"))
    if result.turns is not None:
        extra = result.model_dump(mode="json", include={"turns", "sessions"})
        fsio.atomic_write_json(folder / MULTI_TURN_FILE, extra)
    write_records(folder / RECORDS_FILE, records, keep_text=keep_text)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise PerfReadError(f"{path}: cannot read ({exc})") from None


def read_point(point_dir: str | Path) -> PointResult:
    """One sweep point's result from its summary and percentile files (keys kept exactly)."""
    folder = Path(point_dir)
    try:
        multi = _read_json(folder / MULTI_TURN_FILE) if (folder / MULTI_TURN_FILE).is_file() else {}
        return PointResult(
            metrics=PointMetrics.model_validate(_read_json(folder / SUMMARY_FILE)),
            percentiles=PointPercentiles.model_validate(_read_json(folder / PERCENTILE_FILE)),
            turns=multi.get("turns") if isinstance(multi, dict) else None,
            sessions=multi.get("sessions") if isinstance(multi, dict) else None,
        )
    except ValueError as exc:
        if isinstance(exc, PerfReadError):
            raise
        raise PerfReadError(f"{folder}: not a perf sweep point ({exc})") from None


def read_point_args(point_dir: str | Path) -> dict[str, Any]:
    """A sweep point's ``benchmark_args.json`` (empty when missing)."""
    data = _read_json(Path(point_dir) / ARGS_FILE)
    return data if isinstance(data, dict) else {}


def read_perf_run(run_dir: str | Path) -> PerfRun:
    """A finished run folder as a :class:`PerfRun` (warnings and error counts recomputed from its points)."""
    root = Path(run_dir)
    results = {p.name: read_point(p) for p in point_dirs(root)}
    if not results:
        raise PerfReadError(f"{root}: no parallel_<p>_number_<n>/{SUMMARY_FILE} inside (not a perf run)")
    return PerfRun.collect(str(root), results)


def write_records(path: Path, records: list[RequestRecord], keep_text: bool = True) -> None:
    """Every request record into SQLite, in one transaction (the file is replaced, never appended to)."""
    rows = []
    for i, r in enumerate(sorted(records, key=lambda r: r.index)):
        times = r.out_times
        first = times[0] if len(times) else None
        rows.append(
            (
                i,
                r.index,
                r.prompt_index,
                r.worker,
                r.intended,
                r.start,
                first,
                r.end,
                r.end - r.intended,
                (first - r.intended) if first is not None else None,
                r.start - r.intended,
                int(r.ok),
                r.status,
                r.reason,
                r.error,
                r.prompt_tokens,
                r.completion_tokens,
                len(times),
                r.finish_reason,
                json.dumps([round(t - r.intended, 6) for t in times]),
                r.text if keep_text else None,
                r.session,
                r.turn,
                int(r.ramp),
            )
        )
    with fsio.atomic_path(path) as tmp:
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            with con:
                con.execute(SCHEMA)
                con.executemany(f"INSERT INTO requests VALUES ({','.join('?' * 24)})", rows)
        finally:
            con.close()


def read_records(path: str | Path, with_text: bool = False) -> list[RequestRecord]:
    """The records of a ``benchmark_data.db``, in send order (intended time).

    Chunk times come back absolute (intended + the stored offset, rounded to a microsecond; the first
    one exact), so :func:`evalscope.perf.metrics.request_values` applies to them unchanged. The
    per-chunk texts are not stored: ITL is per token from the usage counts.
    """
    db = Path(path)
    if not db.is_file():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        # databases written before multi-turn runs have no session_id / turn columns
        columns = {row[1] for row in con.execute("PRAGMA table_info(requests)")}
        sessions = "session_id, turn" if "turn" in columns else "NULL, NULL"
        sessions += ", ramp" if "ramp" in columns else ", 0"  # --ramp-up's requests (older files: none)
        rows = con.execute(
            "SELECT request_index, prompt_index, worker, intended_start, start, first_output, end_time, success, "
            "status, error_reason, error, prompt_tokens, completion_tokens, finish_reason, chunk_times, "
            f"{'output_text' if with_text else 'NULL'}, {sessions} FROM requests ORDER BY intended_start"
        ).fetchall()
    except sqlite3.Error as exc:
        raise PerfReadError(f"{db}: cannot read ({exc})") from None
    finally:
        con.close()
    records = []
    for (
        index,
        prompt_index,
        worker,
        intended,
        start,
        first,
        end,
        ok,
        status,
        reason,
        error,
        n_in,
        n_out,
        finish,
        times,
        text,
        session,
        turn,
        ramp,
    ) in rows:
        r = RequestRecord(index, prompt_index, intended, start)
        r.session, r.turn, r.ramp = session, turn, bool(ramp)
        r.end, r.status, r.worker = end, status, worker
        r.reason = None if ok else (reason or "unknown")
        r.error, r.prompt_tokens, r.completion_tokens, r.finish_reason = error, n_in, n_out, finish
        r.text = text or ""
        stamps = loads(times) if times else []  # orjson when installed: most of a report's reading time
        if stamps:
            absolute = np.asarray(stamps, dtype=float) + intended
            if first is not None:
                absolute[0] = first
            r.out_times = array("d", absolute.tobytes())
        records.append(r)
    return records
