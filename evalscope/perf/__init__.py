"""The load tester behind ``evalscope perf``: ``PerfArguments`` in, metrics and records out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalscope._lazy import lazy_exports

if TYPE_CHECKING:
    from evalscope.perf.arguments import PerfArguments
    from evalscope.perf.runner import arun_perf, run_perf

__all__ = ["PerfArguments", "arun_perf", "run_perf"]
__getattr__ = lazy_exports(__name__, {
    "PerfArguments": "evalscope.perf.arguments",
    "arun_perf": "evalscope.perf.runner",
    "run_perf": "evalscope.perf.runner",
})
