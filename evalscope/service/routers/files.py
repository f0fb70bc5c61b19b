"""A job's files: ``GET /api/v1/jobs/{job_id}/files`` (the list) and ``.../files/{path}`` (one file);
the plotly.js bundle its reports leave out, served once (``evalscope.report.page.PLOTLY_ROUTE``)."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import functools
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from evalscope.jobs import confined_file
from evalscope.report.page import PLOTLY_MARK, PLOTLY_ROUTE
from evalscope.service.context import ExistingJob
from evalscope.service.errors import ApiError
from evalscope.service.openapi import error_responses
from evalscope.service.schemas import FileListOut

router = APIRouter(tags=["jobs"])


@router.get(
    "/api/v1/jobs/{job_id}/files", response_model=FileListOut, responses=error_responses(401, 404, 503)
)
def list_files(job: ExistingJob) -> FileListOut:
    """Every file in the job's folder (paths relative to it)."""
    from evalscope.service.live import job_files

    return FileListOut(job_id=job.id, output_dir=job.output_dir, files=job_files(Path(job.output_dir)))


@router.get(
    "/api/v1/jobs/{job_id}/files/{path:path}",
    responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(401, 404, 503)},
)
def get_file(job_id: str, path: str, job: ExistingJob) -> Response:
    """Download one file of the job's folder; paths outside it answer 404."""
    target = confined_file(Path(job.output_dir), path)
    if target is None:
        raise ApiError(404, f"File {path!r} not found in job {job_id}")
    return serve_file(target)


def serve_file(target: Path) -> Response:
    """A job file as it is, except a report written without plotly.js (the service's reports): that
    one gets the bundle back inline, so the page shown or downloaded works offline on its own."""
    if target.suffix == ".html":
        data = target.read_bytes()
        if PLOTLY_MARK.encode() in data:
            from evalscope.report.page import inline_plotly

            return HTMLResponse(inline_plotly(data.decode("utf-8", errors="replace")))
    return FileResponse(target)


@functools.lru_cache(maxsize=1)
def _plotly_bytes() -> bytes:
    from evalscope.report.page import plotly_js

    return plotly_js().encode("utf-8")


@router.get(PLOTLY_ROUTE, include_in_schema=False)
def plotly_bundle() -> Response:
    """plotly.js, once for every report (no job data: reachable without the token, cached a day)."""
    return Response(
        _plotly_bytes(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )
