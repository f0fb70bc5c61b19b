"""The eval engine: ``TaskConfig`` + ``run_task``; typed results (``EvalRun``, ``read_run``) in
``evalscope.eval.results``; benchmarks in ``evalscope.eval.benchmarks``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalscope._lazy import lazy_exports

if TYPE_CHECKING:  # (not the entry module evalscope.eval.api: an engine imports nothing above it)
    from evalscope.eval.config import DatasetArgs, GenerationConfig, TaskConfig
    from evalscope.eval.results import BenchmarkReport, EvalRun, SampleResult, read_run
    from evalscope.eval.runner import EvalError, evaluate
    from evalscope.eval.scoring import Score, Scorer

__all__ = [
    "BenchmarkReport",
    "DatasetArgs",
    "EvalError",
    "EvalRun",
    "GenerationConfig",
    "SampleResult",
    "Score",
    "Scorer",
    "TaskConfig",
    "arun_task",
    "evaluate",
    "read_run",
    "run_task",
]
__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("DatasetArgs", "GenerationConfig", "TaskConfig"), "evalscope.eval.config"),
        **dict.fromkeys(("EvalError", "evaluate"), "evalscope.eval.runner"),
        **dict.fromkeys(("BenchmarkReport", "EvalRun", "SampleResult", "read_run"), "evalscope.eval.results"),
        **dict.fromkeys(("Score", "Scorer"), "evalscope.eval.scoring"),
        # the entry module (core run + report.html): resolved when a user asks for it
        **dict.fromkeys(("arun_task", "run_task"), "evalscope.eval.api"),
    },
)
