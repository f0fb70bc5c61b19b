"""Job functions for the two engines; they run inside a worker process.

They call only the engines' public API (``evalscope.eval.run_task``, ``evalscope.perf.run_perf``)
and point the engine's output folder at the job's own folder.
"""

from __future__ import annotations

from typing import Any

from evalscope.jobs.kinds import JobContext


def run_eval_job(config: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Run an evaluation; on resume the engine continues from the job folder's cache."""
    from evalscope.eval import TaskConfig, run_task

    cfg = dict(config)
    cfg["work_dir"] = str(ctx.output_dir)
    if ctx.resume:
        cfg["use_cache"] = str(ctx.output_dir)
    return run_task(TaskConfig.model_validate(cfg), progress=ctx.progress)


def run_perf_job(config: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Run a load test writing into the job folder."""
    from evalscope.perf import PerfArguments, run_perf

    cfg = dict(config)
    cfg["outputs_dir"] = str(ctx.output_dir)
    return run_perf(PerfArguments.model_validate(cfg), progress=ctx.progress)
