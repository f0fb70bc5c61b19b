"""The seed's blocking routes: ``POST /api/v1/eval`` and ``POST /api/v1/perf`` answer when their job ends."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from evalscope.eval import TaskConfig
from evalscope.jobs import Job, JobState
from evalscope.perf import PerfArguments
from evalscope.service.bodies import EVAL, PERF, EngineRoute
from evalscope.service.context import Context, ServiceContext
from evalscope.service.errors import ApiError, error_body
from evalscope.service.openapi import error_responses
from evalscope.service.schemas import EvalOut, PerfOut
from evalscope.service.submit import submit

router = APIRouter(tags=["seed"])
# The error answers each route can give (evalscope.service.openapi; no 422: bad input is a 400).
SEED_ERRORS = error_responses(400, 401, 413, 500, 503, 507)


def failure(ctx: ServiceContext, job: Job) -> JSONResponse:
    """The 500 answer for a job that did not succeed, with what its run wrote."""
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
        error_body(
            message,
            job_id=job.id,
            output_dir=output_dir,
            traceback=job.traceback if ctx.settings.debug else None,
            **written,
        ),
        status_code=500,
    )


async def run_blocking(ctx: ServiceContext, route: EngineRoute, body: BaseModel) -> JSONResponse:
    """Submit a job and answer when it ends: the seed's answer, or :func:`failure`."""
    job = await submit(ctx, route, body)
    # The job lives in a worker: if this client goes away, the job still finishes and stays listed.
    final = await ctx.notifier.wait_final(job.id, ctx.manager.get)
    if final is None:
        raise ApiError(500, f"Job {job.id} disappeared from the store")
    if final.state != JobState.succeeded:
        return failure(ctx, final)
    return JSONResponse(route.answer(final))


@router.post("/api/v1/eval", response_model=EvalOut, responses=SEED_ERRORS)
async def run_eval(ctx: Context, body: Annotated[TaskConfig, Body()]) -> JSONResponse:
    """Run an evaluation and answer when it ends (a job underneath: see /api/v1/jobs)."""
    return await run_blocking(ctx, EVAL, body)


@router.post("/api/v1/perf", response_model=PerfOut, responses=SEED_ERRORS)
async def run_perf(ctx: Context, body: Annotated[PerfArguments, Body()]) -> JSONResponse:
    """Run a load test and answer when it ends (a job underneath: see /api/v1/jobs)."""
    return await run_blocking(ctx, PERF, body)
