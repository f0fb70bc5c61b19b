"""Users of the service: named bearer tokens with a role, kept in the job store's database.

A token is made by the service (:func:`evalscope.secrets.new_token`, 256 random bits), shown once
when the user is added, and stored only as its SHA-256 (:func:`evalscope.secrets.hash_token`).
Revoking keeps the row (the audit trail and the jobs still name the user) and stops the token at
once. The table is created by migration ``0005_teams``.

Roles: ``admin`` (everything: every job, users, named endpoints, the audit trail), ``member``
(submits jobs; sees, cancels and resumes its own), ``viewer`` (reads every job and its files,
changes nothing).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, String, Table, func, insert, select, update

from evalscope.jobs.store import JobStore, _aware, utcnow
from evalscope.secrets import hash_token, new_token

#: a user name: what job records and the audit trail show as the owner or actor
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class Role(StrEnum):
    admin = "admin"
    member = "member"
    viewer = "viewer"


class UserExists(ValueError):
    """An active user of that name exists already."""


class User(BaseModel):
    """A user as listed: never the token, nor its hash."""

    name: str
    role: Role
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


metadata = MetaData()
users = Table(
    "evalscope_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


def check_name(name: str) -> str:
    """``name`` if it is a valid user name; ValueError saying what is allowed."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError("1-64 characters: letters, digits and _ . @ - (starting with a letter or digit)")
    return name


def _user(row: dict) -> User:
    return User(
        name=row["name"],
        role=Role(row["role"]),
        created_at=_aware(row["created_at"]),
        created_by=row["created_by"],
        revoked_at=_aware(row["revoked_at"]),
    )


def add_user(store: JobStore, name: str, role: Role | str, created_by: str | None = None) -> tuple[User, str]:
    """Add a user (or give a revoked one a new token and role); returns the user and its token,
    which is never stored: show it once. UserExists when an active user has that name."""
    check_name(name)
    role = Role(role)
    token = new_token()
    now = utcnow()
    values = {
        "role": role.value,
        "token_hash": hash_token(token),
        "created_at": now,
        "created_by": created_by,
        "revoked_at": None,
    }
    with store.engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        if row is not None and row["revoked_at"] is None:
            raise UserExists(f"user {name!r} exists; revoke it first to issue a new token")
        if row is None:
            conn.execute(insert(users).values(name=name, **values))
        else:
            conn.execute(update(users).where(users.c.name == name).values(**values))
    return User(name=name, role=role, created_at=now, created_by=created_by), token


def list_users(store: JobStore) -> list[User]:
    """Every user, revoked ones included, by name."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
    return [_user(dict(r)) for r in rows]


def get_user(store: JobStore, name: str) -> User | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return _user(dict(row)) if row else None


def revoke_user(store: JobStore, name: str) -> User | None:
    """Stop a user's token now (the row stays); None when there is no such user."""
    with store.engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.name == name, users.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    return get_user(store, name)


def authenticate(store: JobStore, token: str) -> User | None:
    """The active user holding ``token``, or None."""
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                select(users).where(users.c.token_hash == hash_token(token), users.c.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
    return _user(dict(row)) if row else None


def any_active(store: JobStore) -> bool:
    """True when at least one user holds a valid token (authentication is then required)."""
    with store.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(users).where(users.c.revoked_at.is_(None))).scalar()
    return bool(n)
