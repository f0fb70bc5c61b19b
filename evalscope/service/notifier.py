"""Bridges job changes (reported on the executor's thread) to asyncio waiters and SSE streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from evalscope.jobs import Job

#: How often a waiter re-reads the store anyway, in case a notification was missed.
RECHECK_S = 5.0


class JobNotifier:
    """Per-job subscriber queues on the service's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._subs: dict[str, set[asyncio.Queue[Job]]] = defaultdict(set)

    def publish(self, job: Job) -> None:
        """Thread-safe: called by the job manager after every change."""
        try:
            self.loop.call_soon_threadsafe(self._publish, job)
        except RuntimeError:
            pass  # loop closed during shutdown

    def _publish(self, job: Job) -> None:
        for queue in list(self._subs.get(job.id, ())):
            queue.put_nowait(job)

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[Job]]:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        self._subs[job_id].add(queue)
        try:
            yield queue
        finally:
            self._subs[job_id].discard(queue)
            if not self._subs[job_id]:
                self._subs.pop(job_id, None)

    async def updates(self, job_id: str, read: Callable[[str], Job | None]) -> AsyncIterator[Job | None]:
        """Yield the job now and after each change, until it reaches a final state; None every
        ``RECHECK_S`` without a change (a heartbeat for streams)."""
        async with self.subscribe(job_id) as queue:
            job = await asyncio.to_thread(read, job_id)
            if job is None:
                return
            yield job
            while not job.is_final:
                try:
                    job = await asyncio.wait_for(queue.get(), RECHECK_S)
                except TimeoutError:
                    fresh = await asyncio.to_thread(read, job_id)
                    if fresh is None:
                        return
                    if fresh == job:
                        yield None
                        continue
                    job = fresh
                yield job

    async def wait_final(self, job_id: str, read: Callable[[str], Job | None]) -> Job | None:
        """The job once it is final (re-read from the store, so it is complete)."""
        last = None
        async for job in self.updates(job_id, read):
            if job is not None:
                last = job
        if last is not None and last.is_final:
            return await asyncio.to_thread(read, job_id)
        return last
