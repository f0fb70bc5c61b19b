"""The load tester behind ``evalscope perf``: ``PerfArguments`` in, metrics and records out.

``run_perf`` (report included, JSON out) is the entry point; ``benchmark`` the engine core (a typed
``PerfRun`` out); the results' models and the run folder's read/write functions are public too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalscope._lazy import lazy_exports

if TYPE_CHECKING:  # (not the entry module evalscope.perf.api: an engine imports nothing above it)
    from evalscope.perf.arguments import PerfArguments
    from evalscope.perf.loadgen import ShardPlan, run_shard
    from evalscope.perf.output import read_perf_run, read_point, read_records, write_point
    from evalscope.perf.records import RequestRecord
    from evalscope.perf.results import PerfRun, PointMetrics, PointPercentiles, PointResult
    from evalscope.perf.runner import abenchmark, benchmark, plan_shards

__all__ = [
    "PerfArguments",
    "PerfRun",
    "PointMetrics",
    "PointPercentiles",
    "PointResult",
    "RequestRecord",
    "ShardPlan",
    "abenchmark",
    "arun_perf",
    "benchmark",
    "plan_shards",
    "read_perf_run",
    "read_point",
    "read_records",
    "run_perf",
    "run_shard",
    "write_point",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "PerfArguments": "evalscope.perf.arguments",
        "abenchmark": "evalscope.perf.runner",
        "benchmark": "evalscope.perf.runner",
        "plan_shards": "evalscope.perf.runner",
        "ShardPlan": "evalscope.perf.loadgen",
        "run_shard": "evalscope.perf.loadgen",
        "RequestRecord": "evalscope.perf.records",
        "PerfRun": "evalscope.perf.results",
        "PointMetrics": "evalscope.perf.results",
        "PointPercentiles": "evalscope.perf.results",
        "PointResult": "evalscope.perf.results",
        "read_perf_run": "evalscope.perf.output",
        "read_point": "evalscope.perf.output",
        "read_records": "evalscope.perf.output",
        "write_point": "evalscope.perf.output",
        # the entry module (core run + report.html): resolved when a user asks for it
        "arun_perf": "evalscope.perf.api",
        "run_perf": "evalscope.perf.api",
    },
)
