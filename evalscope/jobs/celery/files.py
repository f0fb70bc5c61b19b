"""How a job's output folder reaches the service when the worker runs on another machine.

Two modes, chosen per worker (``evalscope worker --files``):

``shared``
    The service's work dir is mounted at the same path on every worker (NFS, a cluster file
    system, a bind mount).  The worker writes straight into the job folder the service created.
``upload``
    The worker writes into its own ``--work-dir`` and, when the job ends (succeeded or failed),
    sends the folder as one gzip'd tar to the service (``PUT /api/v1/jobs/{id}/archive``, with the
    service's bearer token), which unpacks it into the job folder; then the worker deletes its copy.
    Paths in the result that pointed into the worker's folder are rewritten to the service's.

Either way the service's file routes (``/api/v1/jobs/{id}/files...``) read the job folder on the
service's machine.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, model_validator

FilesMode = Literal["shared", "upload"]
ARCHIVE_ROUTE = "/api/v1/jobs/{job_id}/archive"


class FilesConfig(BaseModel):
    """A worker's output-files mode."""

    mode: FilesMode = "shared"
    work_dir: Path | None = Field(
        default=None, description="upload mode: where the worker writes jobs locally"
    )
    service_url: str | None = Field(default=None, description="upload mode: the service's base URL")
    service_token: str | None = Field(
        default=None, repr=False, description="upload mode: the service's bearer token"
    )
    keep_local: bool = False

    @model_validator(mode="after")
    def _check(self) -> FilesConfig:
        if self.mode == "upload":
            if not self.service_url:
                raise ValueError("service_url: required with --files upload")
            if self.work_dir is None:
                raise ValueError("work_dir: required with --files upload")
        return self

    def local_dir(self, output_dir: str) -> Path:
        """Where the worker writes the job whose service-side folder is ``output_dir``."""
        if self.mode == "shared":
            return Path(output_dir)
        assert self.work_dir is not None
        return Path(self.work_dir).expanduser().resolve() / Path(output_dir).name

    def finish(self, job_id: str, folder: Path, root: Path, output_dir: str, result: Any) -> Any:
        """Deliver ``folder`` (inside the job's local root ``root``) in upload mode, and return
        ``result`` with the worker's paths rewritten to the service's."""
        if self.mode == "shared":
            return result
        upload_folder(
            self.service_url or "",
            self.service_token,
            job_id,
            folder,
            prefix=folder.relative_to(root).as_posix() if folder != root else "",
        )
        if result is not None:
            text = json.dumps(result).replace(json.dumps(str(root))[1:-1], json.dumps(output_dir)[1:-1])
            result = json.loads(text)
        if not self.keep_local:
            shutil.rmtree(folder, ignore_errors=True)
        return result


def pack_folder(folder: Path, out: IO[bytes], prefix: str = "") -> int:
    """Write ``folder``'s regular files as a gzip'd tar (names under ``prefix``) to ``out``; returns its size."""
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    name = "/".join(filter(None, [prefix, path.relative_to(folder).as_posix()]))
                    tar.add(path, arcname=name, recursive=False)
    return out.tell()


def upload_folder(
    service_url: str, token: str | None, job_id: str, folder: Path, prefix: str = "", timeout: float = 600
) -> int:
    """Pack ``folder`` (names under ``prefix``) and PUT it to the service; returns the archive size."""
    with tempfile.TemporaryFile() as tmp:
        size = pack_folder(folder, tmp, prefix)
        tmp.seek(0)
        headers = {"Content-Type": "application/gzip", "Content-Length": str(size)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = service_url.rstrip("/") + ARCHIVE_ROUTE.format(job_id=job_id)
        req = urllib.request.Request(url, data=tmp, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise RuntimeError(
                f"uploading the job folder to {service_url} failed: HTTP {exc.code} {detail}"
            ) from None
    return size


def unpack_archive(stream_path: Path, dest: Path) -> int:
    """Unpack an uploaded archive into ``dest``; members may not leave it (tarfile's data filter)."""
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    with tarfile.open(stream_path, mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        tar.extractall(dest, members=members, filter="data")
        n = sum(m.isfile() for m in members)
    return n
