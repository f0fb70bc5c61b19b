"""A job's live state: what its run has written so far, for the live page.

``live.json`` (written by the engines about once a second, see :mod:`evalscope.perf.live` and
:mod:`evalscope.eval.live`), the tail of ``logs/run.log`` and the folder's files.  Read from the job's
folder on each call (small reads: the live file, the log's last 64 KiB, a directory walk).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evalscope.jobs import Job
from evalscope.rundir import RunDir
from evalscope.service.schemas import FileOut

#: log lines sent with each live state
LOG_TAIL_LINES = 40
_TAIL_BYTES = 64 * 1024


class LiveOut(BaseModel):
    """``GET /api/v1/jobs/{id}/live`` and each ``event: live`` of ``.../events?live=1``."""

    id: str
    state: str
    live: dict[str, Any] | None = Field(
        None,
        description="the run so far (live.json): perf: current point, rolling req/s and tok/s, TTFT/ITL "
        "p50/p99, errors by reason, finished points; eval: per benchmark partial score and state "
        "counts; both: done, total, elapsed_s, remaining_s. null before the run writes it",
    )
    log_tail: list[str] = Field(
        default_factory=list, description=f"the last {LOG_TAIL_LINES} lines of the log"
    )
    files: list[FileOut] = Field(default_factory=list)


def _read_live(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not written yet (or a torn read on a file system without atomic rename)
    return data if isinstance(data, dict) else None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log (read from its last 64 KiB)."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - _TAIL_BYTES))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if len(data) >= _TAIL_BYTES and text:
        text = text[1:]  # the first line is cut
    return text[-lines:]


def job_files(root: Path) -> list[FileOut]:
    """Every file of a job's folder (relative paths, sorted; temporary files of atomic writes left out).

    The folder may be written while it is listed (a running job): ``os.walk`` skips a folder that
    vanished mid-walk (``rglob`` raised there, answering 500), and a file gone before its ``stat`` is
    left out."""
    files = []
    for folder, dirs, names in os.walk(root):  # errors (a folder removed meanwhile) are skipped
        dirs.sort()
        base = Path(folder)
        for name in names:
            path = base / name
            if name.endswith(".tmp") or path.is_symlink():
                continue
            try:
                st = path.stat()
            except OSError:
                continue  # removed while listed
            if stat.S_ISREG(st.st_mode):
                files.append(FileOut(path=path.relative_to(root).as_posix(), size=st.st_size))
    files.sort(key=lambda f: Path(f.path).parts)  # as sorted Paths: by folder, then name
    return files


def live_state(job: Job) -> LiveOut:
    """The job's live state now."""
    rd = RunDir(Path(job.output_dir))  # never created here (RunDir.at would)
    return LiveOut(
        id=job.id,
        state=job.state.value,
        live=_read_live(rd.live),
        log_tail=log_tail(rd.log),
        files=job_files(rd.root),
    )
