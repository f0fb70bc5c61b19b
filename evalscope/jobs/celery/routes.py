"""Service routes that exist only with the Celery executor: a worker's upload of a job folder,
and the submission of a distributed perf job (one load test split over N workers)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from pydantic import Field, create_model

from evalscope.jobs.celery.executor import DISTRIBUTED_PERF_KIND
from evalscope.jobs.celery.files import build_router as archive_router
from evalscope.jobs.kinds import JobKind

#: The kind as the manager sees it; the executor sends shard messages instead of running its target.
DISTRIBUTED_PERF = JobKind(DISTRIBUTED_PERF_KIND, "evalscope.jobs.celery.distperf:shard_job")
#: Paths whose bodies are not bound by the service's request size limit (the route has its own).
UNLIMITED_PATHS = r"/api/v1/jobs/[^/]+/archive"


def build_router(max_upload_bytes: int) -> Any:
    """The archive route plus ``POST /api/v1/jobs/perf_distributed``."""
    from fastapi import Body, Request
    from fastapi.responses import JSONResponse

    from evalscope.service.routes import _job_created, ctx_of

    router = archive_router(max_upload_bytes)
    try:
        from evalscope.perf import PerfArguments
    except ImportError:  # the perf engine is not installed: no distributed perf route
        return router
    DistributedPerfBody = create_model(  # noqa: N806 - a type
        "DistributedPerfBody", __base__=PerfArguments,
        shards=(int, Field(2, ge=1, le=256, description="workers (Celery task slots) the load is split over")),
    )

    @router.post(f"/api/v1/jobs/{DISTRIBUTED_PERF_KIND}", status_code=202, tags=["jobs"])
    async def submit_distributed_perf(request: Request,
                                      body: Annotated[DistributedPerfBody, Body()]) -> JSONResponse:
        """Queue one load test split across ``shards`` workers (synchronised start, merged records)."""
        ctx = ctx_of(request)
        engine = ctx.engines["perf"]
        config, parent = engine.to_config(body, ctx.settings.base_dir, ctx.settings.data_roots)
        job = await asyncio.to_thread(ctx.manager.submit, DISTRIBUTED_PERF_KIND, config, parent)
        return _job_created(ctx, job)

    return router
