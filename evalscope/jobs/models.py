"""The job record shared by the store, the executors and the service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class JobState(StrEnum):
    """Lifecycle of a job.

    ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``.  A job that was queued
    or running when the service stopped becomes ``interrupted``; ``resume`` puts it back in the
    queue with the same id and output folder.
    """

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    interrupted = "interrupted"


#: States after which nothing happens to a job unless a user resumes it.
FINAL_STATES = frozenset({JobState.succeeded, JobState.failed, JobState.cancelled, JobState.interrupted})
ACTIVE_STATES = frozenset({JobState.queued, JobState.running})
RESUMABLE_STATES = frozenset({JobState.interrupted, JobState.failed, JobState.cancelled})


class Job(BaseModel):
    """One job as stored: its config never holds secrets (see ``evalscope.secrets``)."""

    id: str
    kind: str
    state: JobState
    config: dict[str, Any] = Field(default_factory=dict)
    output_dir: str
    progress_done: int = 0
    progress_total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    has_secret: bool = False
    worker_pid: int | None = None
    #: the headline (evalscope.jobs.summary.JobSummary as JSON), stored when the job reaches a final state
    summary: dict[str, Any] | None = None
    #: the user who submitted it (None: submitted without users, or before they existed)
    owner: str | None = None
    #: the named endpoint the request gave (``evalscope.jobs.endpoints``), if any
    endpoint: str | None = None
    #: what it waited for before a worker took it, and how long (``evalscope.jobs.scheduler``):
    #: ``[{"reason", "what", "job_id", "seconds"}]``; None until the scheduler hands it to a worker
    waits: list[dict[str, Any]] | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def duration_s(self) -> float | None:
        """Run time of the last attempt, once it has started."""
        if self.started_at is None:
            return None
        end = self.finished_at
        if end is None:
            return None
        return max(0.0, (end - self.started_at).total_seconds())


class JobFile(BaseModel):
    """``job.json`` in a job's folder: the job's own metadata, written by the job manager when the job
    is submitted (the folder then counts as a job's even if its run never started).  ``config`` is the
    submitted config with secrets redacted; the engine's effective config is ``config.json``."""

    job_id: str
    kind: str
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
