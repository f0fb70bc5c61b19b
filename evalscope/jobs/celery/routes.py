"""Service routes that exist only with the Celery executor: a worker's upload of a job folder,
and the submission of a distributed perf job (one load test split over N workers).

No ``from __future__ import annotations`` here: FastAPI must see the body model, which is built
at run time, as a real annotation.
"""

import asyncio
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import Field, create_model

from evalscope.jobs.celery.executor import DISTRIBUTED_PERF_KIND
from evalscope.jobs.celery.files import ARCHIVE_ROUTE, unpack_archive
from evalscope.jobs.kinds import JobKind
from evalscope.jobs.models import JobState

#: The kind as the manager sees it; the executor sends shard messages instead of running its target.
DISTRIBUTED_PERF = JobKind(DISTRIBUTED_PERF_KIND, "evalscope.jobs.celery.distperf:shard_job")
#: Paths whose bodies are not bound by the service's request size limit (the route has its own).
UNLIMITED_PATHS = r"/api/v1/jobs/[^/]+/archive"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message}, status_code=status)


def build_router(max_upload_bytes: int) -> APIRouter:
    """``PUT /api/v1/jobs/{id}/archive`` plus ``POST /api/v1/jobs/perf_distributed``."""
    from evalscope.service.routes import _job_created, ctx_of

    router = APIRouter()

    @router.put(ARCHIVE_ROUTE, tags=["workers"])
    async def receive_archive(request: Request, job_id: str) -> JSONResponse:
        """Receive a job folder (gzip'd tar) from the worker that ran it (upload mode); only while it runs."""
        job = ctx_of(request).manager.get(job_id)
        if job is None:
            return _error(404, f"Job {job_id} not found")
        if job.state != JobState.running:
            return _error(409, f"job {job_id} is {job.state}, not running")
        fd, name = tempfile.mkstemp(suffix=".tar.gz")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_upload_bytes:
                        return _error(413, f"archive larger than {max_upload_bytes} bytes")
                    out.write(chunk)
            try:
                files = await asyncio.to_thread(unpack_archive, Path(name), Path(job.output_dir))
            except (tarfile.TarError, OSError, EOFError) as exc:
                return _error(400, f"bad archive: {exc}")
        finally:
            os.unlink(name)
        return JSONResponse({"status": "success", "job_id": job_id, "files": files, "bytes": size})

    try:
        from evalscope.perf import PerfArguments
    except ImportError:  # the perf engine is not installed: no distributed perf route
        return router
    distributed_body: Any = create_model(
        "DistributedPerfBody", __base__=PerfArguments,
        shards=(int, Field(2, ge=1, le=256, description="workers (Celery task slots) the load is split over")),
    )

    @router.post(f"/api/v1/jobs/{DISTRIBUTED_PERF_KIND}", status_code=202, tags=["jobs"])
    async def submit_distributed_perf(request: Request,
                                      body: Annotated[distributed_body, Body()]) -> JSONResponse:
        """Queue one load test split across ``shards`` workers (synchronised start, merged records)."""
        ctx = ctx_of(request)
        config, parent = ctx.engines["perf"].to_config(body, ctx.settings.base_dir, ctx.settings.data_roots)
        job = await asyncio.to_thread(ctx.manager.submit, DISTRIBUTED_PERF_KIND, config, parent)
        return _job_created(ctx, job)

    return router
