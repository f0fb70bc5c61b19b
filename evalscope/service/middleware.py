"""ASGI middleware: body size limit (413) and optional bearer-token auth (401, 403 for viewers writing)."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]

#: Reachable without a token: health checks and the API description.
OPEN_PATHS = frozenset(
    {"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/", "/compare", "/favicon.ico"}
)
#: The web page's shells and static files (evalscope.service.web), and plotly.js for the reports
#: (evalscope.report.page.PLOTLY_ROUTE): they hold no job data, their script calls the API with the
#: token the user typed.
OPEN_PREFIXES = ("/static/", "/jobs/", "/report-assets/")


async def _send_json(
    send: Any, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class _TooLarge(HTTPException):
    # An HTTPException, because FastAPI turns any other error raised while reading a body into 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes")


class BodyLimitMiddleware:
    """Answer 413 when a request body exceeds ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: Any, limit: int, unlimited: str | None = None) -> None:
        self.app = app
        self.limit = limit
        # Paths (a regex) whose route enforces its own limit, e.g. a worker uploading a job folder.
        self.unlimited = re.compile(unlimited) if unlimited else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (
            self.unlimited is not None and self.unlimited.fullmatch(scope["path"])
        ):
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    return await _send_json(send, 413, self._body())
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(self.limit)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, self._body())

    def _body(self) -> dict[str, Any]:
        return {"status": "error", "message": f"Request body larger than {self.limit} bytes"}


class AuthMiddleware:
    """Find the caller (``evalscope.service.auth``) of every path except ``OPEN_PATHS``.

    A bearer token is required once authentication is configured: the service's own ``token``
    (the admin) or any active user's (looked up by hash in the job store at each request, so users
    added or revoked by ``evalscope service users`` count at once). Without either, every caller
    is the anonymous admin :data:`evalscope.service.auth.OPEN` (the embedded default). Viewers may
    only read (GET, HEAD): anything else answers 403.
    """

    def __init__(self, app: Any, token: str | None = None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or scope["path"].startswith(OPEN_PREFIXES)
            or scope.get("method") == "OPTIONS"
        ):
            return await self.app(scope, receive, send)
        from evalscope.service import auth

        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, cred = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    given = cred.strip()
        try:
            who = await self._identify(scope, given)
        except Exception:  # noqa: BLE001 - the store is locked or away: like every store failure, 503
            return await _send_json(
                send, 503, {"status": "error", "message": "The user store is unavailable; try again shortly"}
            )
        if who is None:
            return await _send_json(
                send,
                401,
                {"status": "error", "message": "Missing or invalid bearer token"},
                [(b"www-authenticate", b"Bearer")],
            )
        if who.role == "viewer" and scope.get("method") not in ("GET", "HEAD"):
            return await _send_json(
                send, 403, {"status": "error", "message": f"{who.name} is a viewer: viewers can only read"}
            )
        reset = auth.PRINCIPAL.set(who)
        try:
            return await self.app(scope, receive, send)
        finally:
            auth.PRINCIPAL.reset(reset)

    async def _identify(self, scope: Scope, given: bytes) -> Any:
        """The caller, or None (401)."""
        import asyncio

        from evalscope.jobs import users
        from evalscope.service import auth

        if self.token is not None and given and hmac.compare_digest(given, self.token):
            return auth.Principal(auth.ADMIN_TOKEN_NAME, users.Role.admin, via="auth_token")
        ctx = getattr(getattr(scope.get("app"), "state", None), "ctx", None)
        if ctx is None:  # not started: only the service's own token is known
            return None if self.token is not None else auth.OPEN
        store = ctx.manager.store
        if given:
            try:
                text = given.decode("ascii")
            except UnicodeDecodeError:
                return None
            user = await asyncio.to_thread(users.authenticate, store, text)
            if user is not None:
                return auth.Principal(user.name, user.role)
        if self.token is None and not await asyncio.to_thread(users.any_active, store):
            return auth.OPEN
        return None
