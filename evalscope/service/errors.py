"""JSON error answers: ``{"status": "error", "message": ..., ["errors": [...]], ["traceback": ...]}``."""

from __future__ import annotations

import errno
import logging
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from evalscope.fieldnames import field_errors, http_error, summary
from evalscope.secrets import redact_text

log = logging.getLogger("evalscope.service")


class ApiError(Exception):
    """An error with an HTTP status, raised by route code."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.extra = extra


def error_body(message: str, errors: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    """Every error answer; texts lose any URL credentials (an exception may quote a model URL)."""
    body: dict[str, Any] = {"status": "error", "message": redact_text(message)}
    if errors is not None:
        body["errors"] = [
            {k: redact_text(v) if isinstance(v, str) else v for k, v in e.items()} for e in errors
        ]
    body.update({k: redact_text(v) if isinstance(v, str) else v for k, v in extra.items() if v is not None})
    return body


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's error list as ``[{"field": "a.b", "reason": "..."}]`` (wording: evalscope.fieldnames)."""
    return [http_error(e) for e in field_errors(errors, request=True)]


def bad_request(errors: list[dict[str, str]]) -> JSONResponse:
    """The 400 answer listing ``errors`` (``[{"field", "reason"}]``)."""
    text = summary((e["field"], e["reason"]) for e in errors)
    return JSONResponse(error_body(f"Invalid request: {text}", errors), status_code=400)


#: errno values that mean "the service cannot write its files": answered 507 Insufficient Storage
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EFBIG}


def infrastructure_error(exc: BaseException) -> ApiError | None:
    """The clean answer to a failure of the job store or the disk, or None for any other error.

    The one place that maps them: a store that cannot be used (locked, unreachable, disk full under
    it) answers 503 with Retry-After, a work dir that cannot be written (full, read-only, not a
    folder) 507. Neither message carries SQL, paths or other internals; the log has the details.
    """
    if isinstance(exc, DBAPIError | PoolTimeout):
        return ApiError(503, "The job store is busy or unavailable; try again shortly", retry_after=5)
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        reason = "no space left" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else "not writable"
        return ApiError(
            507,
            f"The service cannot write job files to its work dir ({reason}); "
            "the operator must free space or fix the work dir",
        )
    return None


def install(app: FastAPI, debug: bool) -> None:
    """Register the handlers that turn every failure into a JSON answer."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return bad_request(validation_errors(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _pydantic(request: Request, exc: ValidationError) -> JSONResponse:
        return bad_request(validation_errors(list(exc.errors())))

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.errors, **exc.extra), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"Not found: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"Method {request.method} not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return JSONResponse(error_body(message), status_code=exc.status_code, headers=exc.headers)

    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        api = infrastructure_error(exc)
        if api is not None:
            log.error(
                "%s %s: %s (%s: %s)", request.method, request.url.path, api.message, type(exc).__name__, exc
            )
            retry = api.extra.get("retry_after")
            return JSONResponse(
                error_body(api.message),
                status_code=api.status,
                headers={"Retry-After": str(retry)} if retry else None,
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # The exception's text may carry paths or SQL: only debug mode shows it (and the traceback).
        if debug:
            return JSONResponse(
                error_body(
                    f"Internal server error: {type(exc).__name__}: {exc}", traceback=traceback.format_exc()
                ),
                status_code=500,
            )
        return JSONResponse(
            error_body("Internal server error (the service log has the details)"), status_code=500
        )

    # Store and disk errors get their own handlers (answered before the generic 500 path).
    for cls in (DBAPIError, PoolTimeout, OSError, Exception):
        app.add_exception_handler(cls, _unhandled)
