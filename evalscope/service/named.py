"""Named endpoints in requests: ``{"endpoint": "qwen-prod", "datasets": [...]}``.

:class:`EndpointMiddleware` reads the body of the eval and perf submissions (the seed's blocking
routes, the job API and EvalScope 1.14's ``/invoke`` routes) before the engines' models validate it: a body naming an ``endpoint``
(``evalscope.jobs.endpoints``) gets that endpoint's URL, model id, API and decrypted API key in
the engine's own fields (eval: ``api_url``, ``model``, ``api_key``; perf: ``url``, ``model``, ``api``,
``api_key``), and the job records the endpoint's name. From there the key is any submitted key:
split off by the job manager, never stored, logged or answered. A body that names an endpoint and
also gives one of those fields, or an unknown endpoint, is a 400 naming the field.
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar
from typing import Any

from evalscope.service.middleware import _send_json

#: POST paths whose body may name an endpoint -> the engine fields an endpoint fills
FILLS = {
    "eval": {"api_url": "url", "model": "model", "api_key": "api_key"},
    "perf": {"url": "url", "model": "model", "api": "api", "api_key": "api_key"},
}
ROUTES = {
    "/api/v1/eval": "eval",
    "/api/v1/jobs/eval": "eval",
    "/api/v1/perf": "perf",
    "/api/v1/jobs/perf": "perf",
    "/api/v1/jobs/perf_distributed": "perf",
    # EvalScope 1.14's blocking routes (routers/compat.py): the same bodies, the same fields
    "/api/v1/eval/invoke": "eval",
    "/api/v1/eval/resume/invoke": "eval",
    "/api/v1/perf/invoke": "perf",
}
#: of those, the ones whose errors also carry 1.14's ``error`` key (as every answer of routers/compat.py)
INVOKE_ROUTES = frozenset(p for p in ROUTES if p.endswith("/invoke"))
#: the endpoint named by the request being served (the job records it)
ENDPOINT: ContextVar[str | None] = ContextVar("evalscope_endpoint", default=None)


def _bad(reason: str, field: str = "endpoint") -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"Invalid request: {field}: {reason}",
        "errors": [{"field": field, "reason": reason}],
    }


class EndpointMiddleware:
    """Fill a submission's model fields from the endpoint it names (see the module doc)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None  # the route answers the malformed JSON itself
        token = None
        if isinstance(body, dict) and "endpoint" in body:
            name = body.pop("endpoint")
            if name is not None:
                problem = await self._fill(scope, kind, name, body)
                if problem is not None:
                    status, answer = problem
                    if scope.get("path") in INVOKE_ROUTES:
                        answer = {**answer, "error": answer["message"]}
                    return await _send_json(send, status, answer)
                token = ENDPOINT.set(name)
            raw = json.dumps(body).encode()
            headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(raw)).encode())]}
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return dict(await receive())

        try:
            await self.app(scope, replay, send)
        finally:
            if token is not None:
                ENDPOINT.reset(token)

    async def _fill(
        self, scope: dict[str, Any], kind: str, name: Any, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        """Put the endpoint's fields into ``body``; (status, answer) when it cannot."""
        from evalscope.jobs import endpoints
        from evalscope.secrets import SecretKeyError
        from evalscope.settings import settings

        if not isinstance(name, str) or not name:
            return 400, _bad("must be the name of a registered endpoint")
        fills = FILLS[kind]
        given = [f for f in fills if body.get(f) is not None]
        if given:
            return 400, _bad(f"given with endpoint {name!r}, which sets it; leave it out", given[0])
        ctx = getattr(getattr(scope.get("app"), "state", None), "ctx", None)
        if ctx is None:
            return 503, {"status": "error", "message": "The service is not started yet; try again shortly"}
        try:
            found = await asyncio.to_thread(
                endpoints.resolve, ctx.manager.store, name, settings().secret("secret_key")
            )
        except SecretKeyError as exc:
            return 503, {"status": "error", "message": f"endpoint {name!r}: {exc}"}
        if found is None:
            return 400, _bad(f"no endpoint named {name!r} (GET /api/v1/endpoints lists them)")
        endpoint, key = found
        values = {"url": endpoint.url, "model": endpoint.model, "api": endpoint.api, "api_key": key}
        for field, source in fills.items():
            if values[source] is not None:
                body[field] = values[source]
        return None
