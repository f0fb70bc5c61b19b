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
from evalscope.jobs.executor import Dispatch, ExecEvent, Executor
from evalscope.jobs.kinds import JobKind
from evalscope.jobs.models import ACTIVE_STATES, RESUMABLE_STATES, Job, JobFile, JobState
from evalscope.jobs.partial import PartialReporter, headline, initial
from evalscope.jobs.paths import new_job_dir
from evalscope.jobs.scheduler import Scheduler, server_of
from evalscope.jobs.store import JobStore, utcnow
from evalscope.jobs.summary import PartialReport
from evalscope.rundir import RunDir
from evalscope.secrets import merge_secrets, secret_values, split_secrets

log = logging.getLogger("evalscope.jobs")

#: Delay before retrying a final state the store refused, and the longest delay (doubled each time).
STORE_RETRY_S = (0.5, 30.0)


class UnknownKind(KeyError):
    """No job kind of that name."""


class JobConflict(RuntimeError):
    """The job is not in a state that allows the operation (e.g. cancelling a finished job)."""


class JobManager:
    """Submit, cancel, resume and observe jobs.

    Each job gets its own folder, which is also its run's folder (:class:`evalscope.rundir.RunDir`):
    the manager writes only ``job.json`` there (:class:`JobFile`); ``config.json`` is the engine's.

    Secrets are split off every submitted config: the store and ``job.json`` get the
    redacted config, the worker gets the real one through the executor (in memory), and the
    manager forgets the secrets when the job ends.
    """

    def __init__(
        self,
        store: JobStore,
        executor: Executor,
        kinds: dict[str, JobKind],
        scheduler: Scheduler | None = None,
    ) -> None:
        """``scheduler`` decides which queued job a worker takes next (default: first in first out
        up to the executor's capacity, load tests of one model server one at a time)."""
        self.store = store
        self.executor = executor
        self.kinds = kinds
        self.scheduler = scheduler if scheduler is not None else Scheduler(executor.capacity())
        if self.scheduler.capacity is None:
            self.scheduler.capacity = executor.capacity()
        self._secrets: dict[str, dict[str, Any]] = {}
        self._listeners: list[Callable[[Job], None]] = []
        self._lock = threading.Lock()
        # Final states the store refused (locked, full disk): job id -> the fields to write.
        # Reads overlay them, and one thread retries them until stored (see _finish).
        self._unsaved: dict[str, dict[str, Any]] = {}
        self._store_error: str | None = None
        self._start_unsaved: set[str] = set()  # running jobs the store still has as queued
        self._retry_wake = threading.Event()
        self._stopping = False
        self._retrier: threading.Thread | None = None
        # a job that stops midway keeps a report of what it finished (not with a durable executor:
        # its workers hold the run folders)
        self.partials = PartialReporter(store, self._notify)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> list[Job]:
        """Start the executor and re-queue the jobs left queued by a previous run."""
        self.executor.start(self._on_event)
        if self.executor.durable:
            return self._adopt()
        requeued = self.store.recover()
        self._partial_after_restart()
        for job in requeued:
            self._enqueue(job, secrets={}, resume=job.attempts > 0)
            log.info("job %s: re-queued after restart", job.id)
        return requeued

    def shutdown(self) -> None:
        """Stop the workers; running jobs become interrupted, queued ones stay queued.

        Final states not yet stored get one last try first (a job that ended is not interrupted)."""
        self.executor.shutdown()
        self.partials.stop()
        self._stopping = True
        self._retry_wake.set()
        retrier = self._retrier
        if retrier is not None:
            retrier.join(timeout=60)
        self._save_unsaved()
        if not self.executor.durable:
            try:
                self.store.recover()
            except Exception:  # noqa: BLE001 - start-up recovery will do it
                log.exception("could not mark running jobs interrupted at shutdown; the next start will")

    def _adopt(self) -> list[Job]:
        """Durable executor (Celery): jobs it runs or holds keep their model server and count against
        their user; queued jobs the scheduler never handed over (``waits`` still None) wait again,
        or become interrupted when their API key (never stored) is gone."""
        requeued: list[Job] = []
        for job in self.store.list(state=JobState.running, limit=None)[0]:
            self.scheduler.occupy(job.id, job.owner, job.kind, server_of(job.kind, job.config))
        for job in self.store.list(state=JobState.queued, limit=None, oldest_first=True)[0]:
            if job.waits is not None:
                self.scheduler.occupy(job.id, job.owner, job.kind, server_of(job.kind, job.config))
            elif job.has_secret:
                self.store.transition(
                    job.id,
                    [JobState.queued],
                    state=JobState.interrupted,
                    finished_at=utcnow(),
                    error="the service restarted before this job ran and API keys are never stored; "
                    "resume it with its api_key",
                )
            else:
                self._enqueue(job, secrets={}, resume=job.attempts > 0)
                requeued.append(job)
        return requeued

    def health(self) -> dict[str, Any] | None:
        """None when all is well, else ``{"reason": str, "can_run_jobs": bool}`` (for /health)."""
        reasons: list[str] = []
        can_run = True
        executor = self.executor.health()
        if executor is not None:
            reasons.append(executor["reason"])
            can_run = bool(executor.get("can_run_jobs", True))
        with self._lock:
            unsaved, error = len(self._unsaved), self._store_error
        if unsaved:
            reasons.append(f"{unsaved} finished job(s) not yet saved in the job store ({error}); retrying")
        return {"reason": "; ".join(reasons), "can_run_jobs": can_run} if reasons else None

    def unsaved_count(self) -> int:
        """Jobs whose final state is known here but not yet stored (for /metrics)."""
        with self._lock:
            return len(self._unsaved)

    def add_listener(self, fn: Callable[[Job], None]) -> None:
        """``fn(job)`` is called (from any thread) after every change of a job."""
        self._listeners.append(fn)

    # -- operations ---------------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        config: dict[str, Any],
        parent_dir: Path,
        owner: str | None = None,
        endpoint: str | None = None,
    ) -> Job:
        """Create a job in its own new folder under ``parent_dir`` and queue it; ``owner`` is the
        submitting user, ``endpoint`` the named endpoint its model came from."""
        spec = self.kinds.get(kind)
        if spec is None:
            raise UnknownKind(kind)
        public, secrets = split_secrets(config)
        job_id = uuid.uuid4().hex
        out = new_job_dir(parent_dir, job_id)
        job = Job(
            id=job_id,
            kind=kind,
            state=JobState.queued,
            config=public,
            output_dir=str(out),
            created_at=utcnow(),
            has_secret=bool(secrets),
            owner=owner,
            endpoint=endpoint,
        )
        try:
            job_file = JobFile(job_id=job_id, kind=kind, config=public, created_at=job.created_at)
            atomic_write_json(RunDir(out).job, job_file.model_dump(mode="json"), default=str)
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
        job = self.get(job_id)
        if job is None:
            return None
        if job.is_final:  # e.g. ended, with its final state not stored yet
            raise JobConflict(f"job {job_id} is {job.state}; only queued or running jobs can be cancelled")
        fields: dict[str, Any] = {
            "state": JobState.cancelled,
            "finished_at": utcnow(),
            "error": "cancelled by request",
        }
        # a running job's headline says in the same write whether a partial report is coming
        partial = self._partial_status(job, JobState.cancelled) if job.state == JobState.running else None
        if partial is not None:
            fields["summary"] = headline(job, JobState.cancelled, job.result, partial)
        updated = self.store.transition(job_id, ACTIVE_STATES, **fields)
        if updated is None:
            now = self.store.get(job_id)
            state = now.state if now is not None else "deleted"
            raise JobConflict(f"job {job_id} is {state}; only queued or running jobs can be cancelled")
        if not self.scheduler.remove(job_id):
            self.executor.cancel(job_id)
            self.scheduler.release(job_id)
        self._forget(job_id)
        log.info("job %s: cancelled", job_id)
        if partial is not None and partial.status == "writing":
            self.partials.schedule(job_id, JobState.cancelled)  # its worker is killed: the folder is still
        self._notify(updated)
        self._pump()
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
        updated = self.store.transition(
            job_id,
            RESUMABLE_STATES,
            state=JobState.queued,
            error=None,
            traceback=None,
            finished_at=None,
            has_secret=bool(secrets),
            waits=None,
        )
        if updated is None:
            raise JobConflict(
                f"job {job_id} is {job.state}; only interrupted, failed or cancelled jobs can be resumed"
            )
        self.partials.drop(job_id)  # its run goes on in the folder: no partial report of it now
        log.info("job %s: resumed", job_id)
        self._enqueue(updated, secrets, resume=True)
        self._notify(updated)
        return updated

    def get(self, job_id: str) -> Job | None:
        """The job as stored, or as it ended when its final state is not stored yet."""
        job = self.store.get(job_id)
        return None if job is None else self._overlay(job)

    def list(self, **filters: Any) -> tuple[list[Job], int]:
        """Jobs as :meth:`JobStore.list` filters them (``state``, ``kind``, ``owner``, ...), each as :meth:`get`."""
        jobs, total = self.store.list(**filters)
        return [self._overlay(j) for j in jobs], total

    # -- internals ----------------------------------------------------------------------------
    def _enqueue(self, job: Job, secrets: dict[str, Any], resume: bool) -> None:
        with self._lock:
            self._secrets[job.id] = secrets
        dispatch = Dispatch(
            job_id=job.id,
            kind=job.kind,
            target=self.kinds[job.kind].target,
            config=merge_secrets(job.config, secrets),
            output_dir=job.output_dir,
            resume=resume,
            attempt=job.attempts + 1,
            scrub_values=secret_values(secrets),
        )
        self.scheduler.add(dispatch, job.owner, server_of(job.kind, job.config))
        self._pump()

    def _pump(self) -> None:
        """Hand every job the scheduler lets start now to the executor, recording its waits."""
        for dispatch, waits in self.scheduler.pick():
            try:
                self.store.transition(dispatch.job_id, [JobState.queued], waits=waits)
            except Exception:  # noqa: BLE001 - the record of a wait must never hold a job back
                log.exception("job %s: cannot store what it waited for", dispatch.job_id)
            if any(w["reason"] != "worker" for w in waits):
                log.info(
                    "job %s: starts after waiting for %s",
                    dispatch.job_id,
                    "; ".join(f"{w['what']} ({w['seconds']:.1f} s)" for w in waits),
                )
            try:
                self.executor.submit(dispatch)
            except Exception as exc:  # noqa: BLE001 - e.g. the broker went away: the job fails, saying so
                self.scheduler.release(dispatch.job_id)
                log.exception("job %s: cannot hand it to the executor", dispatch.job_id)
                self._on_event(ExecEvent(dispatch.job_id, "started", pid=None))
                self._on_event(
                    ExecEvent(dispatch.job_id, "failed", error=f"cannot hand the job to a worker: {exc}")
                )

    def _overlay(self, job: Job) -> Job:
        """``job`` with the final state the store has not taken yet, if any, or (waiting) with what
        it is waiting for now."""
        if job.is_final:
            return job
        with self._lock:
            fields = self._unsaved.get(job.id)
        if fields is None and job.state == JobState.queued:
            waits = self.scheduler.waits_of(job.id)
            return job if waits is None else job.model_copy(update={"waits": waits})
        return job if fields is None else job.model_copy(update=fields)

    def _finish(self, job_id: str, **fields: Any) -> Job | None:
        """running -> a final state.  When the store refuses the write (locked for longer than its
        busy timeout, disk full), the state is kept here, answered by :meth:`get`, and written by
        a retry thread, so the executor's monitor thread goes on and no caller waits forever."""
        try:
            return self._store_final(job_id, fields)
        except Exception as exc:  # noqa: BLE001 - any store failure: keep the state, retry later
            log.error(
                "job %s: cannot store its final state %s yet (%s: %s); retrying",
                job_id,
                fields["state"].value,
                type(exc).__name__,
                exc,
            )
            with self._lock:
                self._unsaved[job_id] = fields
                self._store_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                if self._retrier is None or not self._retrier.is_alive():
                    self._retrier = threading.Thread(
                        target=self._retry_loop, name="evalscope-store-retry", daemon=True
                    )
                    self._retrier.start()
            try:
                return self.get(job_id)
            except Exception:  # noqa: BLE001 - reads fail too: the retry thread notifies later
                return None

    def _store_final(self, job_id: str, fields: dict[str, Any]) -> Job | None:
        with self._lock:
            lost_start = job_id in self._start_unsaved
        states = [JobState.running, JobState.queued] if lost_start else [JobState.running]
        job = self.store.transition(job_id, states, **fields)
        with self._lock:
            self._start_unsaved.discard(job_id)
        return job

    def _save_unsaved(self) -> bool:
        """Try to store every pending final state once; True when none is left."""
        with self._lock:
            pending = list(self._unsaved.items())
        for job_id, fields in pending:
            try:
                job = self._store_final(job_id, fields)
            except Exception as exc:  # noqa: BLE001
                with self._lock:
                    self._store_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                return False
            with self._lock:
                self._unsaved.pop(job_id, None)
                if not self._unsaved:
                    self._store_error = None
            log.info("job %s: final state %s stored", job_id, fields["state"].value)
            if job is not None:
                self._notify(job)
        return True

    def _retry_loop(self) -> None:
        first, cap = STORE_RETRY_S
        delay = first
        while True:
            self._retry_wake.wait(delay)
            if self._stopping:
                return
            if self._save_unsaved():
                with self._lock:
                    if not self._unsaved:
                        self._retrier = None
                        return
                delay = first
            else:
                delay = min(cap, delay * 2)

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
        handler = {
            "started": self._on_started,
            "progress": self._on_progress,
            "succeeded": self._on_succeeded,
            "stored": self._on_stored,
            "failed": self._on_failed,
        }[ev.type]
        job: Job | None = None
        try:
            job = handler(ev)
        finally:
            # A job that ended frees its slot, its user's turn and its model server, even when
            # storing its end failed (the retry thread stores it later).
            ended = ev.type in ("succeeded", "failed") or (
                ev.type == "stored" and job is not None and job.is_final
            )
            if ended and self.scheduler.release(ev.job_id):
                self._pump()
        if job is not None:
            self._notify(job)

    def _on_started(self, ev: ExecEvent) -> Job | None:
        try:
            job = self.store.mark_started(ev.job_id, ev.pid)
        except Exception:
            # Still queued in the store: its final state may then be written over "queued".
            with self._lock:
                self._start_unsaved.add(ev.job_id)
            raise
        if job is not None:
            log.info("job %s: running in worker %s", ev.job_id, ev.pid)
        return job

    def _on_progress(self, ev: ExecEvent) -> Job | None:
        with self._lock:
            store_failing = bool(self._unsaved)
        # Progress is advisory: while the store refuses writes, don't hold the monitor thread
        # for a busy timeout per progress event.
        if store_failing:
            return None
        return self.store.set_progress(ev.job_id, ev.done or 0, ev.total)

    def _on_succeeded(self, ev: ExecEvent) -> Job | None:
        job = self._finish(
            ev.job_id, state=JobState.succeeded, result=ev.result, finished_at=utcnow(), error=None
        )
        self._forget(ev.job_id)
        if job is not None:
            log.info("job %s: succeeded in %.3f s", ev.job_id, job.duration_s or 0.0)
        return job

    def _on_stored(self, ev: ExecEvent) -> Job | None:
        job = self.store.get(ev.job_id)
        if job is not None and job.is_final:
            self._forget(ev.job_id)
        return job

    def _on_failed(self, ev: ExecEvent) -> Job | None:
        # A failed run may still have written something (RunFailed's result): the record keeps it.
        fields: dict[str, Any] = {
            "state": JobState.failed,
            "error": ev.error,
            "traceback": ev.traceback,
            "finished_at": utcnow(),
            "result": ev.result,
        }
        # the worker is done (or dead): a run that stopped midway without its report gets a partial one
        try:
            before = self.store.get(ev.job_id)
        except Exception:  # noqa: BLE001 - the store refuses reads too: the final state comes first
            before = None
        partial = self._partial_status(before, JobState.failed) if before is not None else None
        if before is not None and partial is not None:
            fields["summary"] = headline(before, JobState.failed, ev.result, partial)
        job = self._finish(ev.job_id, **fields)
        self._forget(ev.job_id)
        if job is not None:
            log.warning("job %s: failed: %s", ev.job_id, ev.error)
            if partial is not None and partial.status == "writing":
                self.partials.schedule(ev.job_id, JobState.failed)
        return job

    # -- partial reports (evalscope.jobs.partial) ---------------------------------------------
    def _partial_status(self, job: Job, state: JobState) -> PartialReport | None:
        """The partial-report status of ``job`` stopping in ``state`` (None: none due, or a durable
        executor whose workers hold the folders); never raises (a report is a by-product)."""
        if self.executor.durable:
            return None
        try:
            return initial(job.model_copy(update={"state": state}))
        except Exception:  # noqa: BLE001
            log.exception("job %s: cannot tell whether a partial report is due", job.id)
            return None

    def _partial_after_restart(self) -> None:
        """Jobs interrupted by a stop of the service (now or at its last stop) whose headline is not
        stored yet: their partial reports are written in the background."""
        try:
            jobs = self.store.list(state=JobState.interrupted, limit=None)[0]
        except Exception:  # noqa: BLE001 - a by-product: the service starts anyway
            log.exception("cannot list interrupted jobs for their partial reports")
            return
        for job in jobs:
            if job.summary is not None:
                continue
            partial = self._partial_status(job, JobState.interrupted)
            if partial is None:
                continue
            summary = headline(job, JobState.interrupted, job.result, partial)
            if self.store.transition(job.id, [JobState.interrupted], summary=summary) is None:
                continue
            if partial.status == "writing":
                self.partials.schedule(job.id, JobState.interrupted)
