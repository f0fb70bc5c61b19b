"""A worker process of the local pool (:mod:`evalscope.jobs.pool`): started once (warm), then runs
one job after another.

Protocol on its pipe: the parent sends a :class:`~evalscope.jobs.executor.Dispatch` (or None to
stop); the worker answers ``("ready", pid)`` once after start-up, then per job
``("progress", id, done, total)`` (throttled, see :class:`ProgressReporter`) and finally ``("succeeded", id, result)`` or ``("failed", id, message, traceback, result)``, where
``result`` is None unless the engine raised :class:`evalscope.errors.RunFailed` carrying one (what a
failed run wrote: reports, warnings, error counts).

While a job runs, every log line of the process (the job function's, the engine's) goes to the run
folder's one log file, ``logs/run.log`` (:attr:`evalscope.rundir.RunDir.log`), tagged with the job id
and scrubbed of the job's secrets.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalscope.errors import RunFailed
from evalscope.jobs.executor import Dispatch
from evalscope.jobs.kinds import JobContext, resolve_target
from evalscope.rundir import RunDir
from evalscope.secrets import ScrubFilter, scrub

PROGRESS_INTERVAL_S = 0.2
LOG_FORMAT = "%(asctime)s %(levelname)s [job %(job_id)s] %(name)s: %(message)s"


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
            dispatch = conn.recv()
        except (EOFError, OSError):
            break
        if dispatch is None:
            break
        _run(dispatch, send)


def _clean_result(result: Any, scrub_values: list[str]) -> str:
    # Results go to JSON columns and HTTP answers: make sure they serialise, and hold no secret.
    return scrub(json.dumps(result if result is not None else {}, default=str), scrub_values) or "{}"


class ProgressReporter:
    """A job's ``ctx.progress``: sends ``("progress", job_id, done, total)`` at most once per
    ``interval`` seconds (a run may report thousands of steps).  An update held back by that limit is
    sent by a timer when the interval has passed, so a job whose next step stalls still shows its
    latest count; a final count (``done >= total``) is sent at once.  Thread-safe; messages leave in
    order (sending happens under one lock, taken before the pipe's)."""

    def __init__(
        self, job_id: str, send: Callable[[tuple[Any, ...]], None], interval: float = PROGRESS_INTERVAL_S
    ) -> None:
        self.job_id = job_id
        self.interval = interval
        self._send = send
        self._lock = threading.Lock()
        self._last_sent = float("-inf")
        self._held: tuple[int, int | None] | None = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def __call__(self, done: int, total: int | None = None) -> None:
        update = (int(done), None if total is None else int(total))
        with self._lock:
            if self._closed:
                return
            wait = self._last_sent + self.interval - time.monotonic()
            if (total is not None and done >= total) or wait <= 0:
                self._send_now(update)
                return
            self._held = update
            if self._timer is None:
                self._timer = threading.Timer(wait, self._flush)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Send what is held back, stop the timer, and ignore later calls (the job has ended)."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._held is not None:
                self._send_now(self._held)

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._held is not None and not self._closed:
                self._send_now(self._held)

    def _send_now(self, update: tuple[int, int | None]) -> None:
        # Called with the lock held.
        self._held = None
        self._last_sent = time.monotonic()
        try:
            self._send(("progress", self.job_id, *update))
        except (OSError, EOFError):
            pass  # the pool is gone (the service stopped): the job's end is not reported either


@contextmanager
def _job_log(dispatch: Dispatch) -> Iterator[logging.Logger]:
    """While the job runs, the process's log lines (at INFO and above) go to the run's
    ``logs/run.log``, tagged with the job id and scrubbed of its secrets; yields the job's logger."""
    path = RunDir.at(dispatch.output_dir).log
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    # Filters on the handler see records from every logger, including the engines'.
    handler.addFilter(_JobIdFilter(dispatch.job_id))
    handler.addFilter(ScrubFilter(dispatch.scrub_values))
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield logging.getLogger("evalscope.job")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _failure(exc: BaseException, scrub_values: list[str]) -> tuple[str, dict[str, Any] | None]:
    """The message a failed job reports, and what the run wrote when it failed (RunFailed's result)."""
    if isinstance(exc, RunFailed):
        # An expected outcome (model unreachable, every request failed): its message is the whole
        # story, and what the run wrote travels with it so the job record keeps it.
        partial = json.loads(_clean_result(exc.result, scrub_values)) if exc.result is not None else None
        return scrub(exc.message, scrub_values) or "", partial
    return scrub(f"{type(exc).__name__}: {exc}", scrub_values) or "", None


def _run(dispatch: Dispatch, send: Callable[[tuple[Any, ...]], None]) -> None:
    """Run one job to its end and report it: progress while it runs, then succeeded or failed."""
    job_id = dispatch.job_id
    progress = ProgressReporter(job_id, send)
    with _job_log(dispatch) as logger:
        ctx = JobContext(
            job_id=job_id,
            output_dir=Path(dispatch.output_dir),
            resume=dispatch.resume,
            attempt=dispatch.attempt,
            progress=progress,
            logger=logger,
        )
        logger.info(
            "job %s (%s) started in worker %d, attempt %d",
            job_id,
            dispatch.kind,
            os.getpid(),
            dispatch.attempt,
        )
        try:
            result = resolve_target(dispatch.target)(dispatch.config, ctx)
            text = _clean_result(result, dispatch.scrub_values)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, including SystemExit
            message, partial = _failure(exc, dispatch.scrub_values)
            tb = scrub(traceback.format_exc(), dispatch.scrub_values)
            progress.close()
            logger.error("job %s failed: %s", job_id, message)
            send(("failed", job_id, message, tb, partial))
            return
        progress.close()
        logger.info("job %s succeeded", job_id)
        send(("succeeded", job_id, json.loads(text)))
