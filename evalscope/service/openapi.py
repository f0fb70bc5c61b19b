"""The OpenAPI document as the service really answers: error codes per route, no 422.

FastAPI adds a 422 answer to every route with parameters, but this service answers a request it
cannot validate with 400 (:mod:`evalscope.service.errors`), so 422 is removed from the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from evalscope.service.schemas import ErrorOut

_DESCRIPTIONS = {
    400: "invalid request (field and reason in `errors`)",
    401: "missing or wrong bearer token (when auth is on)",
    404: "no such job, job kind or file",
    409: "the job's state does not allow this (e.g. cancelling a finished job)",
    413: "request body too large",
    500: "the job failed, was cancelled or interrupted (traceback only in debug mode)",
    503: "the job store is busy or unavailable, or the engine is not installed; retry later",
    507: "the service cannot write to its work dir (disk full or read-only)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer the given error codes (all as :class:`ErrorOut`)."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, without the 422 answers (and their schemas) FastAPI adds."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes, tags=app.openapi_tags, servers=app.servers)
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    if isinstance(op, dict):
                        op.get("responses", {}).pop("422", None)
            schemas = schema.get("components", {}).get("schemas", {})
            text = str(schema.get("paths", {}))
            for name in ("HTTPValidationError", "ValidationError"):
                if f"#/components/schemas/{name}'" not in text:
                    schemas.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
