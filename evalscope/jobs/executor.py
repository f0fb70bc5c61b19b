"""What the job manager hands to an executor, and what it hears back.

``Executor`` is the small interface the job manager uses: it takes a :class:`Dispatch` (one attempt
of a job, handed to a job worker) and reports :class:`ExecEvent` s.  Implementations:
:class:`evalscope.jobs.pool.LocalProcessExecutor` (the embedded default: a pool of warm worker
processes on this machine) and :class:`evalscope.jobs.celery.executor.CeleryExecutor` (Celery workers
anywhere, sharing the job store).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class Dispatch:
    """One attempt of a job, handed to a job worker.  ``config`` holds the secrets (in memory, or
    sealed in a broker message; never stored): ``scrub_values`` are removed from whatever comes back."""

    job_id: str
    kind: str
    target: str
    config: dict[str, Any]
    output_dir: str
    resume: bool = False
    attempt: int = 1
    scrub_values: list[str] = field(default_factory=list)


#: ``stored``: the job's row was changed by someone else (a remote worker writing to the shared
#: store); the manager re-reads it and notifies its listeners.
EventType = Literal["started", "progress", "succeeded", "failed", "stored"]


@dataclass
class ExecEvent:
    """Something that happened to a job inside the executor."""

    job_id: str
    type: EventType
    done: int | None = None
    total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    pid: int | None = None


class Executor(ABC):
    """Runs dispatches, at most N at once, first in first out, and reports events through a callback."""

    #: True when queued and running jobs live outside this process (a broker and remote workers):
    #: the manager then neither re-queues queued jobs nor interrupts running ones on start/stop.
    durable: bool = False

    @abstractmethod
    def start(self, on_event: Callable[[ExecEvent], None]) -> None:
        """Start the workers; ``on_event`` is called (from any thread) for every event."""

    @abstractmethod
    def submit(self, dispatch: Dispatch) -> None:
        """Queue a dispatch; it starts when a worker is free."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Drop a queued dispatch or kill a running one; False when the executor does not hold it."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every worker (running jobs are killed)."""

    def capacity(self) -> int | None:
        """How many jobs run at once, for the manager's scheduler: None when the executor queues
        what it is sent itself (Celery's workers)."""
        return None

    def stats(self) -> dict[str, int]:
        """Counts for /metrics: workers, busy, queued, spawn_failures."""
        return {}

    def health(self) -> dict[str, Any] | None:
        """None when healthy, else ``{"reason": str, "can_run_jobs": bool}`` (for /health)."""
        return None
