"""The eval engine: ``TaskConfig`` + ``run_task``; benchmarks in ``evalscope.eval.benchmarks``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalscope._lazy import lazy_exports

if TYPE_CHECKING:
    from evalscope.eval.config import DatasetArgs, GenerationConfig, TaskConfig
    from evalscope.eval.runner import EvalError, arun_task, run_task

__all__ = ["DatasetArgs", "EvalError", "GenerationConfig", "TaskConfig", "arun_task", "run_task"]
__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(("DatasetArgs", "GenerationConfig", "TaskConfig"), "evalscope.eval.config"),
    **dict.fromkeys(("EvalError", "arun_task", "run_task"), "evalscope.eval.runner"),
})
