"""The service's web page: the job list with live state and progress, a job's page with its report
and files, and forms that submit eval and perf jobs.

Server-rendered Jinja2 shells plus one small vanilla-JS file, all shipped in the package (no build
step, nothing fetched from a CDN). The pages hold no job data: their script reads the job API with
the bearer token the user typed (kept in ``localStorage``), so the pages themselves can stay open
when the service requires a token (``OPEN_PATHS`` and ``OPEN_PREFIXES``
in ``evalscope.service.middleware``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from evalscope import __version__

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"


@functools.lru_cache(maxsize=1)
def _templates():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_DIR / "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)


def _choices() -> dict[str, Any]:
    """Benchmark and perf dataset names for the forms' suggestions; empty when an engine is absent."""
    benchmarks: list[str] = []
    datasets: list[str] = []
    try:
        from evalscope.eval.benchmarks import list_benchmarks

        benchmarks = sorted(b.name for b in list_benchmarks())
    except Exception:  # noqa: BLE001 - the field stays free text
        pass
    try:
        from evalscope.perf.arguments import DATASETS

        datasets = list(DATASETS)
    except Exception:  # noqa: BLE001
        pass
    return {"benchmarks": benchmarks, "perf_datasets": datasets or ["openqa"]}


def _page(name: str, **context: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(version=__version__, **context)
    # The pages embed job reports in a sandboxed iframe from blob: URLs; nothing else is framed.
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer"})


def build_web_router() -> APIRouter:
    """``/`` (jobs and forms) and ``/jobs/{id}`` (one job), left out of the OpenAPI schema."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return _page("index.html", page="index", **_choices())

    @router.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        return _page("job.html", page="job", job_id=job_id)

    return router


def mount_web(app: FastAPI) -> None:
    """Add the web page and its static files to ``app``."""
    app.include_router(build_web_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
