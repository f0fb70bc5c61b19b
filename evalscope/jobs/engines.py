"""Job functions for the two engines; they run inside a worker process.

They call only the engines' public API (``evalscope.eval.run_task``, ``evalscope.perf.run_perf``)
and point the engine's output folder at the job's own folder.
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
    """Run a load test writing into the job folder."""
    from evalscope.perf import PerfArguments, run_perf

    cfg = dict(config)
    cfg["outputs_dir"] = str(ctx.output_dir)
    return run_perf(PerfArguments.model_validate(cfg), progress=ctx.progress)
