"""Routes that exist only with the Celery executor: a worker's upload of a job folder
(``PUT /api/v1/jobs/{job_id}/archive``) and the submission of a distributed perf job (one load test
split over N workers, ``POST /api/v1/jobs/perf_distributed``).

What is not HTTP stays in ``evalscope.jobs.celery``: the archive format (``files``), the job kind
(``DISTRIBUTED_PERF``), the shards' barrier and transport (``distperf``).
"""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import asyncio
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from evalscope.jobs.celery.executor import DISTRIBUTED_PERF_KIND
from evalscope.jobs.celery.files import ARCHIVE_ROUTE, unpack_archive
from evalscope.jobs.partial import files_expected
from evalscope.service.bodies import PERF, DistributedPerfBody
from evalscope.service.context import Context
from evalscope.service.submit import job_created, submit

router = APIRouter()
#: Paths whose bodies are not bound by the service's request size limit (the route has its own).
UNLIMITED_PATHS = r"/api/v1/jobs/[^/]+/archive"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message}, status_code=status)


@router.put(ARCHIVE_ROUTE, tags=["workers"])
async def receive_archive(request: Request, ctx: Context, job_id: str) -> JSONResponse:
    """Receive a job folder (gzip'd tar) from the worker that ran it (upload mode); only while it runs,
    or while its worker writes the partial report of a job that stopped midway."""
    limit = ctx.settings.max_upload_bytes
    job = ctx.manager.get(job_id)
    if job is None:
        return _error(404, f"Job {job_id} not found")
    if not files_expected(job):
        return _error(409, f"job {job_id} is {job.state}, not running")
    fd, name = tempfile.mkstemp(suffix=".tar.gz")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return _error(413, f"archive larger than {limit} bytes")
                out.write(chunk)
        try:
            files = await asyncio.to_thread(unpack_archive, Path(name), Path(job.output_dir))
        except (tarfile.TarError, OSError, EOFError) as exc:
            return _error(400, f"bad archive: {exc}")
    finally:
        os.unlink(name)
    return JSONResponse({"status": "success", "job_id": job_id, "files": files, "bytes": size})


@router.post(f"/api/v1/jobs/{DISTRIBUTED_PERF_KIND}", status_code=202, tags=["jobs"])
async def submit_distributed_perf(ctx: Context, body: Annotated[DistributedPerfBody, Body()]) -> JSONResponse:
    """Queue one load test split across ``shards`` workers (synchronised start, merged records)."""
    return job_created(ctx, await submit(ctx, PERF, body, kind=DISTRIBUTED_PERF_KIND))
