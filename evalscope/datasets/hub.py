"""Where a dataset file comes from: an explicit local copy, the dataset directory, the cache, the hub.

The order is fixed (docs/interfaces.md): ``local_dir`` -> ``$EVALSCOPE_DATASET_DIR`` -> the cache
(``$EVALSCOPE_CACHE``, default ``~/.cache/evalscope/datasets``) -> a download from ModelScope (default)
or Hugging Face. Offline (``EVALSCOPE_OFFLINE=1``, ``HF_HUB_OFFLINE=1``) or when the download fails,
``DatasetNotFoundError`` says which file is missing and where a copy can be put.
"""

from __future__ import annotations

import glob
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from evalscope.fsio import atomic_open
from evalscope.settings import settings

SOURCES = ("modelscope", "huggingface")
_DOWNLOAD_TIMEOUT_S = 60.0


class DatasetNotFoundError(FileNotFoundError):
    """No local copy of a dataset file and no way to download it; the message says where to put it."""


def cache_dir() -> Path:
    """The download cache: ``$EVALSCOPE_CACHE`` or ``~/.cache/evalscope/datasets``."""
    return settings().cache_dir


def dataset_dir_from_env() -> Path | None:
    """``$EVALSCOPE_DATASET_DIR`` when set."""
    env = settings().dataset_dir
    return env.expanduser() if env else None


def offline() -> bool:
    """True when the environment forbids hub downloads."""
    return settings().is_offline


def find_local(roots: Iterable[Path | None], patterns: Sequence[str]) -> Path | None:
    """First existing file matching one of ``patterns`` (globs, relative) under one of ``roots``.

    Roots are tried in order and, within a root, patterns in order, so a caller lists its preferred
    layout first. A root that is itself a file is returned as is.
    """
    for root in roots:
        if root is None:
            continue
        root = Path(root).expanduser()
        if root.is_file():
            return root
        if not root.is_dir():
            continue
        for pattern in patterns:
            hits = sorted(glob.glob(str(root / pattern)))
            files = [Path(h) for h in hits if Path(h).is_file()]
            if files:
                return files[0]
    return None


def _url(repo_id: str, filename: str, source: str) -> str:
    env = settings()
    endpoint = (env.hf_endpoint if source == "huggingface" else env.modelscope_endpoint).rstrip("/")
    quoted = urllib.parse.quote(filename)
    if source == "huggingface":
        return f"{endpoint}/datasets/{repo_id}/resolve/main/{quoted}"
    return f"{endpoint}/api/v1/datasets/{repo_id}/repo?Revision=master&FilePath={quoted}"


def _missing(
    repo_id: str, filename: str, local_dir: Path | None, reason: str, source: str = "modelscope"
) -> DatasetNotFoundError:
    places = []
    if local_dir is not None:
        places.append(str(Path(local_dir) / filename))
    ds_dir = dataset_dir_from_env()
    places.append(str((ds_dir or Path("$EVALSCOPE_DATASET_DIR")) / repo_id / filename))
    places.append(str(cache_dir() / source / repo_id / filename))
    return DatasetNotFoundError(
        f"dataset file {filename!r} of {repo_id!r} not found locally and not downloadable ({reason}); "
        f"put a copy at one of: {', '.join(places)}"
    )


def _download(url: str, dest: Path) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "evalscope"})
    with (
        urllib.request.urlopen(req, timeout=_DOWNLOAD_TIMEOUT_S) as resp,
        atomic_open(dest, binary=True) as out,
    ):
        while chunk := resp.read(1 << 20):
            out.write(chunk)


def fetch(
    repo_id: str,
    filename: str,
    local_dir: str | Path | None = None,
    source: str = "modelscope",
    dir_names: Sequence[str] = (),
) -> Path:
    """Path to ``filename`` of hub dataset ``repo_id``, downloading it into the cache if needed.

    Looks in ``local_dir``, then ``$EVALSCOPE_DATASET_DIR/<name>/`` for each of ``dir_names`` (short
    folder names such as ``openqa``), ``$EVALSCOPE_DATASET_DIR/<repo_id>/`` and its top level, then
    the cache, then downloads from ``source`` (``modelscope`` or ``huggingface``). Raises
    ``DatasetNotFoundError`` naming the file and where to put it when none of these works.
    """
    if source not in SOURCES:
        raise ValueError(f"source: must be one of {', '.join(SOURCES)}, got {source!r}")
    ds_dir = dataset_dir_from_env()
    cached = cache_dir() / source / repo_id / filename
    roots: list[Path | None] = [
        Path(local_dir) if local_dir else None,
        *((ds_dir / name) if ds_dir else None for name in dir_names),
        ds_dir / repo_id if ds_dir else None,
        ds_dir,
    ]
    for root in roots:
        if root is not None and (Path(root) / filename).is_file():
            return Path(root) / filename
    if cached.is_file():
        return cached
    if offline():
        raise _missing(repo_id, filename, Path(local_dir) if local_dir else None, "offline mode", source)
    try:
        _download(_url(repo_id, filename, source), cached)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise _missing(
            repo_id,
            filename,
            Path(local_dir) if local_dir else None,
            f"download from {source} failed: {exc}",
            source,
        ) from None
    return cached
