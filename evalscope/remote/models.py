"""Typed answers of the service, as the remote client reads them.

These are thin copies of ``evalscope.service.schemas`` (``JobOut``, ``JobListOut``, ``FileListOut``,
``HealthOut``), not imports of them, on purpose: the service's schemas import the job store (SQLAlchemy)
and the service package needs FastAPI, none of which a CI machine running ``evalscope remote`` should
need, and the layer rules keep the client below the service. ``tests/remote/test_models.py`` checks that
every field of the service's models is here with the same name, so the copies cannot drift.

The copies are lenient where the server may grow: ``state`` is a plain string (a later server may add
states, e.g. waiting for an endpoint), and unknown fields are kept (``extra="allow"``: an ``owner`` added
later is readable as ``job.owner`` before this module names it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: states after which a job never changes by itself (``evalscope.jobs.models.FINAL_STATES``)
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
#: states a job can be resumed from (``POST /api/v1/jobs/{id}/resume``)
RESUMABLE_STATES = frozenset({"interrupted", "failed", "cancelled"})


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(_Answer):
    """``GET /health``."""

    status: str
    service: str = "evalscope"
    timestamp: str | None = None
    reason: str | None = None


class Progress(_Answer):
    done: int = 0
    total: int | None = None
    percent: float | None = None


class RemoteJob(_Answer):
    """One job (``GET /api/v1/jobs/{id}``, each ``event: job`` of its event stream)."""

    id: str
    kind: str
    state: str
    progress: Progress = Field(default_factory=Progress)
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    attempts: int = 0
    worker_pid: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    output_dir: str = ""
    error: str | None = None
    traceback: str | None = None
    summary: dict[str, Any] | None = None
    owner: str | None = None
    endpoint: str | None = None
    #: ``[{"reason", "what", "job_id", "seconds"}]``: what it waited for before a worker took it
    waits: list[dict[str, Any]] | None = None
    links: dict[str, str] = Field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        """True once the job cannot change by itself (succeeded, failed, cancelled, interrupted)."""
        return self.state in FINAL_STATES

    @property
    def model(self) -> str:
        """The model the job evaluates or loads (from its config)."""
        return str(self.config.get("model") or "model")


class JobList(_Answer):
    """``GET /api/v1/jobs``: newest first."""

    items: list[RemoteJob]
    total: int
    limit: int
    offset: int


class RemoteFile(_Answer):
    path: str
    size: int


class FileList(_Answer):
    """``GET /api/v1/jobs/{id}/files``: paths relative to the job's folder."""

    job_id: str
    output_dir: str
    files: list[RemoteFile]
