"""Who is calling, and what they may do with a job.

:class:`evalscope.service.middleware.AuthMiddleware` finds the caller of each request and sets
:data:`PRINCIPAL` for it (a context variable: routes, their dependencies and the submission code all
read it, sync routes in their worker threads included). Callers:

* no authentication configured (no ``--auth-token`` and no user): everyone is :data:`OPEN`, an
  anonymous admin; the service behaves as it always did (the embedded default);
* the service's own ``--auth-token`` (its file, its variable): the admin named ``admin``;
* a user's token (``evalscope service users add``, ``POST /api/v1/users``): that user, in its role.

Roles: admins see and change every job and manage users, endpoints and the audit trail; members
submit jobs and see, follow, cancel and resume their own (another user's job answers 404, as if
it did not exist); viewers read every job and its files and change nothing (403).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from evalscope.jobs import Job
from evalscope.jobs.users import Role
from evalscope.service.errors import ApiError

#: the name jobs and the audit trail give the holder of the service's own --auth-token
ADMIN_TOKEN_NAME = "admin"


@dataclass(frozen=True)
class Principal:
    """The caller: a user name (None without authentication) and a role."""

    name: str | None
    role: Role
    #: how the caller was recognised: "open" (no authentication), "auth_token", "user"
    via: str = "user"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


OPEN = Principal(None, Role.admin, via="open")
PRINCIPAL: ContextVar[Principal] = ContextVar("evalscope_principal", default=OPEN)


def current() -> Principal:
    """The caller of the request being served (:data:`OPEN` outside a request)."""
    return PRINCIPAL.get()


def can_read(who: Principal, job: Job) -> bool:
    """Admins and viewers read every job; members their own."""
    return who.role in (Role.admin, Role.viewer) or (who.name is not None and job.owner == who.name)


def can_change(who: Principal, job: Job) -> bool:
    """Admins change (cancel, resume) every job; members their own; viewers none."""
    return who.role == Role.admin or (
        who.role == Role.member and who.name is not None and job.owner == who.name
    )


def owner_filter(who: Principal) -> str | None:
    """The owner a job listing is limited to: a member's own name; None (every job) for the others."""
    return who.name if who.role == Role.member else None


def visible(job: Job | None, write: bool = False) -> Job | None:
    """``job`` when the caller may read it (``write``: change it), else None (answered as not found)."""
    if job is None:
        return None
    who = current()
    return job if (can_change(who, job) if write else can_read(who, job)) else None


def _admin() -> Principal:
    who = current()
    if not who.is_admin:
        raise ApiError(403, f"Only admins may do this (you are {who.name}, a {who.role.value})")
    return who


def _caller() -> Principal:
    return current()


#: a route parameter that is the caller, 403 unless an admin
Admin = Annotated[Principal, Depends(_admin)]
#: a route parameter that is the caller
Caller = Annotated[Principal, Depends(_caller)]
