"""The eval engine's public entry: ``run_task`` = the core run (:func:`evalscope.eval.runner.evaluate`)
plus ``report.html`` in the run folder.  An entry module (it may import ``evalscope.report``); the
engine core never does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from evalscope.errors import RunFailed
from evalscope.eval.config import TaskConfig
from evalscope.eval.results import EvalRun
from evalscope.eval.runner import Progress, evaluate
from evalscope.rundir import RunDir

__all__ = ["arun_task", "run_task"]


def _write_html(folder: str | Path) -> None:
    from evalscope.report import try_write_report

    try_write_report(folder)  # report.html in the run folder; logs (never raises) on failure


async def arun_task(
    cfg: TaskConfig,
    progress: Progress | None = None,
    *,
    run_dir: Path | str | RunDir | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Coroutine form of :func:`run_task`."""
    try:
        run: EvalRun = await evaluate(cfg, progress, run_dir=run_dir, resume=resume)
    except RunFailed as exc:
        if exc.result is not None and exc.output_dir:  # reports were written: show them too
            _write_html(exc.output_dir)
        raise
    _write_html(run.output_dir)
    return run.to_json()


def run_task(
    cfg: TaskConfig | dict[str, Any],
    progress: Progress | None = None,
    *,
    run_dir: Path | str | RunDir | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Run an evaluation and block until it finishes.

    Returns ``{"output_dir": "/abs/...", "result": {"<benchmark>": <report json>, ...},
    "warnings": [...], "error_counts": {"total": n, "failed": k, "by_reason": {...}}}``
    (:class:`evalscope.eval.results.EvalRun` as JSON).
    ``progress(done, total)`` is called as samples finish (cached ones count as done at once).
    ``run_dir``: write exactly into that folder (default: a fresh ``<work_dir>/<ts>_<id>/``, or the
    ``use_cache`` folder to resume); ``resume=True`` continues from the predictions already in it.
    Raises :class:`evalscope.errors.RunFailed` (with ``output_dir`` and that result) when the model
    cannot be reached or not one sample could be scored.
    """
    if not isinstance(cfg, TaskConfig):
        cfg = TaskConfig.model_validate(cfg)
    return asyncio.run(arun_task(cfg, progress, run_dir=run_dir, resume=resume))
