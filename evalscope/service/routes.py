"""HTTP routes: the seed's three (`/health`, `/api/v1/eval`, `/api/v1/perf`) and the job API."""
# No `from __future__ import annotations`: FastAPI must see the body types built in build_router.


import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel

from evalscope.jobs import (
    Job,
    JobConflict,
    JobManager,
    JobState,
    PathOutsideBase,
    confined_file,
    resolve_under,
)
from evalscope.service.engines import EngineKind
from evalscope.service.errors import ApiError, error_body
from evalscope.service.metrics import render_metrics
from evalscope.service.notifier import JobNotifier
from evalscope.service.openapi import error_responses
from evalscope.service.schemas import (
    EvalOut,
    FileListOut,
    FileOut,
    HealthOut,
    JobListOut,
    JobOut,
    PerfOut,
    ResumeIn,
)
from evalscope.service.settings import ServiceSettings

log = logging.getLogger("evalscope.service")

# The error answers each route can give (evalscope.service.openapi; no 422: bad input is a 400).
SUBMIT_ERRORS = error_responses(400, 401, 413, 503, 507)
SEED_ERRORS = error_responses(400, 401, 413, 500, 503, 507)


class Ctx:
    """What the routes need, set up by the app's lifespan."""

    def __init__(self, settings: ServiceSettings, manager: JobManager, notifier: JobNotifier,
                 engines: dict[str, EngineKind]) -> None:
        self.settings = settings
        self.manager = manager
        self.notifier = notifier
        self.engines = engines


def ctx_of(request: Request) -> Ctx:
    return request.app.state.ctx


def _job_or_404(ctx: Ctx, job_id: str) -> Job:
    job = ctx.manager.get(job_id)
    if job is None:
        raise ApiError(404, f"Job {job_id} not found")
    return job


def _engine(ctx: Ctx, kind: str) -> EngineKind:
    engine = ctx.engines[kind]
    if engine.missing:
        raise ApiError(503, engine.missing)
    return engine


async def _submit_engine(ctx: Ctx, kind: str, body: BaseModel) -> Job:
    engine = _engine(ctx, kind)
    # Path checks and the engine's submission checks touch the disk (a small prompt file is read).
    config, parent = await asyncio.to_thread(engine.to_config, body, ctx.settings.base_dir, ctx.settings.data_roots)
    return await asyncio.to_thread(ctx.manager.submit, kind, config, parent)


def _failure(ctx: Ctx, job: Job) -> JSONResponse:
    if job.state == JobState.cancelled:
        message = f"Job {job.id} was cancelled"
    elif job.state == JobState.interrupted:
        message = f"Job {job.id} was interrupted: {job.error}"
    else:
        message = job.error or "the job failed"
    # What a failed run wrote (RunFailed's result: reports with n/a scores, warnings, error counts)
    # comes with the answer under the success answer's own keys (``result`` / ``results``).
    written = {k: v for k, v in (job.result or {}).items() if k != "output_dir"}
    output_dir = (job.result or {}).get("output_dir") or job.output_dir
    return JSONResponse(
        error_body(message, job_id=job.id, output_dir=output_dir,
                   traceback=job.traceback if ctx.settings.debug else None, **written),
        status_code=500,
    )


async def _run_blocking(request: Request, kind: str, body: BaseModel) -> JSONResponse:
    ctx = ctx_of(request)
    job = await _submit_engine(ctx, kind, body)
    # The job lives in a worker: if this client goes away, the job still finishes and stays listed.
    final = await ctx.notifier.wait_final(job.id, ctx.manager.get)
    if final is None:
        raise ApiError(500, f"Job {job.id} disappeared from the store")
    if final.state != JobState.succeeded:
        return _failure(ctx, final)
    return JSONResponse(ctx.engines[kind].answer(final))


def _job_created(ctx: Ctx, job: Job) -> JSONResponse:
    out = JobOut.of(job, ctx.settings.debug)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.links["self"]})


def build_router(engines: dict[str, EngineKind]) -> APIRouter:
    """All routes; the eval and perf bodies are the engines' own validated models."""
    router = APIRouter()
    EvalBody = engines["eval"].model or dict[str, Any]  # noqa: N806 - a type
    PerfBody = engines["perf"].model or dict[str, Any]  # noqa: N806

    @router.get("/health", response_model=HealthOut, response_model_exclude_none=True, tags=["service"],
                responses={503: {"model": HealthOut, "description": "degraded: no job can run now"}})
    async def health(request: Request) -> Any:
        """``ok``, or ``degraded`` with a ``reason`` (workers cannot be started, finished jobs not yet
        saved): 200 while jobs can still run, 503 when none can.  Reads in-memory state only,
        never the store or the workers."""
        body: dict[str, Any] = {"status": "ok", "service": "evalscope",
                                "timestamp": datetime.now().isoformat(timespec="seconds")}
        ctx = getattr(request.app.state, "ctx", None)
        problem = ctx.manager.health() if ctx is not None else None
        if problem is None:
            return body
        body.update(status="degraded", reason=problem["reason"])
        return JSONResponse(body, status_code=200 if problem["can_run_jobs"] else 503)

    @router.post("/api/v1/eval", response_model=EvalOut, responses=SEED_ERRORS, tags=["seed"])
    async def run_eval(request: Request, body: Annotated[EvalBody, Body()]) -> JSONResponse:
        """Run an evaluation and answer when it ends (a job underneath: see /api/v1/jobs)."""
        return await _run_blocking(request, "eval", body)

    @router.post("/api/v1/perf", response_model=PerfOut, responses=SEED_ERRORS, tags=["seed"])
    async def run_perf(request: Request, body: Annotated[PerfBody, Body()]) -> JSONResponse:
        """Run a load test and answer when it ends (a job underneath: see /api/v1/jobs)."""
        return await _run_blocking(request, "perf", body)

    @router.post("/api/v1/jobs/eval", status_code=202, response_model=JobOut, responses=SUBMIT_ERRORS,
                 tags=["jobs"])
    async def submit_eval(request: Request, body: Annotated[EvalBody, Body()]) -> JSONResponse:
        """Queue an evaluation; answers at once with the job (202)."""
        ctx = ctx_of(request)
        return _job_created(ctx, await _submit_engine(ctx, "eval", body))

    @router.post("/api/v1/jobs/perf", status_code=202, response_model=JobOut, responses=SUBMIT_ERRORS,
                 tags=["jobs"])
    async def submit_perf(request: Request, body: Annotated[PerfBody, Body()]) -> JSONResponse:
        """Queue a load test; answers at once with the job (202)."""
        ctx = ctx_of(request)
        return _job_created(ctx, await _submit_engine(ctx, "perf", body))

    @router.post("/api/v1/jobs/{kind}", status_code=202, response_model=JobOut,
                 responses=error_responses(400, 401, 404, 413, 503, 507), tags=["jobs"])
    def submit_other(request: Request, kind: str, body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        """Queue a job of an extra registered kind (its function validates the body)."""
        ctx = ctx_of(request)
        if kind in ctx.engines or kind not in ctx.manager.kinds:
            raise ApiError(404, f"Unknown job kind {kind!r}")
        try:
            parent = resolve_under(ctx.settings.base_dir, body.get("work_dir"))
        except PathOutsideBase as exc:
            raise ApiError(400, f"Invalid request: work_dir: {exc}", [{"field": "work_dir", "reason": str(exc)}]) from None
        return _job_created(ctx, ctx.manager.submit(kind, body, parent))

    @router.get("/api/v1/jobs", response_model=JobListOut, responses=error_responses(400, 401, 503), tags=["jobs"])
    def list_jobs(
        request: Request,
        state: JobState | None = None,
        kind: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> dict[str, Any]:
        """Jobs, newest first, filtered by state and kind."""
        ctx = ctx_of(request)
        items, total = ctx.manager.list(state=state, kind=kind, limit=limit, offset=offset)
        return {"items": [JobOut.of(j, ctx.settings.debug) for j in items], "total": total,
                "limit": limit, "offset": offset}

    @router.get("/api/v1/jobs/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 503),
                tags=["jobs"])
    def get_job(request: Request, job_id: str) -> JobOut:
        """One job: state, progress, timings, result, output folder, error."""
        ctx = ctx_of(request)
        return JobOut.of(_job_or_404(ctx, job_id), ctx.settings.debug)

    @router.post("/api/v1/jobs/{job_id}/cancel", response_model=JobOut, responses=error_responses(401, 404, 409, 503),
                 tags=["jobs"])
    def cancel_job(request: Request, job_id: str) -> JobOut:
        """Cancel a queued or running job (its worker process is killed); 409 if already over."""
        ctx = ctx_of(request)
        try:
            job = ctx.manager.cancel(job_id)
        except JobConflict as exc:
            raise ApiError(409, str(exc)) from None
        if job is None:
            raise ApiError(404, f"Job {job_id} not found")
        return JobOut.of(job, ctx.settings.debug)

    @router.post("/api/v1/jobs/{job_id}/resume", status_code=202, response_model=JobOut,
                 responses=error_responses(400, 401, 404, 409, 413, 503), tags=["jobs"])
    def resume_job(request: Request, job_id: str, body: Annotated[ResumeIn | None, Body()] = None) -> JSONResponse:
        """Queue an interrupted, failed or cancelled job again in its own folder (evals continue
        from their cache).  API keys are never stored: give ``api_key`` again if the model needs one."""
        ctx = ctx_of(request)
        try:
            job = ctx.manager.resume(job_id, body.model_dump(exclude_none=True) if body else None)
        except JobConflict as exc:
            raise ApiError(409, str(exc)) from None
        if job is None:
            raise ApiError(404, f"Job {job_id} not found")
        return _job_created(ctx, job)

    @router.get("/api/v1/jobs/{job_id}/events", tags=["jobs"],
                responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
                           **error_responses(401, 404, 503)})
    async def job_events(request: Request, job_id: str) -> StreamingResponse:
        """Server-sent events: ``event: job`` with the job at each change, then ``event: end``."""
        ctx = ctx_of(request)
        if await asyncio.to_thread(ctx.manager.get, job_id) is None:
            raise ApiError(404, f"Job {job_id} not found")

        async def stream() -> Any:
            last = None
            async for job in ctx.notifier.updates(job_id, ctx.manager.get):
                if await request.is_disconnected():
                    return
                if job is None:
                    yield ": keep-alive\n\n"
                    continue
                last = job
                data = JobOut.of(job, ctx.settings.debug).model_dump_json()
                yield f"event: job\ndata: {data}\n\n"
            if last is not None:
                yield f"event: end\ndata: {json.dumps({'id': job_id, 'state': last.state.value})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.get("/api/v1/jobs/{job_id}/files", response_model=FileListOut, responses=error_responses(401, 404, 503),
                tags=["jobs"])
    def list_files(request: Request, job_id: str) -> FileListOut:
        """Every file in the job's folder (paths relative to it)."""
        ctx = ctx_of(request)
        job = _job_or_404(ctx, job_id)
        root = Path(job.output_dir)
        files = []
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink() and not path.name.endswith(".tmp"):
                    files.append(FileOut(path=path.relative_to(root).as_posix(), size=path.stat().st_size))
        return FileListOut(job_id=job.id, output_dir=job.output_dir, files=files)

    @router.get("/api/v1/jobs/{job_id}/files/{path:path}", tags=["jobs"],
                responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(401, 404, 503)})
    def get_file(request: Request, job_id: str, path: str) -> FileResponse:
        """Download one file of the job's folder; paths outside it answer 404."""
        ctx = ctx_of(request)
        job = _job_or_404(ctx, job_id)
        target = confined_file(Path(job.output_dir), path)
        if target is None:
            raise ApiError(404, f"File {path!r} not found in job {job_id}")
        return FileResponse(target)

    @router.get("/metrics", response_class=PlainTextResponse, tags=["service"])
    def metrics(request: Request) -> PlainTextResponse:
        """Prometheus text format: jobs by kind and state, run durations, executor occupancy."""
        ctx = ctx_of(request)
        return PlainTextResponse(render_metrics(ctx.manager), media_type="text/plain; version=0.0.4")

    return router
