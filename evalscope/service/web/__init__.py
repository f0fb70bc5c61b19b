"""The service's web page: the job list with live state and progress, a job's page with its report
and files, and forms that submit eval and perf jobs.

Server-rendered Jinja2 shells plus one small vanilla-JS file, all shipped in the package (no build
step, nothing fetched from a CDN). The pages hold no job data: their script reads the job API with
the bearer token the user typed (kept in ``localStorage``), so the pages themselves can stay open
when the service requires a token (``OPEN_PATHS`` and ``OPEN_PREFIXES``
in ``evalscope.service.middleware``).
"""

# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import functools
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from evalscope import __version__
from evalscope.eval import TaskConfig
from evalscope.eval.benchmarks import list_benchmarks
from evalscope.perf import PerfArguments
from evalscope.perf.arguments import DATASETS

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"

router = APIRouter(include_in_schema=False)


@functools.lru_cache(maxsize=1)
def get_templates() -> jinja2.Environment:
    """The pages' Jinja2 environment (loaded once)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Each optional field's default as JSON (a re-run puts only the fields that differ in the form)."""
    out = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            out[field.serialization_alias or name] = to_jsonable_python(
                field.get_default(call_default_factory=True, validated_data={})
            )
    return out


@functools.lru_cache(maxsize=1)
def form_defaults_json() -> str:
    """The eval and perf requests' defaults, for the page's JSON island (escaped for a script element)."""
    from evalscope.report.page import json_island_text

    return json_island_text({"eval": _defaults(TaskConfig), "perf": _defaults(PerfArguments)})


def form_choices() -> dict[str, Any]:
    """Benchmark and perf dataset names for the forms' suggestions (the fields stay free text)."""
    return {
        "benchmarks": sorted(b.name for b in list_benchmarks()),
        "perf_datasets": list(DATASETS),
        "form_defaults": Markup(form_defaults_json()),
    }


Templates = Annotated[jinja2.Environment, Depends(get_templates)]
Choices = Annotated[dict[str, Any], Depends(form_choices)]


def _page(templates: jinja2.Environment, name: str, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(version=__version__, **context)
    # The pages embed job reports in a sandboxed iframe from blob: URLs; nothing else is framed.
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/", response_class=HTMLResponse)
def index(templates: Templates, choices: Choices) -> HTMLResponse:
    """The job list and the eval and perf forms."""
    return _page(templates, "index.html", page="index", **choices)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(templates: Templates) -> HTMLResponse:
    """Two jobs side by side (``?a=<job>&b=<job>&la=<label>&lb=<label>``; its script reads
    ``/api/v1/compare``)."""
    return _page(templates, "compare.html", page="compare")


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(templates: Templates, job_id: str) -> HTMLResponse:
    """One job's page (its script reads the job API)."""
    return _page(templates, "job.html", page="job", job_id=job_id)


def mount_web(app: FastAPI) -> None:
    """Add the web page (``/``, ``/jobs/{id}``, left out of the OpenAPI schema) and its static files."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
