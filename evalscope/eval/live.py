"""An evaluation's live view: each benchmark's partial score and state counts so far, written to
``live.json`` in the run folder about once a second while a job runs (the service streams it to the
job's live page).

The partial score is the mean sample score over the samples scored so far (``error`` samples are
not scored, as in the final report); a benchmark's final score is the report's, not this.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evalscope.eval.results import SampleResult
from evalscope.eval.scoring import STATES
from evalscope.fsio import atomic_write_json

#: at most one write of live.json per this many seconds
WRITE_EVERY_S = 1.0


class _Bench:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.scored = 0
        self.score_sum = 0.0
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.latency: list[float] = []
        self.tokens = 0

    def add(self, r: SampleResult) -> None:
        self.done += 1
        self.counts[r.state] += 1
        if r.state == "error":
            self.reasons[r.error_reason or "unknown"] += 1
        else:
            self.scored += 1
            self.score_sum += r.score
        if r.latency is not None:
            self.latency.append(r.latency)
        tokens = r.usage.get("completion_tokens") if r.usage else None
        if isinstance(tokens, int):
            self.tokens += tokens

    def view(self) -> dict[str, Any]:
        lat = self.latency
        return {
            "done": self.done,
            "total": self.total,
            "score": round(self.score_sum / self.scored, 6) if self.scored else None,
            "scored": self.scored,
            "counts": {s: self.counts.get(s, 0) for s in STATES},
            "errors_by_reason": dict(self.reasons.most_common()),
            "latency_p50": round(float(np.percentile(lat, 50)), 4) if lat else None,
            "latency_p99": round(float(np.percentile(lat, 99)), 4) if lat else None,
            "output_tokens": self.tokens,
        }


class EvalLiveView:
    """The running evaluation, for ``live.json``."""

    def __init__(self, path: Path, totals: dict[str, int]) -> None:
        self.path = path
        self.benches = {name: _Bench(n) for name, n in totals.items()}
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC).isoformat()
        self.current: str | None = None
        self.asked = 0  # samples answered in this run (not from the cache): the remaining-time rate
        self.last_write = 0.0
        self.state = "running"

    def add(self, benchmark: str, result: SampleResult, *, cached: bool = False) -> None:
        """A sample finished (``cached``: taken from an earlier run's predictions)."""
        bench = self.benches.get(benchmark)
        if bench is None:
            bench = self.benches[benchmark] = _Bench(0)
        bench.add(result)
        if not cached:
            self.current = benchmark
            self.asked += 1

    def snapshot(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.started
        done = sum(b.done for b in self.benches.values())
        total = sum(b.total for b in self.benches.values())
        remaining = None
        if self.state == "running" and self.asked and done < total:
            remaining = round(elapsed * (total - done) / self.asked, 1)
        reasons: Counter[str] = Counter()
        for b in self.benches.values():
            reasons.update(b.reasons)
        return {
            "kind": "eval",
            "state": self.state,
            "started_at": self.started_at,
            "updated_at": datetime.now(UTC).isoformat(),
            "elapsed_s": round(elapsed, 1),
            "remaining_s": remaining,
            "done": done,
            "total": total,
            "current": self.current,
            "failed": sum(reasons.values()),
            "errors_by_reason": dict(reasons.most_common()),
            "benchmarks": {name: b.view() for name, b in self.benches.items()},
        }

    def maybe_write(self) -> None:
        """Write ``live.json`` when the last write is older than :data:`WRITE_EVERY_S`."""
        if time.perf_counter() - self.last_write >= WRITE_EVERY_S:
            self.write()

    def write(self) -> None:
        self.last_write = time.perf_counter()
        try:
            atomic_write_json(self.path, self.snapshot(), indent=None)
        except OSError:
            pass  # advisory: a full disk fails the run's own files, not this

    def close(self, state: str) -> None:
        """The run ended (``finished``, ``failed``): the last snapshot stays in the folder."""
        self.state = state
        self.write()
