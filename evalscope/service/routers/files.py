"""A job's files: ``GET /api/v1/jobs/{job_id}/files`` (the list) and ``.../files/{path}`` (one file)."""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from evalscope.jobs import confined_file
from evalscope.service.context import ExistingJob
from evalscope.service.errors import ApiError
from evalscope.service.openapi import error_responses
from evalscope.service.schemas import FileListOut, FileOut

router = APIRouter(tags=["jobs"])


@router.get(
    "/api/v1/jobs/{job_id}/files", response_model=FileListOut, responses=error_responses(401, 404, 503)
)
def list_files(job: ExistingJob) -> FileListOut:
    """Every file in the job's folder (paths relative to it)."""
    root = Path(job.output_dir)
    files = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and not path.name.endswith(".tmp"):
                files.append(FileOut(path=path.relative_to(root).as_posix(), size=path.stat().st_size))
    return FileListOut(job_id=job.id, output_dir=job.output_dir, files=files)


@router.get(
    "/api/v1/jobs/{job_id}/files/{path:path}",
    responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(401, 404, 503)},
)
def get_file(job_id: str, path: str, job: ExistingJob) -> FileResponse:
    """Download one file of the job's folder; paths outside it answer 404."""
    target = confined_file(Path(job.output_dir), path)
    if target is None:
        raise ApiError(404, f"File {path!r} not found in job {job_id}")
    return FileResponse(target)
