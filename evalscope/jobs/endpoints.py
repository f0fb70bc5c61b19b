"""Named model endpoints: an admin registers a model once (URL, API, model id, API key) and requests
name it (``"endpoint": "name"``) instead of passing the URL and the key.

The API key is stored only encrypted (:func:`evalscope.secrets.encrypt_secret`: Fernet under the
service's ``EVALSCOPE_SECRET_KEY``); registering a key without that passphrase is refused. It is
decrypted only to hand it to a job (where the job manager splits it off like any submitted key: the
stored job, its files and every answer show ``***``). The table is created by migration ``0005_teams``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, insert, select

from evalscope.client.urls import check_api_key, check_model_url
from evalscope.jobs.store import JobStore, _aware, utcnow
from evalscope.jobs.users import check_name
from evalscope.secrets import decrypt_secret, encrypt_secret, redact_url


class EndpointExists(ValueError):
    """An endpoint of that name is registered already."""


class EndpointIn(BaseModel):
    """What an admin registers (``POST /api/v1/endpoints``)."""

    model_config = {"extra": "forbid"}

    name: str = Field(description="what requests give as `endpoint`")
    url: str = Field(description="the model server's base URL, e.g. http://vllm:8000/v1")
    api: str = Field("openai", max_length=64, description="perf's --api for this server (openai, ...)")
    model: str = Field(min_length=1, max_length=512, description="the model id sent to the server")
    api_key: str | None = Field(None, description="stored encrypted; never shown again")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = check_model_url(value)
        if redact_url(url) != url:
            raise ValueError(
                "carries credentials (user:password@ or a key in the query); give the key as api_key"
            )
        return url.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return check_api_key(value) or None


class Endpoint(BaseModel):
    """An endpoint as listed: whether it has a key, never the key."""

    name: str
    url: str
    api: str
    model: str
    has_api_key: bool
    created_at: datetime
    created_by: str | None = None


metadata = MetaData()
endpoints = Table(
    "evalscope_endpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("api", String(64), nullable=False),
    Column("model", String(512), nullable=False),
    Column("api_key_encrypted", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=True),
)


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        name=row["name"],
        url=row["url"],
        api=row["api"],
        model=row["model"],
        has_api_key=row["api_key_encrypted"] is not None,
        created_at=_aware(row["created_at"]),
        created_by=row["created_by"],
    )


def register(
    store: JobStore, spec: EndpointIn, passphrase: str | None, created_by: str | None = None
) -> Endpoint:
    """Store an endpoint, its key encrypted; SecretKeyError (naming ``EVALSCOPE_SECRET_KEY``) for a key
    without a passphrase, EndpointExists when the name is taken."""
    encrypted = encrypt_secret(spec.api_key, passphrase) if spec.api_key else None
    now = utcnow()
    with store.engine.begin() as conn:
        if conn.execute(select(endpoints.c.name).where(endpoints.c.name == spec.name)).first():
            raise EndpointExists(f"endpoint {spec.name!r} exists; delete it first to register it again")
        conn.execute(
            insert(endpoints).values(
                name=spec.name,
                url=spec.url,
                api=spec.api,
                model=spec.model,
                api_key_encrypted=encrypted,
                created_at=now,
                created_by=created_by,
            )
        )
    return Endpoint(
        name=spec.name,
        url=spec.url,
        api=spec.api,
        model=spec.model,
        has_api_key=encrypted is not None,
        created_at=now,
        created_by=created_by,
    )


def list_endpoints(store: JobStore) -> list[Endpoint]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(endpoints).order_by(endpoints.c.name)).mappings().all()
    return [_endpoint(r) for r in rows]


def get_endpoint(store: JobStore, name: str) -> Endpoint | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(endpoints).where(endpoints.c.name == name)).mappings().first()
    return _endpoint(row) if row else None


def remove(store: JobStore, name: str) -> bool:
    """Forget an endpoint (jobs that used it keep their own copy); False when there was none."""
    with store.engine.begin() as conn:
        return bool(conn.execute(delete(endpoints).where(endpoints.c.name == name)).rowcount)


def resolve(store: JobStore, name: str, passphrase: str | None) -> tuple[Endpoint, str | None] | None:
    """The endpoint and its decrypted key (None when it has none), or None for an unknown name;
    SecretKeyError when the key cannot be decrypted with ``passphrase``."""
    with store.engine.connect() as conn:
        row = conn.execute(select(endpoints).where(endpoints.c.name == name)).mappings().first()
    if row is None:
        return None
    token = row["api_key_encrypted"]
    return _endpoint(row), (decrypt_secret(token, passphrase) if token else None)
