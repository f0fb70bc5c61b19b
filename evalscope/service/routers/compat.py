"""EvalScope 1.14's service routes, served as thin routes over the job API.

EvalScope 1.14 clients call ``POST /api/v1/{eval,perf}/invoke`` with their own task id in an
``EvalScope-Task-Id`` header (the call blocks until the run ends), and meanwhile poll
``GET /api/v1/{eval,perf}/progress|log|report?task_id=...``, stop with ``POST .../stop?task_id=...``
and list ``/api/v1/tasks/*``. Each invoke is a job of ours; the task id is recorded beside it
(``evalscope.jobs.task_ids``) so the other routes find the job. Answers keep 1.14's JSON shapes;
errors carry 1.14's ``error`` key next to our ``status``/``message``. The field-level story (what
is supported, ignored, or "not supported yet") is in ``evalscope.upstream_fields`` and docs/service.md.
"""
# No `from __future__ import annotations`: FastAPI reads the parameter annotations at runtime.

import asyncio
from collections import deque
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError

from evalscope import __version__
from evalscope.eval.benchmarks import list_benchmarks
from evalscope.fieldnames import summary
from evalscope.jobs import Job, JobConflict, JobState
from evalscope.jobs import task_ids as tasks
from evalscope.rundir import RunDir
from evalscope.service.auth import current, visible
from evalscope.service.bodies import ENGINE_ROUTES
from evalscope.service.context import Context, ServiceContext
from evalscope.service.errors import ApiError, validation_errors
from evalscope.service.routers.files import serve_file
from evalscope.service.submit import submit

TASK_HEADER = "EvalScope-Task-Id"
UNSUPPORTED_ROUTE = "not supported yet by this service (EvalScope 1.14 route)"

#: 1.14's status words for our job states (its ActiveTaskInfo.status / invoke status)
_TASK_STATUS = {
    JobState.queued: "preparing",
    JobState.running: "running",
    JobState.succeeded: "completed",
    JobState.failed: "error",
    JobState.cancelled: "stopped",
    JobState.interrupted: "error",
}
#: its progress tracker's words (progress.json "status")
_PROGRESS_STATUS = {
    JobState.queued: "queued",
    JobState.running: "running",
    JobState.succeeded: "completed",
    JobState.failed: "error",
    JobState.cancelled: "stopped",
    JobState.interrupted: "interrupted",
}
_EVAL_SUMMARY = ("datasets", "limit", "eval_batch_size")
_GEN_SUMMARY = ("temperature", "top_p", "top_k", "max_tokens")
_PERF_SUMMARY = (
    "api",
    "dataset",
    "parallel",
    "number",
    "rate",
    "max_tokens",
    "min_tokens",
    "max_prompt_length",
    "min_prompt_length",
)
#: EvalScope 1.14 routes of its web dashboard's run archive, not served here (answered 501, not 404)
_ARCHIVE_ROUTES = [
    ("GET", "/api/v1/perf/list"),
    ("GET", "/api/v1/perf/detail"),
    ("GET", "/api/v1/perf/runs"),
    ("GET", "/api/v1/perf/requests"),
    ("GET", "/api/v1/perf/chart"),
    ("GET", "/api/v1/perf/compare/chart"),
    ("GET", "/api/v1/perf/history/report"),
    ("DELETE", "/api/v1/perf/run"),
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/reports/{rest:path}"),
    ("DELETE", "/api/v1/reports/{rest:path}"),
]


def _error(status: int, message: str, field: str | None = None) -> ApiError:
    errors = [{"field": field, "reason": message}] if field else None
    return ApiError(status, message, errors, error=message)


def check_task_id(task_id: str | None, where: str) -> str:
    """A task id usable as a name (1.14's rule: no path separators, not . or ..); 400 naming ``where``."""
    if not task_id:  # 1.14's own wording
        label = f"{where} header" if where == TASK_HEADER else where
        raise _error(400, f"{label} is required", where)
    if (
        len(task_id) > tasks.MAX_TASK_ID
        or task_id in (".", "..")
        or any(c in task_id for c in "/\\")
        or any(ord(c) < 32 for c in task_id)
    ):
        raise _error(
            400, f"{where}: invalid task id (1 to {tasks.MAX_TASK_ID} characters, no path separators)", where
        )
    return task_id


def _job_of(ctx: ServiceContext, task_id: str, kind: str | None = None) -> Job | None:
    row = tasks.lookup(ctx.manager.store, task_id)
    if row is None or (kind is not None and row["kind"] != kind):
        return None
    return visible(ctx.manager.get(row["job_id"]))  # another member's task does not exist for this caller


def _percent(job: Job) -> float:
    if job.state == JobState.succeeded:
        return 100.0
    total = job.progress_total
    return round(100.0 * job.progress_done / total, 2) if total else 0.0


def _report_file(job: Job) -> Path | None:
    """The job's report.html: in its run folder (perf: the result's output_dir), else anywhere below."""
    roots = [Path((job.result or {}).get("output_dir") or job.output_dir), Path(job.output_dir)]
    for root in roots:
        if (root / "report.html").is_file():
            return root / "report.html"
    return next(iter(sorted(Path(job.output_dir).rglob("report.html"))), None)


def _endpoint(url: Any) -> str | None:
    # 1.14 shows host[:port] only: never a path, query or credentials.
    try:
        parts = urlsplit(str(url))
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return f"{host}:{port}" if port is not None else host


def _task_info(ctx: ServiceContext, row: dict[str, Any], job: Job) -> dict[str, Any]:
    cfg = job.config or {}
    if job.kind == "eval":
        summary = {k: cfg[k] for k in _EVAL_SUMMARY if cfg.get(k) is not None}
        gen = cfg.get("generation_config") or {}
        summary.update({k: gen[k] for k in _GEN_SUMMARY if gen.get(k) is not None})
        url = cfg.get("api_url")
    else:
        summary = {k: cfg[k] for k in _PERF_SUMMARY if cfg.get(k) is not None}
        url = cfg.get("url")
    percent = _percent(job)
    status = _TASK_STATUS[job.state]
    if status == "running" and percent >= 100:
        status = "finalizing"
    info = {
        "task_id": row["task_id"],
        "kind": job.kind,
        "model": str(cfg.get("model") or ""),
        "endpoint": _endpoint(url),
        "alias": row.get("alias"),
        "started_at": (job.started_at or job.created_at).isoformat(),
        "percent": percent,
        "status": status,
        "config": summary,
        "job_id": job.id,
        "state": job.state.value,
    }
    if _report_file(job) is not None:
        info["html_report_url"] = f"/api/v1/{job.kind}/report?task_id={row['task_id']}"
    return info


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return "n/a"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(":---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _eval_table(result: dict[str, Any]) -> str:
    """1.14's result table (its Chinese column names): one row per subset."""
    rows = []
    for name, rep in (result or {}).items():
        if not isinstance(rep, dict):
            continue
        metric = (rep.get("metrics") or [{}])[0].get("name", "")
        for sub in rep.get("subsets") or [
            {"name": "OVERALL", "num": rep.get("num"), "score": rep.get("score")}
        ]:
            rows.append(
                [rep.get("model_name", ""), name, metric, sub.get("name"), sub.get("num"), sub.get("score")]
            )
    return _md_table(["模型", "数据集", "指标", "子集", "数量", "得分"], rows) if rows else ""


def _perf_table(results: dict[str, Any], rate: Any) -> str:
    """1.14's perf table (its Chinese column names): one row per sweep point."""
    from evalscope.perf.results import PointResult

    rows = []
    for point in (results or {}).values():
        typed = PointResult.model_validate(point)
        m, p = typed.metrics, typed.percentiles
        total = m.total_requests
        rows.append(
            [
                m.concurrency,
                rate,
                total,
                m.request_throughput,
                m.avg_latency,
                p.at("latency", "99%"),
                m.avg_ttft,
                p.at("ttft", "99%"),
                m.avg_tpot,
                p.at("tpot", "99%"),
                m.output_throughput,
                f"{100.0 * m.succeed_requests / total:.1f}%" if total else None,
            ]
        )
    headers = [
        "并发数",
        "请求速率",
        "请求数",
        "每秒请求数",
        "平均延迟(s)",
        "P99延迟(s)",
        "平均首字延迟(s)",
        "P99首字延迟(s)",
        "平均每Token延迟(s)",
        "P99每Token延迟(s)",
        "生成速度(toks/s)",
        "成功率",
    ]
    return _md_table(headers, rows) if rows else ""


def _log_page(path: Path, start_line: int | None, page: int) -> dict[str, Any]:
    """1.14's log page: the last ``page`` lines, or ``page`` lines from ``start_line`` (0-based)."""
    if not path.is_file():
        return {"text": "", "head_line": 0, "tail_line": 0, "total_lines": 0}
    total = 0
    lines: Any = deque(maxlen=page) if start_line is None else []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            total += 1
            if start_line is None:
                lines.append(line)
            elif total > start_line and len(lines) < page:
                lines.append(line)
    if start_line is None:
        head = max(0, total - page)
    elif start_line >= total:
        return {"text": "", "head_line": total, "tail_line": total, "total_lines": total}
    else:
        head = start_line
    lines = list(lines)
    return {"text": "".join(lines), "head_line": head, "tail_line": head + len(lines), "total_lines": total}


router = APIRouter(tags=["EvalScope 1.14"])
TaskHeader = Annotated[str | None, Header(alias=TASK_HEADER)]
TaskQuery = Annotated[str | None, Query()]
StartLine = Annotated[int | None, Query(ge=0)]
Page = Annotated[int, Query(ge=1, le=100_000)]
AnyBody = Annotated[Any, Body()]


async def invoke(ctx: ServiceContext, kind: str, body: Any, task_id: str | None, resume: bool = False) -> Any:
    """1.14's invoke: a job of ours under the caller's task id, answered when it ends."""
    task_id = check_task_id(task_id, TASK_HEADER)
    if not isinstance(body, dict) or not body:
        raise _error(400, "Request body must be a JSON object", "body")
    data = dict(body)
    alias = data.pop("alias", None)
    alias = alias.strip() if isinstance(alias, str) and alias.strip() else None
    route = ENGINE_ROUTES[kind]
    store = ctx.manager.store
    row = await asyncio.to_thread(tasks.lookup, store, task_id)
    previous = ctx.manager.get(row["job_id"]) if row else None
    if previous is not None and not previous.is_final:
        raise _error(
            409,
            f"Task {task_id} is still running (job {previous.id}); stop it or use another {TASK_HEADER}",
            TASK_HEADER,
        )
    if resume:
        if previous is None or previous.kind != kind:
            raise _error(404, f"Output directory not found for task_id: {task_id}", TASK_HEADER)
        # 1.14 resumes in the task's folder from its cache; we start a new job from a copy of it.
        data["use_cache"] = previous.output_dir
        alias = alias or (row or {}).get("alias")
    try:
        model = route.model.model_validate(data)
    except ValidationError as exc:
        errs = validation_errors(list(exc.errors()))
        text = summary((e["field"], e["reason"]) for e in errs)
        raise ApiError(400, f"Invalid request: {text}", errs, error=text) from None
    job = await submit(ctx, route, model)  # the job API's own submission path
    await asyncio.to_thread(tasks.bind, store, task_id, job.id, kind, alias)
    final = await ctx.notifier.wait_final(job.id, ctx.manager.get)
    if final is None:
        raise _error(500, f"Job {job.id} disappeared from the store")
    if final.state == JobState.cancelled:
        return {"status": "stopped", "task_id": task_id, "job_id": job.id}
    if final.state != JobState.succeeded:
        message = final.error or "the job failed"
        written = final.result or {}  # what a failed run wrote (RunFailed's result), as in the seed's 500
        return JSONResponse(
            {
                "status": "error",
                "task_id": task_id,
                "job_id": job.id,
                "error": message,
                "message": message,
                "output_dir": written.get("output_dir") or final.output_dir,
                "result": written.get("result" if kind == "eval" else "results", {}),
                "warnings": written.get("warnings", []),
            },
            status_code=500,
        )
    answer = route.answer(final)
    if kind == "eval":
        result, table = answer.get("result", {}), _eval_table(answer.get("result", {}))
    else:
        result, table = (
            answer.get("results", {}),
            _perf_table(answer.get("results", {}), final.config.get("rate", -1)),
        )
    return {
        "status": "completed",
        "task_id": task_id,
        "result": result,
        "table": table,
        "job_id": job.id,
        "output_dir": answer.get("output_dir"),
        "warnings": answer.get("warnings") or [],
    }


def stop(ctx: ServiceContext, task_id: str | None) -> dict[str, Any]:
    """1.14's stop: cancel the task's running job."""
    task_id = check_task_id(task_id, "task_id")
    job = _job_of(ctx, task_id)
    if job is None or job.is_final:
        raise _error(404, f"No running task found for task_id: {task_id}", "task_id")
    if visible(job, write=True) is None:
        raise _error(404, f"No running task found for task_id: {task_id}", "task_id")
    try:
        ctx.manager.cancel(job.id)
    except JobConflict:  # it ended meanwhile
        raise _error(404, f"No running task found for task_id: {task_id}", "task_id") from None
    ctx.audit.record(current().name, "job.cancel", job.id, kind=job.kind, owner=job.owner, task_id=task_id)
    return {"status": "stopped", "task_id": task_id}


def progress(ctx: ServiceContext, kind: str, task_id: str | None) -> dict[str, Any]:
    """1.14's progress.json shape for the task's job."""
    task_id = check_task_id(task_id, "task_id")
    job = _job_of(ctx, task_id, kind)
    if job is None:  # 1.14 answers 0 % before its tracker file exists (a poll may come before invoke)
        return {"percent": 0.0}
    return {
        "status": _PROGRESS_STATUS[job.state],
        "pipeline": kind,
        "total_count": job.progress_total,
        "processed_count": job.progress_done,
        "percent": _percent(job),
        "job_id": job.id,
    }


def log_page(
    ctx: ServiceContext, kind: str, task_id: str | None, start_line: int | None, page: int
) -> dict[str, Any]:
    """A page of the job's one log (``logs/run.log``, evalscope.rundir)."""
    task_id = check_task_id(task_id, "task_id")
    job = _job_of(ctx, task_id, kind)
    if job is None:
        return {"text": "", "head_line": 0, "tail_line": 0, "total_lines": 0}
    return _log_page(RunDir(Path(job.output_dir)).log, start_line, page)


def report(ctx: ServiceContext, kind: str, task_id: str | None) -> Response:
    """The task's report.html (self-contained: plotly.js put back in, see files.serve_file)."""
    task_id = check_task_id(task_id, "task_id")
    job = _job_of(ctx, task_id, kind)
    path = _report_file(job) if job is not None else None
    if path is None:
        raise _error(404, f"Report not found for task_id: {task_id}", "task_id")
    return serve_file(path)


def _add_task_routes(kind: str) -> None:
    """invoke, stop, progress, log and report for one engine (the same code, ``kind`` bound)."""

    @router.post(
        f"/api/v1/{kind}/invoke",
        name=f"{kind}_invoke",
        summary=f"Run a {kind} task and answer when it ends (EvalScope 1.14)",
    )
    async def _invoke(ctx: Context, body: AnyBody = None, task_id: TaskHeader = None) -> Any:
        """Body: the same fields as the seed route; header ``EvalScope-Task-Id`` names the task."""
        return await invoke(ctx, kind, body, task_id)

    @router.post(f"/api/v1/{kind}/stop", name=f"{kind}_stop", summary="Stop a running task")
    def _stop(ctx: Context, task_id: TaskQuery = None) -> dict[str, Any]:
        return stop(ctx, task_id)

    @router.get(f"/api/v1/{kind}/progress", name=f"{kind}_progress", summary="Progress of a task")
    def _progress(ctx: Context, task_id: TaskQuery = None) -> dict[str, Any]:
        return progress(ctx, kind, task_id)

    @router.get(f"/api/v1/{kind}/log", name=f"{kind}_log", summary="A page of a task's log")
    def _log(
        ctx: Context, task_id: TaskQuery = None, start_line: StartLine = None, page: Page = 500
    ) -> dict[str, Any]:
        return log_page(ctx, kind, task_id, start_line, page)

    @router.get(
        f"/api/v1/{kind}/report",
        name=f"{kind}_report",
        summary="A task's report.html",
        response_class=FileResponse,
    )
    def _report(ctx: Context, task_id: TaskQuery = None) -> Response:
        return report(ctx, kind, task_id)


for _kind in ("eval", "perf"):
    _add_task_routes(_kind)


@router.post("/api/v1/eval/resume/invoke", summary="Resume an evaluation from its cache (EvalScope 1.14)")
async def eval_resume(ctx: Context, body: AnyBody = None, task_id: TaskHeader = None) -> Any:
    """A new job that starts from a copy of the task's last run (its answered samples are reused)."""
    return await invoke(ctx, "eval", body, task_id, resume=True)


@router.get("/api/v1/eval/benchmarks", summary="The benchmarks this service runs (EvalScope 1.14 shape)")
def benchmarks(type: Annotated[str, Query()] = "", all: Annotated[str, Query()] = "") -> dict[str, Any]:  # noqa: A002
    """``total_samples`` is 0 (unknown) as in 1.14 when statistics are missing: nothing is downloaded to count."""
    kind = type.lower()
    if kind not in ("", "text", "multimodal"):
        raise _error(400, f"Unknown type '{type}'. Use 'text' or 'multimodal'.", "type")
    entries = [
        {
            "name": b.name,
            "pretty_name": b.pretty_name,
            "tags": list(b.tags),
            "category": "llm",
            "subset_list": list(b.subsets),
            "total_samples": 0,
            "few_shot_num": b.few_shot_num,
            "dataset_id": b.dataset_id,
            "paper_url": None,
            "metrics": [b.metric_name],
            "meta": {
                "eval_split": b.eval_split,
                "train_split": b.train_split,
                "hf_dataset_id": b.hf_dataset_id,
            },
            "description": {
                "en": {"full": b.description, "sections": {"overview": b.description}},
                "zh": None,
            },
        }
        for b in list_benchmarks()
    ]
    out: dict[str, Any] = {}
    if kind in ("", "text"):
        out["text"] = entries
    if kind in ("", "multimodal"):
        out["multimodal"] = []  # no multimodal benchmark is served
    return out


@router.get("/api/v1/tasks/active", summary="Tasks queued or running (EvalScope 1.14)")
def active_tasks(ctx: Context) -> dict[str, Any]:
    infos = []
    for row in tasks.active(ctx.manager.store):
        job = visible(ctx.manager.get(row["job_id"]))
        if job is not None and not job.is_final:
            infos.append(_task_info(ctx, row, job))
    return {"tasks": infos, "total": len(infos)}


@router.get("/api/v1/tasks/{task_id}", summary="One task, running or finished (EvalScope 1.14)")
def get_task(ctx: Context, task_id: str) -> dict[str, Any]:
    task_id = check_task_id(task_id, "task_id")
    row = tasks.lookup(ctx.manager.store, task_id)
    job = ctx.manager.get(row["job_id"]) if row else None
    if row is None or job is None:
        raise _error(404, "Task not found", "task_id")
    return _task_info(ctx, row, job)


@router.get("/api/v1/config", summary="Runtime configuration (EvalScope 1.14)")
def config(ctx: Context) -> dict[str, Any]:
    return {"outputs_root": str(ctx.settings.base_dir), "version": __version__}


def unsupported(request: Request) -> None:
    """1.14's run-archive routes: 501 pointing at the job list."""
    raise _error(
        501,
        f"{request.method} {request.url.path}: {UNSUPPORTED_ROUTE}; "
        "finished runs are listed by GET /api/v1/jobs",
    )


for _method, _path in _ARCHIVE_ROUTES:
    router.add_api_route(_path, unsupported, methods=[_method], include_in_schema=False)
