"""Job functions for the two engines; they run inside a worker process.

They call the engines' typed cores (``evalscope.eval.runner.evaluate``,
``evalscope.perf.runner.benchmark``) with the job's own folder as the exact run folder, then write
report.html (plotly.js left out: the service serves it once and puts it back in the files it hands out).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalscope.jobs.kinds import JobContext
from evalscope.rundir import CONFIG_FILE, JOB_FILE, LOG_FILE, RunDir


def run_eval_job(config: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Run an evaluation that writes straight into the job folder, then its report.html.

    The engine writes exactly into ``ctx.output_dir``; a resumed job continues from the samples
    already saved there.  A ``use_cache`` given by the user (a previous run's folder) is copied in
    first, so the old run's folder is never written to, and the run resumes from that copy.
    Returns the run's JSON (``EvalRun``); RunFailed carries it when nothing could be scored.
    """
    import asyncio

    from evalscope.errors import RunFailed
    from evalscope.eval.config import TaskConfig
    from evalscope.eval.runner import evaluate
    from evalscope.report import try_write_report

    cfg = TaskConfig.model_validate(config)
    previous = cfg.use_cache
    if previous and not ctx.resume:
        shutil.copytree(previous, ctx.output_dir, dirs_exist_ok=True, ignore=_not_copied(Path(previous)))
    try:
        run = asyncio.run(
            evaluate(
                cfg, ctx.progress, run_dir=ctx.output_dir, resume=ctx.resume or bool(previous), live=True
            )
        )
    except RunFailed as exc:
        if exc.result is not None:  # reports were written: the job keeps its report.html too
            try_write_report(ctx.output_dir, plotly="service")
        raise
    try_write_report(run.output_dir, plotly="service")
    return run.to_json()


def _not_copied(root: Path) -> Callable[[str, list[str]], set[str]]:
    """What copying an earlier run leaves behind: its config, job metadata and logs, the service's
    database and temporary files, and any folder of another run or job inside it (the service checks
    use_cache names one run, this keeps the copy to that run's own files even if the folder changed since)."""
    own_files = {CONFIG_FILE, JOB_FILE, Path(LOG_FILE).parts[0]}

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        skip = {n for n in names if n.startswith("service.db") or n.endswith(".tmp")}
        if here == root:
            skip |= own_files & set(names)
        skip |= {
            n
            for n in names
            if (here / n).is_dir() and (RunDir(here / n).is_run() or RunDir(here / n).is_job())
        }
        return skip

    return ignore


def run_perf_job(config: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Run a load test writing exactly into the job folder (``<job>/parallel_*``), then its report.html.

    Returns the run's JSON (``PerfRun``); RunFailed carries it when every request failed.
    """
    from evalscope.errors import RunFailed
    from evalscope.perf.arguments import PerfArguments
    from evalscope.perf.runner import benchmark
    from evalscope.report import try_write_report

    try:
        run = benchmark(
            PerfArguments.model_validate(config), progress=ctx.progress, run_dir=ctx.output_dir, live=True
        )
    except RunFailed as exc:
        if exc.output_dir:  # the sweep was written: the job keeps its report.html too
            try_write_report(exc.output_dir, plotly="service")
        raise
    try_write_report(run.output_dir, plotly="service")
    return run.as_json()
