"""What every route needs, as FastAPI dependencies.

The app's lifespan builds one :class:`ServiceContext` (settings, job manager, notifier) and keeps it
on ``app.state.ctx``; routes declare ``ctx: Context`` (or ``job: ExistingJob``) and FastAPI hands it
to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from evalscope.jobs import Job, JobManager
from evalscope.service.audit import AuditLog
from evalscope.service.auth import visible
from evalscope.service.errors import ApiError
from evalscope.service.notifier import JobNotifier
from evalscope.service.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceContext:
    """The running service's parts, set up by the app's lifespan."""

    settings: ServiceSettings
    manager: JobManager
    notifier: JobNotifier
    #: the audit trail (``<work dir>/audit.jsonl``)
    audit: AuditLog = field(default_factory=lambda: AuditLog(Path(".")))


async def find_context(request: Request) -> ServiceContext | None:
    """The context, or None before the app's lifespan has started (e.g. an app used without serving)."""
    return getattr(request.app.state, "ctx", None)


async def get_context(request: Request) -> ServiceContext:
    """The context; 503 while the service is not started."""
    ctx = await find_context(request)
    if ctx is None:
        raise ApiError(503, "The service is not started yet; try again shortly")
    return ctx


Context = Annotated[ServiceContext, Depends(get_context)]
MaybeContext = Annotated[ServiceContext | None, Depends(find_context)]


def get_job(job_id: str, ctx: Context) -> Job:
    """The job named by the path's ``job_id``; 404 when there is none, or when the caller may not
    see it (a member asking for another user's job: ``evalscope.service.auth``)."""
    job = visible(ctx.manager.get(job_id))
    if job is None:
        raise ApiError(404, f"Job {job_id} not found")
    return job


ExistingJob = Annotated[Job, Depends(get_job)]
