"""The worker process: started once (warm), then runs one job after another.

Protocol on its pipe: the parent sends a ``Task`` (or None to stop); the worker answers
``("ready", pid)`` once after start-up, then per job ``("progress", id, done, total)`` (throttled)
and finally ``("succeeded", id, result)`` or ``("failed", id, message, traceback, result)``, where
``result`` is None unless the engine raised :class:`evalscope.errors.RunFailed` carrying one (what a
failed run wrote: reports, warnings, error counts).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalscope.errors import RunFailed
from evalscope.jobs.kinds import JobContext, resolve_target
from evalscope.secrets import ScrubFilter, scrub

PROGRESS_INTERVAL_S = 0.2
LOG_FORMAT = "%(asctime)s %(levelname)s [job %(job_id)s] %(name)s: %(message)s"


@dataclass
class Task:
    """One job handed to a worker.  ``config`` holds the secrets (in memory only)."""

    job_id: str
    kind: str
    target: str
    config: dict[str, Any]
    output_dir: str
    resume: bool = False
    attempt: int = 1
    scrub_values: list[str] = field(default_factory=list)


class _JobIdFilter(logging.Filter):
    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = self.job_id
        return True


def _service_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_service(service_pid: int) -> None:
    # If the service dies (even by SIGKILL) its workers must not keep running jobs nobody tracks.
    # (With the forkserver start method the service is not our parent, so watch its pid.)
    while True:
        time.sleep(0.2)
        if not _service_alive(service_pid):
            try:
                os.killpg(os.getpgrp(), signal.SIGKILL)
            finally:
                os._exit(1)


def worker_main(conn: Any, preload: list[str], service_pid: int) -> None:
    """Entry point of a worker process."""
    try:
        # Own process group: cancelling a job kills the worker and anything the job started.
        os.setpgrp()
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the service, which stops us.
    threading.Thread(target=_watch_service, args=(service_pid,), daemon=True).start()
    for module in preload:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - a missing engine must not kill the worker
            print(f"evalscope worker: cannot preload {module}: {exc}", file=sys.stderr)
    lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> None:
        with lock:
            conn.send(msg)

    send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        _run(task, send)


def _clean_result(result: Any, scrub_values: list[str]) -> str:
    # Results go to JSON columns and HTTP answers: make sure they serialise, and hold no secret.
    return scrub(json.dumps(result if result is not None else {}, default=str), scrub_values)


def _run(task: Task, send: Any) -> None:
    out = Path(task.output_dir)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "logs" / "job.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    # Filters on the handler see records from every logger, including the engines'.
    handler.addFilter(_JobIdFilter(task.job_id))
    handler.addFilter(ScrubFilter(task.scrub_values))
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    logger = logging.getLogger("evalscope.job")

    last = [0.0, None]

    def progress(done: int, total: int | None = None) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if final or now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            last[1] = None
            send(("progress", task.job_id, int(done), None if total is None else int(total)))
        else:
            last[1] = (int(done), None if total is None else int(total))

    ctx = JobContext(job_id=task.job_id, output_dir=out, resume=task.resume, attempt=task.attempt,
                     progress=progress, logger=logger)
    logger.info("job %s (%s) started in worker %d, attempt %d", task.job_id, task.kind, os.getpid(), task.attempt)
    try:
        fn = resolve_target(task.target)
        result = fn(task.config, ctx)
        text = _clean_result(result, task.scrub_values)
        if last[1] is not None:
            send(("progress", task.job_id, *last[1]))
        logger.info("job %s succeeded", task.job_id)
        send(("succeeded", task.job_id, json.loads(text)))
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, including SystemExit
        partial = None
        if isinstance(exc, RunFailed):
            # An expected outcome (model unreachable, every request failed): its message is the whole
            # story, and what the run wrote travels with it so the job record keeps it.
            message = scrub(exc.message, task.scrub_values)
            if exc.result is not None:
                partial = json.loads(_clean_result(exc.result, task.scrub_values))
        else:
            message = scrub(f"{type(exc).__name__}: {exc}", task.scrub_values)
        tb = scrub(traceback.format_exc(), task.scrub_values)
        logger.error("job %s failed: %s", task.job_id, message)
        send(("failed", task.job_id, message, tb, partial))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
