"""Job kinds: a name bound to a job function that a worker process imports and runs.

A job function has the signature ``fn(config: dict, ctx: JobContext) -> dict`` and must be
importable by dotted path (``"package.module:function"``), because it runs in a separate, warm
worker process.  The built-in kinds are ``eval`` and ``perf``; :func:`register_kind` (or the
``EVALSCOPE_JOB_KINDS`` environment variable, ``name=module:function,...``) adds more, e.g. the
test suite's controllable job.  Kinds must be registered before the service starts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_KINDS = "EVALSCOPE_JOB_KINDS"


@dataclass(frozen=True)
class JobKind:
    """A kind of job: ``target`` is ``"module:function"``; ``preload`` modules are imported when a
    worker starts so that a job does not pay their import time."""

    name: str
    target: str
    preload: tuple[str, ...] = ()


@dataclass
class JobContext:
    """What a job function gets besides its config."""

    job_id: str
    output_dir: Path
    resume: bool = False
    attempt: int = 1
    progress: Callable[[int, int | None], None] = field(default=lambda done, total: None)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("evalscope.job"))


BUILTIN_KINDS: dict[str, JobKind] = {
    "eval": JobKind("eval", "evalscope.jobs.engines:run_eval_job", ("evalscope.eval",)),
    "perf": JobKind("perf", "evalscope.jobs.engines:run_perf_job", ("evalscope.perf",)),
}
_registered: dict[str, JobKind] = {}


def register_kind(name: str, target: str, preload: tuple[str, ...] | list[str] = ()) -> JobKind:
    """Register an extra job kind (call before the service starts)."""
    if ":" not in target:
        raise ValueError(f"job kind {name!r}: target must be 'module:function', got {target!r}")
    kind = JobKind(name, target, tuple(preload))
    _registered[name] = kind
    return kind


def kinds_from_env(value: str | None = None) -> dict[str, JobKind]:
    """Parse ``EVALSCOPE_JOB_KINDS`` (``name=module:function`` separated by commas)."""
    if value is None:
        from evalscope.settings import settings

        value = settings().job_kinds
    out: dict[str, JobKind] = {}
    for item in filter(None, (x.strip() for x in value.split(","))):
        name, sep, target = item.partition("=")
        if not sep or ":" not in target:
            raise ValueError(f"{ENV_KINDS}: expected name=module:function, got {item!r}")
        out[name.strip()] = JobKind(name.strip(), target.strip())
    return out


def all_kinds(extra: dict[str, str] | None = None) -> dict[str, JobKind]:
    """Built-in kinds, then registered ones, then ``EVALSCOPE_JOB_KINDS``, then ``extra``."""
    kinds = dict(BUILTIN_KINDS)
    kinds.update(_registered)
    kinds.update(kinds_from_env())
    for name, target in (extra or {}).items():
        kinds[name] = JobKind(name, target)
    return kinds


def resolve_target(target: str) -> Callable[[dict[str, Any], JobContext], dict[str, Any]]:
    """Import ``module:function``."""
    module_name, _, func_name = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, func_name)
