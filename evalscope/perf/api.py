"""The public perf entry point: ``run_perf`` = the engine's sweep (:func:`evalscope.perf.runner.benchmark`)
plus the run's ``report.html``, returning the result as today's JSON.

An entry module: it may import :mod:`evalscope.report`; the engine core (``evalscope.perf.runner``
and below) never does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalscope.errors import RunFailed
from evalscope.perf.arguments import PerfArguments
from evalscope.perf.runner import ProgressFn, abenchmark, run_blocking
from evalscope.rundir import RunDir


async def arun_perf(
    args: PerfArguments | dict[str, Any],
    progress: ProgressFn | None = None,
    *,
    run_dir: str | Path | RunDir | None = None,
    show_progress: bool | None = None,
    show_summary: bool | None = None,
) -> dict[str, Any]:
    """Run the sweep in the running event loop; see :func:`run_perf`."""
    from evalscope.report import try_write_report

    try:
        run = await abenchmark(
            args, progress, run_dir=run_dir, show_progress=show_progress, show_summary=show_summary
        )
    except RunFailed as exc:
        if exc.output_dir:  # every request failed: the report shows how
            try_write_report(exc.output_dir)
        raise
    try_write_report(run.output_dir)  # next to the sweep points; logs (never raises) on failure
    return run.as_json()


def run_perf(
    args: PerfArguments | dict[str, Any],
    progress: ProgressFn | None = None,
    *,
    run_dir: str | Path | RunDir | None = None,
    show_progress: bool | None = None,
    show_summary: bool | None = None,
) -> dict[str, Any]:
    """Run a perf sweep, write its report.html, and block until it ends.

    ``args`` is a :class:`PerfArguments` (or a dict validated into one). ``run_dir``: write exactly
    into that folder (a job passes its own); without it, a new ``<outputs_dir>/<timestamp>/<name>/``.
    ``progress(done, total)`` is called as requests finish (total = requests over all sweep points).
    Returns ``{"output_dir": ..., "results": {"parallel_<p>_number_<n>": {"metrics": ..., "percentiles":
    ...}}, "warnings": [...], "error_counts": {"total": n, "failed": k, "by_reason": {...}}}`` (a
    :class:`~evalscope.perf.results.PerfRun` as JSON). Raises :class:`evalscope.errors.RunFailed`
    (carrying that result when there is one) when the model cannot be reached or every request failed.
    Uses uvloop when installed; safe to call from a thread that already runs an event loop.
    """
    return run_blocking(
        lambda: arun_perf(
            args, progress, run_dir=run_dir, show_progress=show_progress, show_summary=show_summary
        )
    )
