"""The worker side: a Celery worker whose tasks run jobs in warm local worker processes.

``evalscope worker`` starts Celery with a thread pool of ``--concurrency`` threads and a
``LocalProcessExecutor`` (the local pool) with as many warm processes.  A Celery task's thread
hands its job (a :class:`~evalscope.jobs.executor.Dispatch`) to a process
(so a crash or a cancel kills only that process, exactly as with the local executor), then waits,
writing a heartbeat to the store every ``heartbeat`` seconds and checking whether the job was
cancelled.  Progress, the result or the error go straight into the shared store.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evalscope.errors import RunFailed
from evalscope.jobs.celery import leases
from evalscope.jobs.celery.files import FilesConfig
from evalscope.jobs.celery.sealing import SealError, secret_key_from_env, unseal
from evalscope.jobs.executor import Dispatch, ExecEvent
from evalscope.jobs.kinds import all_kinds
from evalscope.jobs.models import Job, JobState
from evalscope.jobs.partial import STOPPED, PartialOutcome, headline, initial, write_partial_bounded
from evalscope.jobs.pool import LocalProcessExecutor
from evalscope.jobs.store import JobStore, utcnow
from evalscope.jobs.summary import PartialReport
from evalscope.rundir import REPORT_FILE

log = logging.getLogger("evalscope.worker")


class WorkerSettings(BaseModel):
    """Settings of one ``evalscope worker``."""

    broker_url: str = Field(description="Celery broker, e.g. redis://127.0.0.1:6379/0")
    database_url: str = Field(description="the service's job store, e.g. postgresql+psycopg://...")
    concurrency: int = Field(2, ge=1, le=256, description="jobs (or perf shards) run at once")
    heartbeat: float = Field(5.0, gt=0, description="seconds between heartbeats / cancel checks")
    files: FilesConfig = Field(default_factory=FilesConfig)
    hostname: str = Field(default_factory=lambda: f"evalscope@{socket.gethostname()}")
    queue: str = "evalscope"


class _Run:
    """A job (or a shard of one) this worker is running: the events its task thread waits for."""

    def __init__(self, job_id: str, progress: Callable[[int, int | None], None] | None) -> None:
        self.job_id = job_id
        self.progress = progress
        self.events: queue.Queue[ExecEvent | None] = queue.Queue()
        self.pid: int | None = None
        self.cancelled = False


class WorkerRuntime:
    """Store + warm process pool + the task bodies; one per ``evalscope worker`` process."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.store = JobStore(settings.database_url)
        self._secret_key = secret_key_from_env()  # read here, never a setting: settings get logged
        preload = sorted({m for k in all_kinds().values() for m in k.preload})
        self.executor = LocalProcessExecutor(settings.concurrency, preload=preload)
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.executor.start(self._on_event)

    def shutdown(self) -> None:
        self.executor.shutdown()
        self.store.close()

    # -- events from the local process pool (its monitor thread) -------------------------------
    def _on_event(self, ev: ExecEvent) -> None:
        with self._lock:
            run = self._runs.get(ev.job_id)
        if run is None:
            return
        if ev.type == "progress":
            if run.progress is not None:
                run.progress(ev.done or 0, ev.total)
            else:
                self.store.set_progress(run.job_id, ev.done or 0, ev.total)
        run.events.put(ev)

    # -- cancel (broadcast from the service, or seen in the store) -----------------------------
    def cancel(self, job_id: str) -> bool:
        """Kill the process(es) running ``job_id`` here; False when this worker does not run it."""
        with self._lock:
            runs = [(key, run) for key, run in self._runs.items() if run.job_id == job_id]
        for key, run in runs:
            run.cancelled = True
            self.executor.cancel(key)
            run.events.put(None)
        return bool(runs)

    def running(self) -> list[str]:
        """Ids of the jobs running here."""
        with self._lock:
            return sorted({run.job_id for run in self._runs.values()})

    # -- the task body -------------------------------------------------------------------------
    def open_payload(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The message with its sealed API keys opened; None (and the job failed, saying why) when
        this worker cannot open them."""
        try:
            return unseal(payload, self._secret_key)
        except SealError as exc:
            job_id = payload.get("job_id", "?")
            log.error("job %s: %s", job_id, exc)
            self.store.transition(
                job_id,
                [JobState.queued, JobState.running],
                state=JobState.failed,
                error=str(exc),
                finished_at=utcnow(),
            )
            return None

    def run_dispatch(
        self,
        payload: dict[str, Any],
        *,
        start: Callable[[], bool] | None = None,
        finish: Callable[[dict[str, Any] | None], dict[str, Any] | None] | None = None,
        key: str | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        local_dir: Path | None = None,
        job_dir: Path | None = None,
    ) -> dict[str, Any]:
        """Run one job (or one perf shard) to its end; the Celery task's body.

        ``start()`` claims the job (default: the store's ``queued -> running``); ``finish(result)``
        replaces the result, or returns None when another party ends the job (perf shards).
        ``key`` names this run in the process pool (default the job id); the process writes into
        ``local_dir`` inside the job's local folder ``job_dir`` (both default to the job's folder
        as this worker's files mode places it).
        """
        dispatch = Dispatch(**payload)
        job_id = dispatch.job_id
        key = key or job_id
        job_local = job_dir or self.settings.files.local_dir(dispatch.output_dir)
        local = local_dir or job_local
        run = _Run(job_id, progress)
        with self._lock:
            if key in self._runs:
                return {"job_id": job_id, "skipped": "already running here"}
            self._runs[key] = run
        try:
            claimed = start() if start is not None else self._claim(job_id)
            if not claimed:
                job = self.store.get(job_id)
                state = job.state if job else "missing"
                log.info("job %s: not started (it is %s)", job_id, state)
                return {"job_id": job_id, "skipped": str(state)}
            local.mkdir(parents=True, exist_ok=True)
            leases.heartbeat(self.store, job_id, self.settings.hostname, os.getpid())
            self.executor.submit(Dispatch(**{**payload, "job_id": key, "output_dir": str(local)}))
            outcome = self._wait(job_id, run)
            return self._finish(dispatch, local, job_local, outcome, finish)
        finally:
            with self._lock:
                if self._runs.get(key) is run:
                    del self._runs[key]

    def _claim(self, job_id: str) -> bool:
        return self.store.mark_started(job_id, os.getpid()) is not None

    def _wait(self, job_id: str, run: _Run) -> ExecEvent | None:
        while True:
            try:
                ev = run.events.get(timeout=self.settings.heartbeat)
            except queue.Empty:
                ev = None
            if ev is not None and ev.type in ("succeeded", "failed"):
                return ev
            if run.cancelled:
                return None
            if ev is not None and ev.type == "started":
                run.pid = ev.pid
            if ev is not None and ev.type == "progress":
                continue
            leases.heartbeat(self.store, job_id, self.settings.hostname, run.pid)
            job = self.store.get(job_id)
            if job is None or job.state != JobState.running:
                # Cancelled through the service (or interrupted by it): stop the process.
                log.info("job %s: %s in the store; stopping it", job_id, job.state if job else "deleted")
                self.cancel(job_id)
                return None

    def _finish(
        self,
        dispatch: Dispatch,
        local: Path,
        job_local: Path,
        outcome: ExecEvent | None,
        finish: Callable[[dict[str, Any] | None], dict[str, Any] | None] | None,
    ) -> dict[str, Any]:
        """Deliver the files and store how the run ended; the Celery task's answer."""
        job_id, output_dir = dispatch.job_id, dispatch.output_dir
        if outcome is None:
            # Cancelled (or interrupted) through the service: the job is final in the store already. A
            # run that finished something gets its partial report here, where its folder is (then upload
            # mode sends the folder); otherwise upload mode keeps the files here.
            if finish is None:
                self._after_stop(dispatch, job_local)
            return {"job_id": job_id, "state": "cancelled"}
        if outcome.type == "failed":
            if finish is None and self._fail_with_partial(dispatch, job_local, outcome):
                return {"job_id": job_id, "state": "failed"}
            self._deliver(job_id, local, job_local, output_dir, None)
            return self._fail(job_id, outcome.error, traceback=outcome.traceback, result=outcome.result)
        result = outcome.result
        if finish is not None:
            try:
                result = finish(result)
            except RunFailed as exc:  # e.g. every request of a distributed perf run failed
                self._deliver(job_id, job_local, job_local, output_dir, None)
                return self._fail(job_id, exc.message, result=exc.result)
            except Exception as exc:  # noqa: BLE001 - e.g. merging shards failed
                log.exception("job %s: finishing failed", job_id)
                return self._fail(job_id, f"{type(exc).__name__}: {exc}")
            if result is None:  # another shard ends the job; deliver this shard's own files
                self._deliver(job_id, local, job_local, output_dir, None)
                return {"job_id": job_id, "state": "shard done"}
        try:
            result = self._deliver(job_id, job_local, job_local, output_dir, result)
        except Exception as exc:  # noqa: BLE001 - the job's files did not arrive: the job failed
            return self._fail(job_id, f"{type(exc).__name__}: {exc}")
        self.store.transition(
            job_id,
            [JobState.running],
            state=JobState.succeeded,
            result=result,
            finished_at=utcnow(),
            error=None,
        )
        return {"job_id": job_id, "state": "succeeded"}

    def _fail(self, job_id: str, error: str | None, **fields: Any) -> dict[str, Any]:
        """Store the running job as failed with ``error`` (and ``traceback`` / ``result`` when given)."""
        self.store.transition(
            job_id, [JobState.running], state=JobState.failed, error=error, finished_at=utcnow(), **fields
        )
        return {"job_id": job_id, "state": "failed"}

    # -- partial reports of runs that stopped midway (evalscope.jobs.partial) ----------------------
    def _partial_due(
        self, job_id: str, folder: Path, state: JobState | None
    ) -> tuple[Job, JobState, PartialReport] | None:
        """The stored job, the state it stopped in (``state``, or the stored one) and its partial-report
        status judged from ``folder`` (this worker's copy), when one is due; never raises."""
        try:
            job = self.store.get(job_id)
            stopped = state or (job.state if job is not None else None)
            if job is None or stopped not in STOPPED:
                return None
            partial = initial(job.model_copy(update={"state": stopped, "output_dir": str(folder)}))
        except Exception:  # noqa: BLE001 - a report is a by-product: the job's end comes first
            log.exception("job %s: cannot tell whether a partial report is due", job_id)
            return None
        return None if partial is None else (job, stopped, partial)

    def _after_stop(self, dispatch: Dispatch, folder: Path) -> None:
        """A job the service cancelled (or marked interrupted) while it ran here: its headline says
        whether a partial report comes, then this worker writes it and delivers the folder."""
        due = self._partial_due(dispatch.job_id, folder, None)
        if due is None:
            return
        job, state, partial = due
        if self.store.transition(job.id, [state], summary=headline(job, state, job.result, partial)) is None:
            return  # resumed meanwhile: its next end decides again
        if partial.status == "writing":
            self._write_partial(job, state, folder, dispatch.output_dir)

    def _fail_with_partial(self, dispatch: Dispatch, folder: Path, outcome: ExecEvent) -> bool:
        """Store a failed eval or perf job with its partial-report status (and write the report when its
        run finished something); False when no partial report is due (the caller fails it as before)."""
        due = self._partial_due(dispatch.job_id, folder, JobState.failed)
        if due is None:
            return False
        job, state, partial = due
        summary = headline(job, state, outcome.result, partial)
        if partial.status != "writing":
            self._deliver(job.id, folder, folder, dispatch.output_dir, None)  # the logs, while it runs
            self._fail(
                job.id, outcome.error, traceback=outcome.traceback, result=outcome.result, summary=summary
            )
            return True
        stored = self.store.transition(
            job.id,
            [JobState.running],
            state=state,
            error=outcome.error,
            traceback=outcome.traceback,
            finished_at=utcnow(),
            result=outcome.result,
            summary=summary,
        )
        if stored is not None:
            self._write_partial(stored, state, folder, dispatch.output_dir)
        return True

    def _write_partial(self, job: Job, state: JobState, folder: Path, output_dir: str) -> None:
        """Write the partial report in ``folder`` (a bounded child process), deliver the folder (upload
        mode: the service takes it while the headline says ``writing``), then store the outcome in the
        headline and, for a job without a result, the partial run's result."""
        outcome = write_partial_bounded(job.kind, state.value, folder)
        result = job.result if job.result is not None else outcome.result
        try:
            result = self.settings.files.finish(job.id, folder, folder, output_dir, result)
        except Exception as exc:  # noqa: BLE001 - the report stays here; the headline says why
            log.exception("job %s: delivering its files failed", job.id)
            outcome = PartialOutcome(
                written=False, reason=f"the job's files did not reach the service: {exc}"
            )
            result = job.result
        if outcome.written:
            partial = PartialReport(status="written", text=outcome.text, path=REPORT_FILE)
            log.info("job %s: partial report written (%s)", job.id, outcome.text)
        else:
            partial = PartialReport(status="none", reason=outcome.reason)
            log.warning("job %s: no partial report: %s", job.id, outcome.reason)
        fields: dict[str, Any] = {"summary": headline(job, state, result, partial)}
        if job.result is None and result is not None:
            fields["result"] = result
        self.store.transition(job.id, [state], **fields)

    def _deliver(self, job_id: str, folder: Path, root: Path, output_dir: str, result: Any) -> Any:
        try:
            return self.settings.files.finish(job_id, folder, root, output_dir, result)
        except Exception:
            if result is not None:
                raise
            log.exception("job %s: delivering its files failed", job_id)
            return None


_runtime: WorkerRuntime | None = None


def register_tasks(app: Any, runtime: WorkerRuntime) -> None:
    """Bind the task names to ``runtime`` on ``app`` and the cancel control command."""
    global _runtime
    _runtime = runtime
    from celery.worker.control import control_command

    from evalscope.jobs.celery.app import TASK_RUN, TASK_SHARD
    from evalscope.jobs.celery.distperf import run_shard

    @app.task(name=TASK_RUN, bind=False)
    def run_job(payload: dict[str, Any]) -> dict[str, Any]:
        opened = runtime.open_payload(payload)
        return (
            runtime.run_dispatch(opened)
            if opened is not None
            else {"job_id": payload.get("job_id"), "state": "failed"}
        )

    @app.task(name=TASK_SHARD, bind=False)
    def perf_shard(payload: dict[str, Any], shard: int, shards: int) -> dict[str, Any]:
        opened = runtime.open_payload(payload)
        if opened is None:
            return {"job_id": payload.get("job_id"), "state": "failed"}
        return run_shard(runtime, opened, shard, shards)

    @control_command(args=[("job_id", str)], signature="<job_id>")
    def evalscope_cancel(state: Any, job_id: str) -> dict[str, Any]:
        ok = _runtime.cancel(job_id) if _runtime is not None else False
        return {"ok": ok}
