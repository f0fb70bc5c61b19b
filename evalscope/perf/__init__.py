"""The load tester behind ``evalscope perf``: ``PerfArguments`` in, metrics and records out."""

from evalscope.perf.arguments import PerfArguments
from evalscope.perf.runner import arun_perf, run_perf

__all__ = ["PerfArguments", "arun_perf", "run_perf"]
