"""Submitting a job from a validated body, and the 202 answer that hands it back: shared by the job
API, the seed's blocking routes, the EvalScope 1.14 routes and the workers' routes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from evalscope.jobs import Job
from evalscope.service.auth import current
from evalscope.service.bodies import EngineRoute
from evalscope.service.context import ServiceContext
from evalscope.service.named import ENDPOINT
from evalscope.service.schemas import JobOut


async def submit(ctx: ServiceContext, route: EngineRoute, body: BaseModel, kind: str | None = None) -> Job:
    """Queue a job of ``kind`` (default: the route's own) from ``body``; 400 naming the field on a path
    outside the service's folders or a setting the run would fail on."""
    # Path checks and the engine's submission checks touch the disk (a small prompt file is read).
    settings = ctx.settings
    config, parent = await asyncio.to_thread(route.to_config, body, settings.base_dir, settings.data_roots)
    return await asyncio.to_thread(submit_config, ctx, kind or route.kind, config, parent)


def submit_config(ctx: ServiceContext, kind: str, config: dict[str, Any], parent: Path) -> Job:
    """Queue a checked config for the caller (its owner) and write the audit entry."""
    who, endpoint = current(), ENDPOINT.get()
    job = ctx.manager.submit(kind, config, parent, owner=who.name, endpoint=endpoint)
    ctx.audit.record(
        who.name,
        "job.submit",
        job.id,
        kind=kind,
        model=job.config.get("model"),
        endpoint=endpoint,
    )
    return job


def job_created(ctx: ServiceContext, job: Job) -> JSONResponse:
    """202 with the job, and its URL in ``Location``."""
    out = JobOut.of(job, ctx.settings.debug)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.links["self"]})
