"""``GET /metrics``: Prometheus text (evalscope.service.metrics renders it)."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from evalscope.service.context import Context
from evalscope.service.metrics import render_metrics

router = APIRouter(tags=["service"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(ctx: Context) -> PlainTextResponse:
    """Prometheus text format: jobs by kind and state, run durations, executor occupancy."""
    return PlainTextResponse(render_metrics(ctx.manager), media_type="text/plain; version=0.0.4")
