"""Response models: they document the answers in /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from evalscope.jobs import Job, JobState
from evalscope.jobs.summary import JobSummary, summarize


class HealthOut(BaseModel):
    status: str = Field("ok", description="ok, or degraded (then `reason` says why)")
    service: str = "evalscope"
    timestamp: str
    reason: str | None = None


class ErrorOut(BaseModel):
    status: str = "error"
    message: str
    errors: list[dict[str, str]] | None = None
    traceback: str | None = None
    job_id: str | None = Field(None, description="the failed job (blocking routes)")
    output_dir: str | None = Field(None, description="the failed job's folder (blocking routes)")
    result: dict[str, Any] | None = Field(None, description="eval: what the failed run wrote (n/a scores)")
    results: dict[str, Any] | None = Field(None, description="perf: what the failed run wrote")
    warnings: list[str] | None = None
    error_counts: dict[str, Any] | None = Field(None, description='{"total", "failed", "by_reason"}')


class EvalOut(BaseModel):
    status: str = "success"
    message: str = "Evaluation completed"
    result: dict[str, Any]
    output_dir: str
    job_id: str
    warnings: list[str] = Field(default_factory=list, description="a partly failed run says so here")
    error_counts: dict[str, Any] | None = Field(None, description='{"total", "failed", "by_reason"}')


class PerfOut(BaseModel):
    status: str = "success"
    message: str = "Performance test completed"
    output_dir: str
    results: dict[str, Any]
    job_id: str
    warnings: list[str] = Field(default_factory=list, description="a partly failed run says so here")
    error_counts: dict[str, Any] | None = Field(None, description='{"total", "failed", "by_reason"}')


class ProgressOut(BaseModel):
    done: int
    total: int | None
    percent: float | None = Field(description="0-100, or null while the total is unknown")


class WaitOut(BaseModel):
    reason: str = Field(description="worker (all busy), user_limit (its user's running jobs) or endpoint")
    what: str = Field(description="what it waited for, in words")
    job_id: str | None = Field(None, description="the load test it waited for (reason endpoint)")
    seconds: float


class JobOut(BaseModel):
    id: str
    kind: str
    state: JobState
    progress: ProgressOut
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    attempts: int
    worker_pid: int | None = Field(None, description="process running (or that last ran) the job")
    config: dict[str, Any]
    result: dict[str, Any] | None = Field(description="kept for failed runs too (what they wrote)")
    warnings: list[str] = Field(
        default_factory=list, description="partial failures of a succeeded job (also in result.warnings)"
    )
    output_dir: str
    error: str | None
    traceback: str | None = Field(None, description="only when the service runs with --debug")
    summary: JobSummary = Field(description="the headline: name, outcome, scores or best req/s, errors")
    owner: str | None = Field(None, description="the user who submitted it (null without users)")
    endpoint: str | None = Field(None, description="the named endpoint the request gave")
    waits: list[WaitOut] | None = Field(
        None,
        description="what it waited for before a worker took it, and how long (live while it waits; "
        "null for a job submitted before the scheduler recorded waits)",
    )
    links: dict[str, str]

    @classmethod
    def of(cls, job: Job, debug: bool) -> JobOut:
        total = job.progress_total
        percent = round(100.0 * job.progress_done / total, 2) if total else None
        base = f"/api/v1/jobs/{job.id}"
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state,
            progress=ProgressOut(done=job.progress_done, total=total, percent=percent),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            duration_s=job.duration_s,
            attempts=job.attempts,
            worker_pid=job.worker_pid,
            config=job.config,
            result=job.result,
            warnings=list((job.result or {}).get("warnings") or []),
            output_dir=job.output_dir,
            error=job.error,
            traceback=job.traceback if debug else None,
            summary=_summary(job),
            owner=job.owner,
            endpoint=job.endpoint,
            waits=[WaitOut.model_validate(w) for w in job.waits] if job.waits is not None else None,
            links={
                "self": base,
                "events": f"{base}/events",
                "files": f"{base}/files",
                "cancel": f"{base}/cancel",
                "resume": f"{base}/resume",
            },
        )


def _summary(job: Job) -> JobSummary:
    """The stored headline of a finished job; computed now for one still queued or running (its name
    only) or a row stored before headlines existed."""
    if job.summary is not None and job.is_final:
        try:
            return JobSummary.model_validate(job.summary)
        except ValueError:
            pass  # a headline of another version: computed again below
    return summarize(job.kind, job.state.value, job.config, job.result if job.is_final else None)


class JobListOut(BaseModel):
    items: list[JobOut]
    total: int
    limit: int
    offset: int


class FileOut(BaseModel):
    path: str
    size: int


class FileListOut(BaseModel):
    job_id: str
    output_dir: str
    files: list[FileOut]


class ResumeIn(BaseModel):
    """Secrets are never stored: a resumed job that needs its API key gets it again here."""

    model_config = {"extra": "forbid"}

    api_key: str | None = None
    headers: dict[str, str] | None = None
    # A model URL that carried credentials (user:password@, ?key=) is stored redacted: give it again.
    # It only fills the stored URL's place (same URL once redacted); it never points the job elsewhere.
    url: str | None = Field(None, description="perf: the model URL again, with its credentials")
    api_url: str | None = Field(None, description="eval: the model URL again, with its credentials")
