"""Two jobs' runs compared: ``GET /api/v1/compare?a=<job>&b=<job>`` answers the comparison page
(:func:`evalscope.report.comparison_html`: a verdict line, regressions first), which the web page's
"compare" action shows."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from evalscope.jobs import Job
from evalscope.rundir import RunDir
from evalscope.service.auth import visible
from evalscope.service.context import Context
from evalscope.service.errors import ApiError
from evalscope.service.openapi import error_responses

router = APIRouter(tags=["jobs"])

Label = Annotated[str | None, Query(max_length=80, description="a display name for the run")]


def _run_of(ctx: Context, job_id: str, field: str) -> Job:
    job = visible(ctx.manager.get(job_id))  # another member's job is not found, as on the job routes
    if job is None:
        raise ApiError(404, f"Job {job_id} not found", [{"field": field, "reason": "no such job"}])
    if not job.is_final or not RunDir(Path(job.output_dir)).is_run():
        reason = "still running" if not job.is_final else "its run wrote nothing to compare"
        raise ApiError(400, f"Invalid request: {field}: {reason}", [{"field": field, "reason": reason}])
    return job


@router.get(
    "/api/v1/compare",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **error_responses(400, 401, 404, 503)},
)
async def compare_jobs(
    ctx: Context,
    a: Annotated[str, Query(max_length=64, description="job A (the baseline)")],
    b: Annotated[str, Query(max_length=64, description="job B (compared with A)")],
    label_a: Label = None,
    label_b: Label = None,
) -> HTMLResponse:
    """The comparison of two finished jobs of the same kind (self-contained HTML: B against A)."""
    from evalscope.report import ReportError, comparison_html

    ja, jb = _run_of(ctx, a, "a"), _run_of(ctx, b, "b")
    if ja.kind != jb.kind:
        reason = f"a is a {ja.kind} job, b a {jb.kind} job: only runs of one kind compare"
        raise ApiError(400, f"Invalid request: b: {reason}", [{"field": "b", "reason": reason}])
    try:
        html = await asyncio.to_thread(
            comparison_html, ja.output_dir, jb.output_dir, label_a or None, label_b or None
        )
    except ReportError as exc:
        raise ApiError(400, f"Invalid request: {exc}") from None
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
