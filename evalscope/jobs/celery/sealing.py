"""API keys inside Celery messages, sealed with a passphrase the service and its workers share.

A job's secrets (``api_key``, auth headers, URL credentials: see :mod:`evalscope.secrets`) must reach the worker
that runs it, and the only channel is the broker. With ``EVALSCOPE_SECRET_KEY`` set on the service
and on every worker, the message carries the public config plus the secrets encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived from that passphrase, so
Redis (its memory, its RDB/AOF files, a ``MONITOR``) never holds them in clear. Without it they
travel in clear, and the service says so once at start-up.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from evalscope.secrets import merge_secrets, split_secrets

ENV = "EVALSCOPE_SECRET_KEY"
SEALED = "sealed_secrets"


class SealError(RuntimeError):
    """A message's secrets cannot be opened here (no passphrase, or not the service's)."""


def secret_key_from_env() -> str | None:
    """The shared passphrase, or None when unset/empty."""
    from evalscope.settings import settings

    return settings().secret("secret_key")


def _fernet(passphrase: str) -> Any:
    from cryptography.fernet import Fernet

    # Fernet wants 32 url-safe base64 bytes; any passphrase maps to one through SHA-256.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()))


def seal(payload: dict[str, Any], passphrase: str | None) -> dict[str, Any]:
    """``payload`` (a task message) with the secrets of its ``config`` and its ``scrub_values`` (the
    same secrets, for scrubbing logs) replaced by one encrypted token; as is without a passphrase or
    without secrets."""
    if not passphrase:
        return payload
    public, secrets = split_secrets(payload.get("config") or {})
    scrub = payload.get("scrub_values") or []
    if not secrets and not scrub:
        return payload
    blob = json.dumps({"config": secrets, "scrub_values": scrub}).encode()
    token = _fernet(passphrase).encrypt(blob).decode()
    return {**payload, "config": public, "scrub_values": [], SEALED: token}


def unseal(payload: dict[str, Any], passphrase: str | None) -> dict[str, Any]:
    """Inverse of :func:`seal`; raises :class:`SealError` naming the setting when it cannot."""
    token = payload.get(SEALED)
    if token is None:
        return payload
    if not passphrase:
        raise SealError(f"this job's API keys are sealed: set {ENV} on the worker to the service's value")
    from cryptography.fernet import InvalidToken

    try:
        blob = json.loads(_fernet(passphrase).decrypt(token.encode()))
    except InvalidToken:
        raise SealError(f"cannot open this job's API keys: the worker's {ENV} is not the service's") from None
    rest = {k: v for k, v in payload.items() if k != SEALED}
    return {
        **rest,
        "config": merge_secrets(rest.get("config") or {}, blob["config"]),
        "scrub_values": blob["scrub_values"],
    }
