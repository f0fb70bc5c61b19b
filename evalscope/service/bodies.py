"""The request bodies of the eval and perf routes, and how one becomes a job config.

An :class:`EngineRoute` binds an engine's own validated model (``TaskConfig``, ``PerfArguments``,
imported statically: the engines are part of the package and need only core dependencies) to the
output-folder field, the engine's cheap submission checks and the seed's success answer.

Local paths in a body are found by their declared type (``evalscope.paths``), not by a list of field
names: every value whose field carries a ``PathMarker`` is confined to the service's work dir (outputs,
earlier runs) or its data dirs (data), must exist, and reaches the engine as the checked absolute path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evalscope.eval import TaskConfig
from evalscope.eval.loading import check_sources
from evalscope.fieldnames import http_error, summary
from evalscope.jobs import Job, PathOutsideBase, resolve_under
from evalscope.jobs.paths import UnusablePath
from evalscope.paths import PathMarker, marked_values
from evalscope.perf import PerfArguments
from evalscope.perf.prompts import check_prompts
from evalscope.rundir import RunDir
from evalscope.service.errors import ApiError

OUTSIDE = "local paths must lie inside the service's work dir or a configured data dir"


class FieldProblem(ValueError):
    """A body field that cannot be accepted; becomes one entry of a 400 answer."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class EngineRoute:
    """How a request body for one engine becomes a job config, and a finished job the seed's answer."""

    kind: str  # the job kind (eval, perf)
    model: type[BaseModel]  # the engine's validated body model
    dir_field: str  # body field naming the output folder (confined, then replaced)
    check: Callable[
        [Any], list[tuple[str, str]]
    ]  # the engine's cheap checks of a config -> [(field, reason)]
    answer: Callable[[Job], dict[str, Any]]  # the seed's success answer for a finished job

    def to_config(self, body: BaseModel, base: Path, data_roots: list[Path]) -> tuple[dict[str, Any], Path]:
        """The job config and the parent folder of the job's own folder; 400 naming the field on a
        path outside the service's folders, a missing file, or settings the run would fail on."""
        parent = base
        config = body.model_dump(mode="json")
        problems: list[FieldProblem] = []
        for name, marker, value in marked_values(body):
            local = marker.local_part(value)
            if local is None:
                continue  # a hub id or inline text
            if name == self.dir_field and name not in body.model_fields_set:
                continue  # the default output folder: the service's work dir itself
            try:
                resolved = confine(name, marker, local, base, data_roots)
            except FieldProblem as exc:
                problems.append(exc)
                continue
            if name == self.dir_field:
                parent = resolved
            else:
                # The engine runs in another process with another cwd: it gets the checked absolute
                # path, never the raw (possibly relative) string, so what was checked is what is read.
                _set_path(config, name, marker.with_path(value, str(resolved)))
        config.pop(self.dir_field, None)  # the job function sets the job's own folder
        if not problems:
            problems = self._check(body, config)
        if problems:
            pairs = [(p.field, p.reason) for p in problems]
            raise ApiError(400, f"Invalid request: {summary(pairs)}", [http_error(p) for p in pairs])
        return config, parent

    def _check(self, body: BaseModel, config: dict[str, Any]) -> list[FieldProblem]:
        """The engine's own cheap checks on the config as the worker will get it (validated by the
        body's own model: a route may extend the engine's, e.g. distributed perf's ``shards``)."""
        return [FieldProblem(f, r) for f, r in self.check(type(body).model_validate(config))]


def confine(name: str, marker: PathMarker, value: str, base: Path, data_roots: list[Path]) -> Path:
    """The checked absolute path of field ``name``; FieldProblem when it is outside the service's
    folders (outputs and earlier runs: the work dir; data: the work dir or a data dir) or, for data
    and earlier runs, missing."""
    roots = [base] if marker.role == "output" else [base, *data_roots]
    try:
        path = _confine(value, roots)
    except UnusablePath as exc:
        raise FieldProblem(name, str(exc)) from None
    if path is None:
        raise FieldProblem(name, OUTSIDE)
    if marker.role == "output":
        return path
    if marker.role == "run":
        _check_run_dir(name, value, path, base)
        return path
    kinds = {
        "file": (Path.is_file, "file"),
        "dir": (Path.is_dir, "folder"),
        "any": (Path.exists, "file or folder"),
    }
    test, what = kinds[marker.expect]
    if not test(path):
        raise FieldProblem(name, f"no {what} {value} in the service's work dir or data dirs")
    return path


def _check_run_dir(name: str, value: str, path: Path, base: Path) -> None:
    """An earlier run's folder: it exists, holds a run's config.json, and is not a folder of many runs
    (the work dir, a parent of jobs): copying it would copy other jobs and the service's database."""
    if not path.is_dir():
        raise FieldProblem(name, f"no folder {value} in the service's work dir or data dirs")
    if path == base or base.is_relative_to(path) or (path / "service.db").exists():
        raise FieldProblem(name, "must name the folder of one earlier run or job, not the service's work dir")
    if not RunDir(
        path
    ).is_run():  # an engine ran there (a job that failed before its run holds nothing to reuse)
        raise FieldProblem(name, "not the folder of an earlier run or job (it holds no config.json)")
    if any(is_run_dir(sub) for sub in path.iterdir() if sub.is_dir()):
        raise FieldProblem(name, "holds the folders of other runs; name the folder of one earlier run or job")


def is_run_dir(path: Path) -> bool:
    """True for the folder of a run (it holds an engine's config.json) or of a job (its job.json),
    also a job whose run never started."""
    run = RunDir(path)
    return run.is_run() or run.is_job()


def _confine(value: str, roots: list[Path]) -> Path | None:
    """The path inside one of ``roots`` (relative paths: the first root where it exists), or None.
    UnusablePath when the value itself is unacceptable (a null byte, over-long names)."""
    inside: list[Path] = []
    for root in roots:
        try:
            inside.append(resolve_under(root, value))
        except UnusablePath:
            raise
        except PathOutsideBase:
            continue
    if inside:
        return next((p for p in inside if p.exists()), inside[0])
    return None


def _set_path(config: dict[str, Any], dotted: str, value: str) -> None:
    *parents, last = dotted.split(".")
    node: Any = config
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _outcome_fields(result: dict[str, Any]) -> dict[str, Any]:
    # A partly failed run still succeeds, and says so: its warnings and error counts travel along.
    return {"warnings": result.get("warnings") or [], "error_counts": result.get("error_counts")}


def _eval_answer(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {
        "status": "success",
        "message": "Evaluation completed",
        "result": result.get("result", {}),
        "output_dir": result.get("output_dir") or job.output_dir,
        "job_id": job.id,
        **_outcome_fields(result),
    }


def _perf_answer(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {
        "status": "success",
        "message": "Performance test completed",
        "output_dir": result.get("output_dir") or job.output_dir,
        "results": result.get("results", {}),
        "job_id": job.id,
        **_outcome_fields(result),
    }


class DistributedPerfBody(PerfArguments):
    """A load test split over ``shards`` workers (the Celery executor's ``perf_distributed`` jobs)."""

    shards: int = Field(2, ge=1, le=256, description="workers (Celery task slots) the load is split over")


EVAL = EngineRoute("eval", TaskConfig, "work_dir", check_sources, _eval_answer)
PERF = EngineRoute("perf", PerfArguments, "outputs_dir", check_prompts, _perf_answer)
#: the engine routes by job kind
ENGINE_ROUTES: dict[str, EngineRoute] = {"eval": EVAL, "perf": PERF}
