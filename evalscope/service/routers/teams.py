"""Users, named endpoints and the audit trail: ``/api/v1/users``, ``/api/v1/endpoints``,
``/api/v1/audit``, and ``/api/v1/whoami`` (see ``evalscope.service.auth`` for the roles)."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from evalscope.jobs import endpoints as eps
from evalscope.jobs import users as us
from evalscope.secrets import SecretKeyError
from evalscope.service.auth import Admin, Caller
from evalscope.service.context import Context
from evalscope.service.errors import ApiError
from evalscope.service.openapi import error_responses
from evalscope.settings import settings

router = APIRouter(tags=["teams"])
log = logging.getLogger("evalscope.service")


class WhoAmIOut(BaseModel):
    name: str | None = Field(description="null when the service runs without authentication")
    role: us.Role
    via: str = Field(description="open (no authentication), auth_token (the service's own token) or user")


class UserIn(BaseModel):
    model_config = {"extra": "forbid"}

    name: str
    role: us.Role = us.Role.member


class NewUserOut(us.User):
    token: str = Field(description="the user's bearer token: shown only in this answer, never stored")


class UserListOut(BaseModel):
    items: list[us.User]


class EndpointListOut(BaseModel):
    items: list[eps.Endpoint]


class AuditOut(BaseModel):
    items: list[dict[str, Any]] = Field(description="newest first: time, actor, action, target and details")


@router.get("/api/v1/whoami", response_model=WhoAmIOut, responses=error_responses(401, 503))
def whoami(who: Caller) -> WhoAmIOut:
    """The caller as the service sees it: name and role."""
    return WhoAmIOut(name=who.name, role=who.role, via=who.via)


@router.get("/api/v1/users", response_model=UserListOut, responses=error_responses(401, 403, 503))
def list_users(ctx: Context, who: Admin) -> UserListOut:
    """Every user (revoked ones too); never a token."""
    return UserListOut(items=us.list_users(ctx.manager.store))


@router.post(
    "/api/v1/users",
    status_code=201,
    response_model=NewUserOut,
    responses=error_responses(400, 401, 403, 409, 503),
)
def add_user(ctx: Context, who: Admin, body: Annotated[UserIn, Body()]) -> JSONResponse:
    """Add a user; the answer holds its token, the only time it is shown."""
    try:
        us.check_name(body.name)
    except ValueError as exc:
        raise ApiError(
            400, f"Invalid request: name: {exc}", [{"field": "name", "reason": str(exc)}]
        ) from None
    try:
        user, token = us.add_user(ctx.manager.store, body.name, body.role, created_by=who.name)
    except us.UserExists as exc:
        raise ApiError(409, str(exc)) from None
    ctx.audit.record(who.name, "user.add", user.name, role=user.role.value)
    out = NewUserOut(**user.model_dump(), token=token)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.post(
    "/api/v1/users/{name}/revoke", response_model=us.User, responses=error_responses(401, 403, 404, 503)
)
def revoke_user(ctx: Context, who: Admin, name: str) -> us.User:
    """Stop a user's token now (its jobs stay, still naming it)."""
    user = us.revoke_user(ctx.manager.store, name)
    if user is None:
        raise ApiError(404, f"User {name!r} not found")
    ctx.audit.record(who.name, "user.revoke", name)
    return user


@router.get("/api/v1/endpoints", response_model=EndpointListOut, responses=error_responses(401, 503))
def list_endpoints(ctx: Context, who: Caller) -> EndpointListOut:
    """The named endpoints requests may give as ``endpoint`` (whether each has a key, never the key)."""
    return EndpointListOut(items=eps.list_endpoints(ctx.manager.store))


@router.post(
    "/api/v1/endpoints",
    status_code=201,
    response_model=eps.Endpoint,
    responses=error_responses(400, 401, 403, 409, 503),
)
async def register_endpoint(
    ctx: Context, who: Admin, body: Annotated[eps.EndpointIn, Body()]
) -> JSONResponse:
    """Register a model once (its API key stored encrypted with the service's EVALSCOPE_SECRET_KEY)."""
    try:
        endpoint = await asyncio.to_thread(
            eps.register, ctx.manager.store, body, settings().secret("secret_key"), who.name
        )
    except SecretKeyError as exc:
        raise ApiError(
            400, f"Invalid request: api_key: {exc}", [{"field": "api_key", "reason": str(exc)}]
        ) from None
    except eps.EndpointExists as exc:
        raise ApiError(409, str(exc)) from None
    ctx.audit.record(who.name, "endpoint.register", endpoint.name, url=endpoint.url, model=endpoint.model)
    log.info(
        "endpoint %s registered by %s (%s, model %s)", endpoint.name, who.name, endpoint.url, endpoint.model
    )
    return JSONResponse(endpoint.model_dump(mode="json"), status_code=201)


@router.delete(
    "/api/v1/endpoints/{name}", response_model=eps.Endpoint, responses=error_responses(401, 403, 404, 503)
)
def delete_endpoint(ctx: Context, who: Admin, name: str) -> eps.Endpoint:
    """Forget a named endpoint and its key (jobs that used it keep their records)."""
    endpoint = eps.get_endpoint(ctx.manager.store, name)
    if endpoint is None or not eps.remove(ctx.manager.store, name):
        raise ApiError(404, f"Endpoint {name!r} not found")
    ctx.audit.record(who.name, "endpoint.delete", name)
    return endpoint


@router.get("/api/v1/audit", response_model=AuditOut, responses=error_responses(400, 401, 403, 503))
def audit(
    ctx: Context,
    who: Admin,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=128)] = None,
) -> AuditOut:
    """The audit trail, newest first: who submitted, cancelled or resumed which job, who added or
    revoked which user, who registered or deleted which endpoint, and when."""
    return AuditOut(items=ctx.audit.read(limit=limit, actor=actor, action=action, target=target))
