"""The two engine kinds as the service sees them: body model, output-folder field, the checks run at
submission, and the seed's success answer.

Local paths in a body are found by their declared type (``evalscope.paths``), not by a list of field
names: every value whose field carries a ``PathMarker`` is confined to the service's work dir (outputs,
earlier runs) or its data dirs (data), must exist, and reaches the engine as the checked absolute path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evalscope.jobs import Job, PathOutsideBase, resolve_under
from evalscope.jobs.paths import UnusablePath
from evalscope.paths import PathMarker, marked_values
from evalscope.service.errors import ApiError

#: files that mark the folder of a run: an engine's config.json (the job's config.json too)
RUN_MARKERS = ("config.json",)
OUTSIDE = "local paths must lie inside the service's work dir or a configured data dir"


class FieldProblem(ValueError):
    """A body field that cannot be accepted; becomes one entry of a 400 answer."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class EngineKind:
    """How a request body for one engine becomes a job config."""

    kind: str
    model_path: str                      # "module:Class" of the validated body model
    done_message: str                    # the seed's success message
    dir_field: str                       # body field naming the output folder (confined, then replaced)
    check_path: str                      # "module:function": cheap checks of a config -> [(field, reason)]
    answer: Callable[[Job], dict[str, Any]]
    model: type[BaseModel] | None = field(default=None, init=False)
    missing: str | None = field(default=None, init=False)

    def load(self) -> EngineKind:
        module_name, _, cls = self.model_path.partition(":")
        try:
            self.model = getattr(importlib.import_module(module_name), cls)
        except Exception as exc:  # noqa: BLE001 - reported as 503 on the route
            self.missing = f"the {self.kind} engine is not available in this installation ({exc})"
        return self

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
            summary = "; ".join(str(p) for p in problems[:5])
            raise ApiError(400, f"Invalid request: {summary}", [{"field": p.field, "reason": p.reason}
                                                                for p in problems])
        return config, parent

    def _check(self, body: BaseModel, config: dict[str, Any]) -> list[FieldProblem]:
        """The engine's own cheap checks on the config as the worker will get it (validated by the
        body's own model: a route may extend the engine's, e.g. distributed perf's ``shards``)."""
        module_name, _, func = self.check_path.partition(":")
        check = getattr(importlib.import_module(module_name), func)
        return [FieldProblem(f, r) for f, r in check(type(body).model_validate(config))]


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
    kinds = {"file": (Path.is_file, "file"), "dir": (Path.is_dir, "folder"), "any": (Path.exists, "file or folder")}
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
    if not is_run_dir(path):
        raise FieldProblem(name, "not the folder of an earlier run or job (it holds no config.json)")
    if any(is_run_dir(sub) for sub in path.iterdir() if sub.is_dir()):
        raise FieldProblem(name, "holds the folders of other runs; name the folder of one earlier run or job")


def is_run_dir(path: Path) -> bool:
    """True for the folder of a run or job (it holds a run marker such as config.json)."""
    return any((path / m).is_file() for m in RUN_MARKERS)


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
    return {"status": "success", "message": "Evaluation completed", "result": result.get("result", {}),
            "output_dir": result.get("output_dir") or job.output_dir, "job_id": job.id,
            **_outcome_fields(result)}


def _perf_answer(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {"status": "success", "message": "Performance test completed",
            "output_dir": result.get("output_dir") or job.output_dir, "results": result.get("results", {}),
            "job_id": job.id, **_outcome_fields(result)}


def engine_kinds() -> dict[str, EngineKind]:
    """The eval and perf kinds, with their body models imported (or the reason they are missing)."""
    return {
        "eval": EngineKind("eval", "evalscope.eval:TaskConfig", "Evaluation completed", "work_dir",
                           "evalscope.eval.loading:check_sources", _eval_answer).load(),
        "perf": EngineKind("perf", "evalscope.perf:PerfArguments", "Performance test completed", "outputs_dir",
                           "evalscope.perf.prompts:check_prompts", _perf_answer).load(),
    }
