"""Job functions for the two engines; they run inside a worker process.

They call the engines' typed cores (``evalscope.eval.runner.evaluate``,
``evalscope.perf.runner.benchmark``) with the job's own folder as the exact run folder, then write
report.html.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalscope.jobs.kinds import JobContext


def run_eval_job(config: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Run an evaluation that writes straight into the job folder.

    The engine's ``use_cache`` always names the job folder: a first run finds no cache, a resumed
    run continues from the samples already saved there.  A ``use_cache`` given by the user (a
    previous run's folder) is copied in first, so the old run's folder is never written to.
    """
    from evalscope.eval import TaskConfig, run_task

    cfg = dict(config)
    previous = cfg.get("use_cache")
    if previous and not ctx.resume:
        shutil.copytree(previous, ctx.output_dir, dirs_exist_ok=True, ignore=_not_copied(Path(previous)))
    cfg["work_dir"] = str(ctx.output_dir)
    cfg["use_cache"] = str(ctx.output_dir)
    return run_task(TaskConfig.model_validate(cfg), progress=ctx.progress)


def _not_copied(root: Path) -> Callable[[str, list[str]], set[str]]:
    """What copying an earlier run leaves behind: its config and logs, the service's database and
    temporary files, and any folder of another run inside it (the service checks use_cache names one
    run, this keeps the copy to that run's own files even if the folder changed since)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        skip = {n for n in names if n.startswith("service.db") or n.endswith(".tmp")}
        if here == root:
            skip |= {"config.json", "logs"} & set(names)
        skip |= {n for n in names if (here / n).is_dir() and (here / n / "config.json").is_file()}
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
        run = benchmark(PerfArguments.model_validate(config), progress=ctx.progress, run_dir=ctx.output_dir)
    except RunFailed as exc:
        if exc.output_dir:  # the sweep was written: the job keeps its report.html too
            try_write_report(exc.output_dir)
        raise
    try_write_report(run.output_dir)
    return run.as_json()
