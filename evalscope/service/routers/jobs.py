"""The job API: submit (``/api/v1/jobs/{eval,perf,<kind>}``), list, get, cancel, resume, follow (SSE)."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from evalscope.eval import TaskConfig
from evalscope.jobs import Job, JobConflict, JobState, PathOutsideBase, resolve_under
from evalscope.perf import PerfArguments
from evalscope.service.auth import current, owner_filter, visible
from evalscope.service.bodies import ENGINE_ROUTES, EVAL, PERF
from evalscope.service.context import Context, ExistingJob
from evalscope.service.errors import ApiError
from evalscope.service.live import LiveOut, live_state
from evalscope.service.openapi import error_responses
from evalscope.service.schemas import JobListOut, JobOut, ResumeIn
from evalscope.service.submit import job_created, submit, submit_config

router = APIRouter(tags=["jobs"])
SUBMIT_ERRORS = error_responses(400, 401, 413, 503, 507)
#: how often an event stream with ``?live=1`` reads the job's live state again
LIVE_EVERY_S = 1.0


@router.post("/api/v1/jobs/eval", status_code=202, response_model=JobOut, responses=SUBMIT_ERRORS)
async def submit_eval(ctx: Context, body: Annotated[TaskConfig, Body()]) -> JSONResponse:
    """Queue an evaluation; answers at once with the job (202)."""
    return job_created(ctx, await submit(ctx, EVAL, body))


@router.post("/api/v1/jobs/perf", status_code=202, response_model=JobOut, responses=SUBMIT_ERRORS)
async def submit_perf(ctx: Context, body: Annotated[PerfArguments, Body()]) -> JSONResponse:
    """Queue a load test; answers at once with the job (202)."""
    return job_created(ctx, await submit(ctx, PERF, body))


@router.post(
    "/api/v1/jobs/{kind}",
    status_code=202,
    response_model=JobOut,
    responses=error_responses(400, 401, 404, 413, 503, 507),
)
def submit_other(ctx: Context, kind: str, body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
    """Queue a job of an extra registered kind (its function validates the body)."""
    if kind in ENGINE_ROUTES or kind not in ctx.manager.kinds:
        raise ApiError(404, f"Unknown job kind {kind!r}")
    try:
        parent = resolve_under(ctx.settings.base_dir, body.get("work_dir"))
    except PathOutsideBase as exc:
        raise ApiError(
            400, f"Invalid request: work_dir: {exc}", [{"field": "work_dir", "reason": str(exc)}]
        ) from None
    return job_created(ctx, submit_config(ctx, kind, body, parent))


@router.get("/api/v1/jobs", response_model=JobListOut, responses=error_responses(400, 401, 503))
def list_jobs(
    ctx: Context,
    state: JobState | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Jobs, newest first, filtered by state and kind (a member's own only)."""
    items, total = ctx.manager.list(
        state=state, kind=kind, limit=limit, offset=offset, owner=owner_filter(current())
    )
    return {
        "items": [JobOut.of(j, ctx.settings.debug) for j in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/api/v1/jobs/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 503))
def get_job(ctx: Context, job: ExistingJob) -> JobOut:
    """One job: state, progress, timings, result, output folder, error."""
    return JobOut.of(job, ctx.settings.debug)


@router.post(
    "/api/v1/jobs/{job_id}/cancel", response_model=JobOut, responses=error_responses(401, 404, 409, 503)
)
def cancel_job(ctx: Context, job_id: str) -> JobOut:
    """Cancel a queued or running job (its worker process is killed); 409 if already over."""
    if visible(ctx.manager.get(job_id), write=True) is None:
        raise ApiError(404, f"Job {job_id} not found")
    try:
        job = ctx.manager.cancel(job_id)
    except JobConflict as exc:
        raise ApiError(409, str(exc)) from None
    if job is None:
        raise ApiError(404, f"Job {job_id} not found")
    ctx.audit.record(current().name, "job.cancel", job_id, kind=job.kind, owner=job.owner)
    return JobOut.of(job, ctx.settings.debug)


@router.post(
    "/api/v1/jobs/{job_id}/resume",
    status_code=202,
    response_model=JobOut,
    responses=error_responses(400, 401, 404, 409, 413, 503),
)
def resume_job(ctx: Context, job_id: str, body: Annotated[ResumeIn | None, Body()] = None) -> JSONResponse:
    """Queue an interrupted, failed or cancelled job again in its own folder (evals continue
    from their cache).  API keys are never stored: give ``api_key`` again if the model needs one
    (a job on a named endpoint gets the endpoint's key again by itself)."""
    before = visible(ctx.manager.get(job_id), write=True)
    if before is None:
        raise ApiError(404, f"Job {job_id} not found")
    secrets = body.model_dump(exclude_none=True) if body else {}
    if before.endpoint and "api_key" not in secrets:
        secrets.update(_endpoint_key(ctx, before.endpoint))
    try:
        job = ctx.manager.resume(job_id, secrets or None)
    except JobConflict as exc:
        raise ApiError(409, str(exc)) from None
    if job is None:
        raise ApiError(404, f"Job {job_id} not found")
    ctx.audit.record(current().name, "job.resume", job_id, kind=job.kind, owner=job.owner)
    return job_created(ctx, job)


def _endpoint_key(ctx: Context, name: str) -> dict[str, Any]:
    """``{"api_key": ...}`` of a named endpoint still registered with a key, else nothing."""
    from evalscope.jobs import endpoints
    from evalscope.secrets import SecretKeyError
    from evalscope.settings import settings

    try:
        found = endpoints.resolve(ctx.manager.store, name, settings().secret("secret_key"))
    except SecretKeyError:
        return {}
    return {"api_key": found[1]} if found is not None and found[1] else {}


@router.get(
    "/api/v1/jobs/{job_id}/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        **error_responses(401, 404, 503),
    },
)
async def job_events(
    request: Request,
    ctx: Context,
    job_id: str,
    live: Annotated[
        bool, Query(description="also send `event: live` (the run so far) when it changes")
    ] = False,
) -> StreamingResponse:
    """Server-sent events: ``event: job`` with the job at each change, then ``event: end``.  With
    ``?live=1`` also ``event: live`` (:class:`LiveOut`: live.json, log tail, files) about once a second
    while it changes, and once more when the job ends."""
    if visible(await asyncio.to_thread(ctx.manager.get, job_id)) is None:
        raise ApiError(404, f"Job {job_id} not found")

    async def stream() -> AsyncIterator[str]:
        last = None
        shown = ""
        async for kind, job in _with_ticks(ctx.notifier.updates(job_id, ctx.manager.get), live):
            if await request.is_disconnected():
                return
            if kind == "job":
                if job is None:
                    yield ": keep-alive\n\n"
                    continue
                last = job
                data = JobOut.of(job, ctx.settings.debug).model_dump_json()
                yield f"event: job\ndata: {data}\n\n"
            if live and last is not None:
                state = (await asyncio.to_thread(live_state, last)).model_dump_json()
                if state != shown:
                    shown = state
                    yield f"event: live\ndata: {state}\n\n"
        if last is not None:
            yield f"event: end\ndata: {json.dumps({'id': job_id, 'state': last.state.value})}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _with_ticks(
    updates: AsyncIterator[Job | None], ticks: bool
) -> AsyncIterator[tuple[str, Job | None]]:
    """``("job", job)`` for each update; with ``ticks`` also ``("tick", None)`` every
    :data:`LIVE_EVERY_S` between them (the live state is read again then)."""
    if not ticks:
        async for job in updates:
            yield "job", job
        return
    queue: asyncio.Queue[tuple[str, Job | None]] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for job in updates:
                await queue.put(("job", job))
        finally:
            await queue.put(("end", None))

    task = asyncio.create_task(pump())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), LIVE_EVERY_S)
            except TimeoutError:
                item = ("tick", None)
            if item[0] == "end":
                return
            yield item
    finally:
        task.cancel()


@router.get("/api/v1/jobs/{job_id}/live", response_model=LiveOut, responses=error_responses(401, 404, 503))
def job_live(job: ExistingJob) -> LiveOut:
    """The run so far: live.json (rolling rates, percentiles, partial scores, errors by reason), the log's
    tail and the folder's files; the live page follows ``.../events?live=1`` for the same."""
    return live_state(job)
