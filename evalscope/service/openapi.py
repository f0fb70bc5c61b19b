"""The OpenAPI document as the service really answers: error codes per route, no 422.

FastAPI adds a 422 answer to every route with parameters, but this service answers a request it
cannot validate with 400 (:mod:`evalscope.service.errors`), so 422 is removed from the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from evalscope.rundir import JOB_FILE
from evalscope.service.schemas import ErrorOut

_DESCRIPTIONS = {
    400: "invalid request (field and reason in `errors`)",
    401: "missing or wrong bearer token (when auth is on)",
    403: "not allowed in your role (viewers only read; users, endpoints and the audit trail are admins')",
    404: "no such job, job kind or file",
    409: "the job's state does not allow this (e.g. cancelling a finished job)",
    413: "request body too large",
    500: "the job failed, was cancelled or interrupted (traceback only in debug mode)",
    503: "the job store is busy or unavailable, or the service is still starting; retry later",
    507: "the service cannot write to its work dir (disk full or read-only)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer the given error codes (all as :class:`ErrorOut`)."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, without the 422 answers (and their schemas) FastAPI adds."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    if isinstance(op, dict):
                        op.get("responses", {}).pop("422", None)
            _add_links(schema)
            schemas = schema.get("components", {}).get("schemas", {})
            text = str(schema.get("paths", {}))
            for name in ("HTTPValidationError", "ValidationError"):
                if f"#/components/schemas/{name}'" not in text:
                    schemas.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


#: what a client can do with a job it was just given (OpenAPI links: clients and stateful testers
#: such as schemathesis follow them with the job's id)
_JOB_LINKS = {
    "GetJob": ("/api/v1/jobs/{job_id}", "get"),
    "CancelJob": ("/api/v1/jobs/{job_id}/cancel", "post"),
    "ResumeJob": ("/api/v1/jobs/{job_id}/resume", "post"),
    "ListJobFiles": ("/api/v1/jobs/{job_id}/files", "get"),
    "GetJobConfigFile": ("/api/v1/jobs/{job_id}/files/{path}", "get"),
}


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    links = {}
    for name, (path, method) in _JOB_LINKS.items():
        if method not in paths.get(path, {}):
            continue
        params = {"job_id": "$response.body#/id"}
        if "{path}" in path:
            params["path"] = JOB_FILE  # every job folder has one (config.json only once its engine ran)
        ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method
        links[name] = {"operationRef": ref, "parameters": params}
    for path, method, status in (
        ("/api/v1/jobs/eval", "post", "202"),
        ("/api/v1/jobs/perf", "post", "202"),
        ("/api/v1/jobs/{job_id}/resume", "post", "202"),
        ("/api/v1/jobs/{job_id}/cancel", "post", "200"),
        ("/api/v1/jobs/{job_id}", "get", "200"),
    ):
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response["links"] = links
