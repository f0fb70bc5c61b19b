"""``CeleryExecutor``: the service side of the Celery executor.

The service only sends: a job becomes a message on the Redis queue; a ``evalscope worker``
anywhere runs it and writes its state, progress and result straight into the shared job store.
A monitor thread here watches the store for the jobs that change (re-published to the manager as
``stored`` events, so the job API's event stream keeps working) and marks jobs whose worker
stopped heart-beating ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from evalscope.jobs.celery import leases
from evalscope.jobs.celery.app import DEFAULT_QUEUE, TASK_RUN, TASK_SHARD, make_celery
from evalscope.jobs.celery.sealing import ENV as SECRET_KEY_ENV
from evalscope.jobs.celery.sealing import seal, secret_key_from_env
from evalscope.jobs.executor import Dispatch, ExecEvent, Executor
from evalscope.jobs.models import ACTIVE_STATES, JobState
from evalscope.jobs.store import JobStore

log = logging.getLogger("evalscope.jobs.celery")

#: The job kind whose one job is split over several workers (see ``evalscope.jobs.celery.distperf``).
DISTRIBUTED_PERF_KIND = "perf_distributed"


def dispatch_payload(dispatch: Dispatch) -> dict[str, Any]:
    """A dispatch as a JSON-serialisable message body (the Celery task's argument)."""
    return dataclasses.asdict(dispatch)


class CeleryExecutor(Executor):
    """Send jobs to Celery workers over ``broker_url``; observe them through ``store``."""

    durable = True

    def __init__(
        self,
        broker_url: str,
        store: JobStore,
        *,
        queue: str = DEFAULT_QUEUE,
        heartbeat_timeout: float = 30.0,
        poll_interval: float = 0.25,
        secret_key: str | None = None,
    ) -> None:
        """``secret_key`` seals API keys in the messages (default: ``$EVALSCOPE_SECRET_KEY``)."""
        self.broker_url = broker_url
        self._secret_key = secret_key or secret_key_from_env()
        self.store = store
        self.queue = queue
        self.heartbeat_timeout = heartbeat_timeout
        self.poll_interval = poll_interval
        self.app = make_celery(broker_url, queue=queue)
        self._on_event: Callable[[ExecEvent], None] = lambda e: None
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- interface ----------------------------------------------------------------------------
    def start(self, on_event: Callable[[ExecEvent], None]) -> None:
        self._on_event = on_event
        # Fail fast (a clear error at start-up) when the broker is unreachable.
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
        except Exception as exc:  # noqa: BLE001 - kombu wraps every transport error differently
            with self.app.connection_for_write() as conn:
                where = conn.as_uri()  # password masked
            raise RuntimeError(f"--broker-url: cannot reach the Celery broker at {where}: {exc}") from None
        if not self._secret_key:
            log.warning(
                "%s is not set: jobs' API keys travel in clear inside the broker's messages "
                "(set it to the same passphrase on the service and every worker to seal them)",
                SECRET_KEY_ENV,
            )
        self._thread = threading.Thread(target=self._loop, name="evalscope-celery-monitor", daemon=True)
        self._thread.start()

    def submit(self, dispatch: Dispatch) -> None:
        payload = seal(dispatch_payload(dispatch), self._secret_key)
        if dispatch.kind == DISTRIBUTED_PERF_KIND:
            shards = int(dispatch.config.get("shards") or 2)
            ids = [f"{dispatch.job_id}-{dispatch.attempt}-s{k}" for k in range(shards)]
            leases.record_task(self.store, dispatch.job_id, ids)
            for k, tid in enumerate(ids):
                self.app.send_task(TASK_SHARD, args=[payload, k, shards], task_id=tid, queue=self.queue)
        else:
            tid = f"{dispatch.job_id}-{dispatch.attempt}"
            leases.record_task(self.store, dispatch.job_id, [tid])
            self.app.send_task(TASK_RUN, args=[payload], task_id=tid, queue=self.queue)
        with self._lock:
            self._seen.setdefault(dispatch.job_id, ())

    def cancel(self, job_id: str) -> bool:
        ids = leases.task_ids(self.store, job_id)
        if ids:
            # Revoke: a worker drops the message if it has not started it.  The broadcast makes the
            # worker running it kill the job's process now (the worker's store poll would anyway).
            self.app.control.revoke(ids)
        self.app.control.broadcast("evalscope_cancel", arguments={"job_id": job_id})
        return bool(ids)

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stats(self) -> dict[str, int]:
        counts = self.store.counts()
        return {
            "queued": sum(n for (_, st), n in counts.items() if st == JobState.queued.value),
            "busy": sum(n for (_, st), n in counts.items() if st == JobState.running.value),
        }

    # -- monitor ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the monitor
                log.exception("polling the job store failed")

    def poll_once(self) -> list[str]:
        """Reap stale jobs, then emit ``stored`` for every active job whose row changed; returns their ids."""
        for job_id in leases.reap_stale(self.store, self.heartbeat_timeout):
            log.warning("job %s: interrupted (no heartbeat from its worker)", job_id)
        active: dict[str, tuple[Any, ...]] = {}
        for state in ACTIVE_STATES:
            jobs, _ = self.store.list(state=state, limit=None)
            for job in jobs:
                active[job.id] = (job.state, job.progress_done, job.progress_total, job.attempts)
        changed: list[str] = []
        with self._lock:
            for job_id, snap in active.items():
                if self._seen.get(job_id) != snap:
                    changed.append(job_id)
            # Jobs that left the active states since the last poll ended (or were cancelled).
            changed += [job_id for job_id in self._seen if job_id not in active]
            self._seen = active
        for job_id in changed:
            self._on_event(ExecEvent(job_id, "stored"))
        return changed
