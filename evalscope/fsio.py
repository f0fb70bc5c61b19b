"""Low-level file writing, in one place: atomic writes, whole-line appends and safe file names.

Every file the package writes for a reader (configs, reports, summaries, downloads) goes through
:func:`atomic_path`: the data lands in a temporary file in the same folder, is flushed to disk and
renamed over the target, so a reader sees the old file or the new one, never half of it; on any
error (a full disk, a read-only folder, an interrupt) the temporary file is removed, so no orphan
``.tmp`` file is left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: the longest name :func:`safe_name` returns (file systems allow 255 bytes; room for suffixes)
MAX_NAME = 120
TMP_SUFFIX = ".tmp"


def safe_name(name: str, fallback: str = "model") -> str:
    """A file-system-safe, bounded form of a model or benchmark name (``Qwen/Qwen2.5-7B`` -> ``Qwen_Qwen2.5-7B``).

    Anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``_``; a name longer than
    :data:`MAX_NAME` is cut and given a short hash of the full name, so two long names stay distinct.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or fallback
    if len(cleaned) > MAX_NAME:
        digest = hashlib.sha256(str(name).encode("utf-8", "surrogatepass")).hexdigest()[:10]
        cleaned = f"{cleaned[: MAX_NAME - 11]}_{digest}"
    return cleaned


def _umask() -> int:
    # Read, not set: setting the umask to read it would race with other threads creating files.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _fsync_dir(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """Yield a fresh temporary path next to ``path``; on a clean exit it is fsynced and renamed
    over ``path``, on any error it is deleted. ``mode`` sets the file's permission bits (default:
    what ``open()`` would give, 0666 less the umask; ``mkstemp`` alone would make it private)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:MAX_NAME]}.", suffix=TMP_SUFFIX)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # the writer may have closed it without syncing
            os.fsync(fh.fileno())
        os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], binary: bool = False, mode: int | None = None
) -> Iterator[IO[Any]]:
    """An open file whose content replaces ``path`` atomically when the block ends without error."""
    with atomic_path(path, mode) as tmp:
        fh = open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="")
        with fh:
            yield fh


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    with atomic_open(path, binary=True, mode=mode) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_json(
    path: str | os.PathLike[str],
    data: Any,
    *,
    indent: int | None = 2,
    default: Any = None,
    mode: int | None = None,
) -> None:
    """Write ``data`` as JSON (UTF-8, non-ASCII kept, trailing newline) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=indent, default=default) + "\n", mode)


class LineAppender:
    """Appends whole lines to a file: each line is written with one ``write`` call and flushed, and
    a failed write (a full disk) cuts the file back to the end of the last complete line, so the
    file never keeps a torn line. A torn tail left by an earlier crash is cut off on opening."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered binary: one os.write per line, and the size after each line is known exactly.
        self._fh = open(self.path, "ab", buffering=0)
        self._end = _complete_end(self.path)
        if self._end != os.fstat(self._fh.fileno()).st_size:
            os.truncate(self.path, self._end)

    def write_line(self, line: str) -> None:
        """Append ``line`` plus a newline; all of it or (after an error, which is re-raised) none."""
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                n = self._fh.write(view)
                view = view[n:]
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fh.fileno(), self._end)
            raise
        self._end += len(data)

    def close(self) -> None:
        self._fh.close()


def _complete_end(path: Path) -> int:
    """Size of ``path`` up to and including its last newline (0 when there is none)."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb") as fh:
        pos = size
        while pos > 0:
            step = min(65536, pos)
            fh.seek(pos - step)
            chunk = fh.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                return pos - step + nl + 1
            pos -= step
    return 0
