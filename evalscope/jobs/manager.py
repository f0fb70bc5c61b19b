"""The job manager: the one place that ties the store, the executor and the output folders."""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalscope.fsio import atomic_write_json
from evalscope.jobs.executor import ExecEvent, Executor
from evalscope.jobs.kinds import JobKind
from evalscope.jobs.models import ACTIVE_STATES, RESUMABLE_STATES, Job, JobState
from evalscope.jobs.paths import new_job_dir
from evalscope.jobs.secrets import merge_secrets, secret_values, split_secrets
from evalscope.jobs.store import JobStore, utcnow
from evalscope.jobs.worker import Task

log = logging.getLogger("evalscope.jobs")


class UnknownKind(KeyError):
    """No job kind of that name."""


class JobConflict(RuntimeError):
    """The job is not in a state that allows the operation (e.g. cancelling a finished job)."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically (:func:`evalscope.fsio.atomic_write_json`; values JSON lacks become strings)."""
    atomic_write_json(path, data, default=str)


class JobManager:
    """Submit, cancel, resume and observe jobs.

    Secrets are split off every submitted config: the store and ``config.json`` get the
    redacted config, the worker gets the real one through the executor (in memory), and the
    manager forgets the secrets when the job ends.
    """

    def __init__(self, store: JobStore, executor: Executor, kinds: dict[str, JobKind]) -> None:
        self.store = store
        self.executor = executor
        self.kinds = kinds
        self._secrets: dict[str, dict[str, Any]] = {}
        self._listeners: list[Callable[[Job], None]] = []
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> list[Job]:
        """Start the executor and re-queue the jobs left queued by a previous run."""
        self.executor.start(self._on_event)
        if self.executor.durable:
            return []
        requeued = self.store.recover()
        for job in requeued:
            self._enqueue(job, secrets={}, resume=job.attempts > 0)
            log.info("job %s: re-queued after restart", job.id)
        return requeued

    def shutdown(self) -> None:
        """Stop the workers; running jobs become interrupted, queued ones stay queued."""
        self.executor.shutdown()
        if not self.executor.durable:
            self.store.recover()

    def add_listener(self, fn: Callable[[Job], None]) -> None:
        """``fn(job)`` is called (from any thread) after every change of a job."""
        self._listeners.append(fn)

    # -- operations ---------------------------------------------------------------------------
    def submit(self, kind: str, config: dict[str, Any], parent_dir: Path) -> Job:
        """Create a job in its own new folder under ``parent_dir`` and queue it."""
        spec = self.kinds.get(kind)
        if spec is None:
            raise UnknownKind(kind)
        public, secrets = split_secrets(config)
        job_id = uuid.uuid4().hex
        out = new_job_dir(parent_dir, job_id)
        job = Job(id=job_id, kind=kind, state=JobState.queued, config=public, output_dir=str(out),
                  created_at=utcnow(), has_secret=bool(secrets))
        try:
            write_json_atomic(out / "config.json", {"job_id": job_id, "kind": kind, "config": public})
            self.store.create(job)
        except BaseException:
            # A full disk or a locked store: no job, so no folder of a job that does not exist.
            shutil.rmtree(out, ignore_errors=True)
            raise
        log.info("job %s: queued (%s) in %s", job_id, kind, out)
        self._enqueue(job, secrets, resume=False)
        self._notify(job)
        return job

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or running job (its worker process is killed and replaced)."""
        job = self.store.get(job_id)
        if job is None:
            return None
        updated = self.store.transition(job_id, ACTIVE_STATES, state=JobState.cancelled,
                                        finished_at=utcnow(), error="cancelled by request")
        if updated is None:
            raise JobConflict(f"job {job_id} is {self.store.get(job_id).state}; only queued or running jobs can be cancelled")
        self.executor.cancel(job_id)
        self._forget(job_id)
        log.info("job %s: cancelled", job_id)
        self._notify(updated)
        return updated

    def resume(self, job_id: str, secrets_config: dict[str, Any] | None = None) -> Job | None:
        """Queue an interrupted (or failed / cancelled) job again, in the same folder.

        ``secrets_config`` may carry ``api_key`` / ``headers`` again: they were never stored.
        """
        job = self.store.get(job_id)
        if job is None:
            return None
        spec = self.kinds.get(job.kind)
        if spec is None:
            raise UnknownKind(job.kind)
        _, secrets = split_secrets(secrets_config or {})
        updated = self.store.transition(job_id, RESUMABLE_STATES, state=JobState.queued, error=None,
                                        traceback=None, finished_at=None, has_secret=bool(secrets))
        if updated is None:
            raise JobConflict(f"job {job_id} is {job.state}; only interrupted, failed or cancelled jobs can be resumed")
        log.info("job %s: resumed", job_id)
        self._enqueue(updated, secrets, resume=True)
        self._notify(updated)
        return updated

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def list(self, **filters: Any) -> tuple[list[Job], int]:
        return self.store.list(**filters)

    # -- internals ----------------------------------------------------------------------------
    def _enqueue(self, job: Job, secrets: dict[str, Any], resume: bool) -> None:
        with self._lock:
            self._secrets[job.id] = secrets
        task = Task(job_id=job.id, kind=job.kind, target=self.kinds[job.kind].target,
                    config=merge_secrets(job.config, secrets), output_dir=job.output_dir,
                    resume=resume, attempt=job.attempts + 1, scrub_values=secret_values(secrets))
        self.executor.submit(task)

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._secrets.pop(job_id, None)

    def _notify(self, job: Job) -> None:
        for fn in list(self._listeners):
            try:
                fn(job)
            except Exception:  # noqa: BLE001 - a listener must not break the executor thread
                log.exception("job %s: listener failed", job.id)

    def _on_event(self, ev: ExecEvent) -> None:
        job: Job | None = None
        if ev.type == "started":
            job = self.store.mark_started(ev.job_id, ev.pid)
            if job is not None:
                log.info("job %s: running in worker %s", ev.job_id, ev.pid)
        elif ev.type == "progress":
            job = self.store.set_progress(ev.job_id, ev.done or 0, ev.total)
        elif ev.type == "succeeded":
            job = self.store.transition(ev.job_id, [JobState.running], state=JobState.succeeded,
                                        result=ev.result, finished_at=utcnow(), error=None)
            self._forget(ev.job_id)
            if job is not None:
                log.info("job %s: succeeded in %.3f s", ev.job_id, job.duration_s or 0.0)
        elif ev.type == "stored":
            job = self.store.get(ev.job_id)
            if job is not None and job.is_final:
                self._forget(ev.job_id)
        elif ev.type == "failed":
            job = self.store.transition(ev.job_id, [JobState.running], state=JobState.failed,
                                        error=ev.error, traceback=ev.traceback, finished_at=utcnow())
            self._forget(ev.job_id)
            if job is not None:
                log.warning("job %s: failed: %s", ev.job_id, ev.error)
        if job is not None:
            self._notify(job)
