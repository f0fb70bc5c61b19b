"""The two engine kinds as the service sees them: body model, output-folder field, local paths a
request may name (confined), and the seed's success answer."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evalscope.jobs import Job, PathOutsideBase, resolve_under
from evalscope.service.errors import ApiError


@dataclass
class EngineKind:
    """How a request body for one engine becomes a job config."""

    kind: str
    model_path: str                      # "module:Class" of the validated body model
    done_message: str                    # the seed's success message
    dir_field: str                       # body field naming the output folder (confined, then replaced)
    path_fields: Callable[[BaseModel], list[tuple[str, str]]]  # (field, path) pairs to confine
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
        """The job config and the parent folder of the job's own folder; 400 on a path outside."""
        parent = base
        try:
            if self.dir_field in body.model_fields_set:
                parent = resolve_under(base, getattr(body, self.dir_field))
        except PathOutsideBase as exc:
            raise ApiError(400, f"Invalid request: {self.dir_field}: {exc}",
                           [{"field": self.dir_field, "reason": str(exc)}]) from None
        config = body.model_dump(mode="json")
        for name, value in self.path_fields(body):
            # The engine runs in another process with another cwd: it gets the checked absolute path,
            # never the raw (possibly relative) string, so what was checked is what is read.
            resolved = str(_confine(name, value, [base, *data_roots]))
            _set_path(config, name, "@" + resolved if _is_file_ref(config, name) else resolved)
        config.pop(self.dir_field, None)  # the job function sets the job's own folder
        return config, parent


def _confine(name: str, value: str, roots: list[Path]) -> Path:
    """The path inside one of ``roots`` (relative paths: the first root where it exists); else 400."""
    inside: list[Path] = []
    for root in roots:
        try:
            inside.append(resolve_under(root, value))
        except PathOutsideBase:
            continue
    if inside:
        return next((p for p in inside if p.exists()), inside[0])
    reason = "local paths must lie inside the service's work dir or a configured data dir"
    raise ApiError(400, f"Invalid request: {name}: {reason}", [{"field": name, "reason": reason}])


def _is_file_ref(config: dict[str, Any], dotted: str) -> bool:
    value = _get_path(config, dotted)
    return dotted in ("prompt", "query_template") and isinstance(value, str) and value.startswith("@")


def _get_path(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        node = node[key]
    return node


def _set_path(config: dict[str, Any], dotted: str, value: str) -> None:
    *parents, last = dotted.split(".")
    node: Any = config
    for key in parents:
        node = node[key]
    node[last] = value


def _eval_paths(body: Any) -> list[tuple[str, str]]:
    out = []
    if body.use_cache:
        out.append(("use_cache", body.use_cache))
    if body.dataset_dir:
        out.append(("dataset_dir", body.dataset_dir))
    for name, args in (body.dataset_args or {}).items():
        if args.local_path:
            out.append((f"dataset_args.{name}.local_path", args.local_path))
    return out


def _perf_paths(body: Any) -> list[tuple[str, str]]:
    out = []
    for name in ("dataset_path", "tokenizer_path"):
        if getattr(body, name, None):
            out.append((name, getattr(body, name)))
    for name in ("prompt", "query_template"):
        value = getattr(body, name, None)
        if isinstance(value, str) and value.startswith("@"):  # "@file" reads a server file
            out.append((name, value[1:]))
    return out


def _eval_answer(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {"status": "success", "message": "Evaluation completed", "result": result.get("result", {}),
            "output_dir": result.get("output_dir") or job.output_dir, "job_id": job.id}


def _perf_answer(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {"status": "success", "message": "Performance test completed",
            "output_dir": result.get("output_dir") or job.output_dir, "results": result.get("results", {}),
            "job_id": job.id}


def engine_kinds() -> dict[str, EngineKind]:
    """The eval and perf kinds, with their body models imported (or the reason they are missing)."""
    return {
        "eval": EngineKind("eval", "evalscope.eval:TaskConfig", "Evaluation completed", "work_dir",
                           _eval_paths, _eval_answer).load(),
        "perf": EngineKind("perf", "evalscope.perf:PerfArguments", "Performance test completed", "outputs_dir",
                           _perf_paths, _perf_answer).load(),
    }
