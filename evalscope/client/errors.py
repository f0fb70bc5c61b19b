"""Error types and the one place that classifies failures (used by eval retries and perf records)."""

from __future__ import annotations

import asyncio
import email.utils
import time


class ApiError(Exception):
    """A request that failed for good.

    ``status`` is the HTTP status (None when no response came back), ``reason`` a short machine
    label (``http_429``, ``timeout``, ``connection``, ``cut_stream``, ``bad_chunk``, ``api_error``),
    ``message`` the server's or the transport's explanation.
    """

    def __init__(self, status: int | None, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}" if status is None else f"HTTP {status} ({reason}): {message}")
        self.status = status
        self.reason = reason
        self.message = message


class StreamError(Exception):
    """A stream that broke mid-way: cut before its end or carrying an undecodable/error event."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def is_retryable_status(status: int) -> bool:
    """429 and 5xx are worth another try; other 4xx will fail the same way again."""
    return status == 429 or status >= 500


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """Map a transport exception to (reason, message) for records and ApiError."""
    if isinstance(exc, StreamError):
        return exc.reason, exc.message
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout", "request timed out"
    import aiohttp  # here, not at the top: importing this module must stay cheap for the CLI

    if isinstance(exc, aiohttp.ClientPayloadError):
        return "cut_stream", f"response ended early: {exc}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "cut_stream", "server disconnected"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return "connection", f"{type(exc).__name__}: {exc}"
    return "client_error", f"{type(exc).__name__}: {exc}"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message(body: bytes) -> str:
    """The human part of an error body: ``error.message``/``message`` when JSON, else the text."""
    from evalscope.client.jsonfast import loads

    text = body[:2000].decode("utf-8", "replace")
    try:
        data = loads(body)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if data.get("message"):
            return str(data["message"])
    return text.strip()
