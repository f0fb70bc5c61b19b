"""The audit trail: who submitted, cancelled or resumed which job, who added or revoked which user,
who registered or deleted which named endpoint, and when.

One JSON object a line in ``<work dir>/audit.jsonl``, appended whole (``evalscope.fsio.LineAppender``:
never a torn line) and never rewritten; ``GET /api/v1/audit`` (admins) reads it newest first. The
service and ``evalscope service users`` both append to it. Nothing secret is written: entries name
jobs, users and endpoints, never keys or tokens.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalscope.fsio import LineAppender

FILE_NAME = "audit.jsonl"
#: a user with no name: the service runs without authentication
ANONYMOUS = "anonymous"


class AuditLog:
    """Append and read ``<base>/audit.jsonl``."""

    def __init__(self, base: Path) -> None:
        self.path = Path(base) / FILE_NAME
        self._lock = threading.Lock()

    def record(
        self, actor: str | None, action: str, target: str | None = None, **details: Any
    ) -> dict[str, Any]:
        """Append one entry: ``{"time", "actor", "action", "target", ...details}``; returns it."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "actor": actor or ANONYMOUS,
            "action": action,
            "target": target,
            **{k: v for k, v in details.items() if v is not None},
        }
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            appender = LineAppender(self.path)
            try:
                appender.write_line(line)
            finally:
                appender.close()
        return entry

    def read(
        self, limit: int = 100, actor: str | None = None, action: str | None = None, target: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries matching the filters, newest first, at most ``limit``."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if actor is not None and entry.get("actor") != actor:
                continue
            if action is not None and entry.get("action") != action:
                continue
            if target is not None and entry.get("target") != target:
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out
