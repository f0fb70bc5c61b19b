"""The eval engine: ``TaskConfig`` + ``run_task``; benchmarks in ``evalscope.eval.benchmarks``."""

from evalscope.eval.config import DatasetArgs, GenerationConfig, TaskConfig
from evalscope.eval.runner import EvalError, arun_task, run_task

__all__ = ["DatasetArgs", "EvalError", "GenerationConfig", "TaskConfig", "arun_task", "run_task"]
