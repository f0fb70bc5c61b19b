"""The local pool: ``LocalProcessExecutor``, the embedded executor (warm worker processes on this
machine, each running one job after another; see :mod:`evalscope.jobs.worker` for the process side).
"""

from __future__ import annotations

import atexit
import collections
import logging
import multiprocessing as mp
import multiprocessing.spawn as mp_spawn
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait as mp_wait
from typing import Any

from evalscope.jobs.executor import Dispatch, ExecEvent, Executor
from evalscope.jobs.worker import worker_main

log = logging.getLogger("evalscope.jobs")

#: Delay before the first retry after a worker could not be started, and the longest delay
#: (doubled after each failure in a row).
SPAWN_RETRY_S = (0.5, 15.0)

# -- workers never re-run the user's __main__ ---------------------------------------------------
# multiprocessing's spawn and forkserver children re-import the parent's main script (as
# __mp_main__) so that functions defined there can be unpickled. Our workers need nothing from it
# (their target and every dispatch are importable from evalscope or by name), and re-running a script
# such as the seed's `run_service(...)` without an `if __name__ == "__main__":` guard would start a
# second service inside each worker, which then never becomes ready. So the preparation data sent
# to *our* children leaves the main module out; other users of multiprocessing in the same process
# are untouched (the flag is per thread and only set while this executor starts a worker).
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name", "main_path")
_spawning = threading.local()


def _preparation_data(name: str) -> dict[str, Any]:
    data = _stdlib_preparation_data(name)
    if getattr(_spawning, "no_main", False):
        for key in _MAIN_KEYS:
            data.pop(key, None)
    return data


_stdlib_preparation_data = getattr(
    mp_spawn.get_preparation_data, "__wrapped__", mp_spawn.get_preparation_data
)
_preparation_data.__wrapped__ = _stdlib_preparation_data  # type: ignore[attr-defined]
mp_spawn.get_preparation_data = _preparation_data


class _Worker:
    """The pool's handle on one worker process: its pipe and the dispatch it runs."""

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc = proc
        self.conn = conn
        self.ready = False
        self.dispatch: Dispatch | None = None
        self.cancelled = False


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "worker process vanished"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"worker process was killed by {name}{hint}"
    return f"worker process exited with code {code}"


def _never_ran(dispatch: Dispatch, reason: str) -> list[ExecEvent]:
    """Events that end a dispatch no worker took: an attempt (without a worker) that failed."""
    return [
        ExecEvent(dispatch.job_id, "started", pid=None),
        ExecEvent(dispatch.job_id, "failed", error=reason),
    ]


class LocalProcessExecutor(Executor):
    """A pool of ``max_workers`` pre-started worker processes.

    One monitor thread waits on every worker's pipe and process sentinel: it forwards events,
    hands queued dispatches to idle workers, and replaces a worker that died (crash, OOM kill, cancel).
    All events are emitted from that one thread, so a job's events arrive in order.

    A worker that cannot be started (no file descriptors left, the forkserver cannot start, the
    worker dies during start-up) never stops the thread: the attempt is retried with a growing
    delay (``SPAWN_RETRY_S``), :meth:`health` reports it, and while no worker is alive the oldest
    queued job fails with the reason at each failed attempt instead of waiting forever.
    """

    def __init__(
        self, max_workers: int = 2, preload: list[str] | tuple[str, ...] = (), start_method: str | None = None
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        self.max_workers = max_workers
        self.preload = list(preload)
        # forkserver: one clean server process imports the engines once and forks each worker from
        # it, so a new worker (at start, or replacing a killed one) is ready in milliseconds.
        if start_method is None:
            start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.start_method = start_method
        self._ctx: Any = mp.get_context(start_method)  # typeshed's BaseContext lacks Process
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(["evalscope.jobs.worker", *self.preload])
        self._lock = threading.RLock()
        self._workers: list[_Worker] = []
        self._pending: collections.deque[Dispatch] = collections.deque()
        self._on_event: Callable[[ExecEvent], None] = lambda e: None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._spawn_failures = 0  # all time, for /metrics
        self._spawn_failures_in_row = 0  # reset when a worker reports ready
        self._spawn_error: str | None = None
        self._spawn_retry_at = 0.0  # monotonic time before which no new worker is started
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)

    # -- interface ----------------------------------------------------------------------------
    def start(self, on_event: Callable[[ExecEvent], None]) -> None:
        self._on_event = on_event
        # Workers are started by the monitor thread, so the service answers (e.g. /health) while
        # the forkserver is still importing the engines; jobs wait in the queue until a worker is ready.
        self._thread = threading.Thread(target=self._loop, name="evalscope-executor", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    def submit(self, dispatch: Dispatch) -> None:
        with self._lock:
            self._pending.append(dispatch)
        self._wake()

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            for pending in self._pending:
                if pending.job_id == job_id:
                    self._pending.remove(pending)
                    return True
            for w in self._workers:
                if w.dispatch is not None and w.dispatch.job_id == job_id:
                    w.cancelled = True
                    self._kill(w)
                    return True
        return False

    def shutdown(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            if w.dispatch is None and w.ready:
                try:
                    w.conn.send(None)
                except OSError:
                    self._kill(w)
            else:
                # Busy (the job becomes interrupted) or still starting up: no reason to wait.
                self._kill(w)
        for w in workers:
            w.proc.join(timeout=2)
            if w.proc.is_alive():
                self._kill(w)
                w.proc.join(timeout=2)

    def capacity(self) -> int | None:
        return self.max_workers

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "workers": len(self._workers),
                "workers_ready": sum(w.ready for w in self._workers),
                "busy": sum(w.dispatch is not None for w in self._workers),
                "queued": len(self._pending),
                "spawn_failures": self._spawn_failures,
            }

    def health(self) -> dict[str, Any] | None:
        with self._lock:
            if self._spawn_error is None:
                return None
            alive = len(self._workers)
            return {
                "reason": f"{alive} of {self.max_workers} worker processes running; the last attempt to "
                f"start one failed ({self._spawn_error}); retrying",
                "can_run_jobs": alive > 0,
            }

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._workers]

    # -- internals ----------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        """Start one worker process (raises whatever starting it raised, e.g. OSError EMFILE)."""
        parent_conn, child_conn = self._ctx.Pipe()
        try:
            proc = self._ctx.Process(
                target=worker_main,
                args=(child_conn, self.preload, os.getpid()),
                name="evalscope-worker",
                daemon=False,
            )
            _spawning.no_main = True
            try:
                proc.start()
            finally:
                _spawning.no_main = False
        except BaseException:
            parent_conn.close()
            raise
        finally:
            child_conn.close()
        return _Worker(proc, parent_conn)

    def _spawn_failed(self, reason: str) -> list[ExecEvent]:
        """Count a failed start (under the lock), schedule the retry, and fail the oldest queued
        job when no worker is left to run it."""
        self._spawn_failures += 1
        self._spawn_failures_in_row += 1
        self._spawn_error = reason
        first, cap = SPAWN_RETRY_S
        delay = min(cap, first * 2 ** (self._spawn_failures_in_row - 1))
        self._spawn_retry_at = time.monotonic() + delay
        log.error("cannot start a worker process: %s; retrying in %.1f s", reason, delay)
        if self._workers or not self._pending:
            return []
        dispatch = self._pending.popleft()
        return _never_ran(
            dispatch,
            f"no worker process could be started to run this job ({reason}); "
            "the service keeps retrying: resume the job later",
        )

    def _fill_pool(self) -> list[ExecEvent]:
        """Start workers up to ``max_workers`` (outside the lock: a start may take a while)."""
        events: list[ExecEvent] = []
        while True:
            with self._lock:
                if (
                    self._stopping
                    or len(self._workers) >= self.max_workers
                    or time.monotonic() < self._spawn_retry_at
                ):
                    return events
            try:
                worker = self._spawn()
            except Exception as exc:  # noqa: BLE001 - any failure to start is retried, never fatal
                with self._lock:
                    events += self._spawn_failed(f"{type(exc).__name__}: {exc}")
                return events
            with self._lock:
                self._workers.append(worker)

    def _kill(self, w: _Worker) -> None:
        try:
            os.killpg(w.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            try:
                w.proc.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"w")
        except OSError:
            pass

    def _loop(self) -> None:
        while True:
            try:
                if not self._step():
                    return
            except Exception:  # noqa: BLE001 - the executor must outlive any single failure
                log.exception("executor loop failed; continuing")
                time.sleep(0.5)

    def _step(self) -> bool:
        """One round of the monitor thread; False once the executor is stopping."""
        events = self._fill_pool()
        self._emit(events)
        with self._lock:
            if self._stopping:
                return False
            conns = {w.conn: w for w in self._workers}
            sentinels = {w.proc.sentinel: w for w in self._workers}
            timeout = 1.0
            if len(self._workers) < self.max_workers:
                timeout = min(timeout, max(0.0, self._spawn_retry_at - time.monotonic()))
        ready = mp_wait([*conns, *sentinels, self._wake_r], timeout=timeout)
        events = []
        with self._lock:
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            for obj in ready:
                if obj in conns:
                    events += self._drain(conns[obj])
            for obj in ready:
                if obj in sentinels:
                    events += self._reap(sentinels[obj])
            if not self._stopping:
                events += self._dispatch()
        self._emit(events)
        return True

    def _emit(self, events: list[ExecEvent]) -> None:
        for event in events:
            try:
                self._on_event(event)
            except Exception:  # noqa: BLE001 - a store hiccup must not stop the executor
                log.exception("job %s: handling %s event failed", event.job_id, event.type)

    def _drain(self, w: _Worker) -> list[ExecEvent]:
        events: list[ExecEvent] = []
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                kind = msg[0]
                if kind == "ready":
                    w.ready = True
                    self._spawn_failures_in_row = 0
                    self._spawn_error = None
                elif kind == "progress":
                    events.append(ExecEvent(msg[1], "progress", done=msg[2], total=msg[3]))
                elif kind == "succeeded":
                    w.dispatch = None
                    events.append(ExecEvent(msg[1], "succeeded", result=msg[2]))
                elif kind == "failed":
                    w.dispatch = None
                    events.append(
                        ExecEvent(
                            msg[1],
                            "failed",
                            error=msg[2],
                            traceback=msg[3],
                            result=msg[4] if len(msg) > 4 else None,
                        )
                    )
        except (EOFError, OSError):
            pass  # the sentinel reports the death
        return events

    def _reap(self, w: _Worker) -> list[ExecEvent]:
        events = self._drain(w)
        w.proc.join(timeout=1)
        if w in self._workers:
            self._workers.remove(w)
        try:
            w.conn.close()
        except OSError:
            pass
        if w.dispatch is not None and not w.cancelled:
            message = _describe_exit(w.proc.exitcode)
            log.error("job %s: %s", w.dispatch.job_id, message)
            events.append(ExecEvent(w.dispatch.job_id, "failed", error=message))
        if not w.ready and not w.cancelled and not self._stopping:
            # Died before it could take a job (a broken forkserver, an import crash): a failed start.
            events += self._spawn_failed(f"worker exited during start-up: {_describe_exit(w.proc.exitcode)}")
        # The replacement is started by _fill_pool at the top of the next round.
        return events

    def _dispatch(self) -> list[ExecEvent]:
        events: list[ExecEvent] = []
        for w in self._workers:
            if not self._pending:
                break
            if not w.ready or w.dispatch is not None or w.cancelled:
                continue
            dispatch = self._pending.popleft()
            try:
                w.conn.send(dispatch)
            except OSError:
                self._pending.appendleft(dispatch)  # the pipe is broken: the sentinel reaps this worker
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a config that cannot be pickled
                events += _never_ran(
                    dispatch, f"cannot hand the job to a worker: {type(exc).__name__}: {exc}"
                )
                continue
            w.dispatch = dispatch
            events.append(ExecEvent(dispatch.job_id, "started", pid=w.proc.pid))
        return events
