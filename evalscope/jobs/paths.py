"""Job output folders: unique per job, always inside the service's base folder."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from evalscope.paths import check_path_text


class PathOutsideBase(ValueError):
    """A user-supplied path resolves outside the base folder."""


class UnusablePath(PathOutsideBase):
    """A user-supplied path no file system accepts (a null byte, over-long names); the message says why."""


def resolve_under(base: Path, user_path: str | os.PathLike[str] | None) -> Path:
    """Resolve ``user_path`` (relative to ``base``, or absolute) and insist it stays inside ``base``.

    Symlinks are resolved first, so a link pointing out of the base folder is rejected too.
    Raises :class:`UnusablePath` for a value no file system accepts.
    """
    base = Path(base).resolve()
    if user_path is None or str(user_path).strip() in ("", "."):
        return base
    try:
        check_path_text(str(user_path))
        raw = Path(str(user_path)).expanduser()
        candidate = (raw if raw.is_absolute() else base / raw).resolve()
    except (ValueError, OSError, RuntimeError) as exc:
        raise UnusablePath(str(exc) if isinstance(exc, ValueError) else f"unusable path ({exc})") from None
    if candidate != base and not candidate.is_relative_to(base):
        raise PathOutsideBase(f"{user_path!s} resolves outside the service's work dir")
    return candidate


def new_job_dir(parent: Path, job_id: str, now: datetime | None = None) -> Path:
    """Create ``<parent>/<YYYYMMDD_HHMMSS>_<shortid>`` (fails if it exists: never shared)."""
    now = now or datetime.now()
    path = Path(parent) / f"{now:%Y%m%d_%H%M%S}_{job_id[:8]}"
    path.mkdir(parents=True, exist_ok=False)
    return path.resolve()


def confined_file(root: Path, rel: str) -> Path | None:
    """The file ``rel`` inside ``root``, or None when it is missing or escapes ``root``."""
    root = Path(root).resolve()
    try:
        target = (root / rel).resolve()
        # A NUL byte (ValueError) or an over-long name (OSError ENAMETOOLONG) names no file either.
        if not target.is_relative_to(root) or not target.is_file():
            return None
    except (OSError, RuntimeError, ValueError):
        return None
    return target
