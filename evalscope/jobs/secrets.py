"""Keep secrets (model API keys, auth headers) out of everything that is stored or returned.

A job's config is split in two: the public part is stored, saved to ``config.json`` and returned;
the secret part lives only in memory and travels to the worker process with the task.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "***"
#: Values that are placeholders, not secrets: kept as they are so configs stay readable.
_NOT_SECRET = {None, "", "EMPTY"}
_SECRET_FIELDS = ("api_key",)
_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie", re.IGNORECASE)


def split_secrets(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(public, secrets)``: ``public`` has every secret replaced by ``***``."""
    public = dict(config)
    secrets: dict[str, Any] = {}
    for name in _SECRET_FIELDS:
        value = public.get(name)
        if value not in _NOT_SECRET:
            secrets[name] = value
            public[name] = REDACTED
    headers = public.get("headers")
    if isinstance(headers, dict):
        hidden = {k: v for k, v in headers.items() if _SECRET_HEADER.search(str(k)) and v not in _NOT_SECRET}
        if hidden:
            secrets["headers"] = hidden
            public["headers"] = {k: (REDACTED if k in hidden else v) for k, v in headers.items()}
    return public, secrets


def merge_secrets(public: dict[str, Any], secrets: dict[str, Any] | None) -> dict[str, Any]:
    """Inverse of :func:`split_secrets`; a secret that is gone (after a restart) becomes ``EMPTY``."""
    config = dict(public)
    secrets = secrets or {}
    for name in _SECRET_FIELDS:
        if config.get(name) == REDACTED:
            config[name] = secrets.get(name, "EMPTY")
    headers = config.get("headers")
    if isinstance(headers, dict):
        given = secrets.get("headers") or {}
        config["headers"] = {
            k: given[k] if v == REDACTED and k in given else v
            for k, v in headers.items()
            if not (v == REDACTED and k not in given)
        }
    return config


def secret_values(secrets: dict[str, Any] | None) -> list[str]:
    """Every secret string in ``secrets`` (for scrubbing text)."""
    out: list[str] = []
    for value in (secrets or {}).values():
        if isinstance(value, dict):
            out.extend(str(v) for v in value.values() if v)
        elif value:
            out.append(str(value))
    # Longest first so a key that contains another is scrubbed whole.
    return sorted({v for v in out if len(v) >= 4}, key=len, reverse=True)


def scrub(text: str | None, values: list[str]) -> str | None:
    """Replace each secret value in ``text`` by ``***``."""
    if not text:
        return text
    for value in values:
        text = text.replace(value, REDACTED)
    return text


class ScrubFilter(logging.Filter):
    """A logging filter that removes secret values from every record's message and arguments."""

    def __init__(self, values: list[str]) -> None:
        super().__init__()
        self.values = values

    def filter(self, record: logging.LogRecord) -> bool:
        if self.values:
            record.msg = scrub(record.getMessage(), self.values)
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(record.exc_text, self.values)
            record.exc_info = None
        return True
