"""Submitting a job from a validated body, and the 202 answer that hands it back: shared by the job
API, the seed's blocking routes, the EvalScope 1.14 routes and the workers' routes."""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from evalscope.jobs import Job
from evalscope.service.bodies import EngineRoute
from evalscope.service.context import ServiceContext
from evalscope.service.schemas import JobOut


async def submit(ctx: ServiceContext, route: EngineRoute, body: BaseModel, kind: str | None = None) -> Job:
    """Queue a job of ``kind`` (default: the route's own) from ``body``; 400 naming the field on a path
    outside the service's folders or a setting the run would fail on."""
    # Path checks and the engine's submission checks touch the disk (a small prompt file is read).
    settings = ctx.settings
    config, parent = await asyncio.to_thread(route.to_config, body, settings.base_dir, settings.data_roots)
    return await asyncio.to_thread(ctx.manager.submit, kind or route.kind, config, parent)


def job_created(ctx: ServiceContext, job: Job) -> JSONResponse:
    """202 with the job, and its URL in ``Location``."""
    out = JobOut.of(job, ctx.settings.debug)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.links["self"]})
