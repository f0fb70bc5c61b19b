"""``GET /health``: is the service able to run jobs."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from evalscope.service.context import MaybeContext
from evalscope.service.schemas import HealthOut

router = APIRouter(tags=["service"])


@router.get(
    "/health",
    response_model=HealthOut,
    response_model_exclude_none=True,
    responses={503: {"model": HealthOut, "description": "degraded: no job can run now"}},
)
async def health(ctx: MaybeContext) -> Any:
    """``ok``, or ``degraded`` with a ``reason`` (workers cannot be started, finished jobs not yet
    saved): 200 while jobs can still run, 503 when none can.  Reads in-memory state only,
    never the store or the workers."""
    body: dict[str, Any] = {
        "status": "ok",
        "service": "evalscope",
        "timestamp": datetime.now().isoformat(timespec="seconds"),
    }
    problem = ctx.manager.health() if ctx is not None else None
    if problem is None:
        return body
    body.update(status="degraded", reason=problem["reason"])
    return JSONResponse(body, status_code=200 if problem["can_run_jobs"] else 503)
