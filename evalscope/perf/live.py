"""A load test's live view: the sweep so far, written to ``live.json`` in the run folder about once a
second while a job runs (the service streams it to the job's live page).

The load processes hand over compact rows of the requests finished since their last tick
(:func:`live_rows`, the definitions of :mod:`evalscope.perf.metrics`); :class:`LiveView` keeps the
current point's values and writes the snapshot.  Nothing here is on the request hot path: rows are
made in the 100 ms progress tick, from the records already appended.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evalscope.fsio import atomic_write_json
from evalscope.perf.metrics import inter_token_latencies
from evalscope.perf.records import RequestRecord

#: the window of the rolling requests/s and tokens/s
WINDOW_S = 5.0
#: at most one write of live.json per this many seconds (a point's end is always written)
WRITE_EVERY_S = 1.0

#: (end, failure reason or None, ttft, latency, output tokens, ITL values)
LiveRow = tuple[float, str | None, float | None, float, int | None, list[float]]


def live_rows(records: list[RequestRecord]) -> list[LiveRow]:
    """The live rows of finished requests (ramp-up requests are left out, as in the metrics)."""
    rows: list[LiveRow] = []
    for r in records:
        if r.ramp:
            continue
        if r.reason is not None:
            rows.append((r.end, r.reason, None, r.end - r.intended, None, []))
            continue
        ttft = (r.out_times[0] - r.intended) if len(r.out_times) else None
        n_out = r.completion_tokens
        itl = inter_token_latencies(r, n_out)[0] if len(r.out_times) > 1 else []
        rows.append((r.end, None, ttft, r.end - r.intended, n_out, itl))
    return rows


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 6) if values else None


class LiveView:
    """The running sweep, for ``live.json``: the current point's rolling rates, TTFT/ITL/latency
    percentiles so far and failures by reason, the finished points, elapsed and remaining time."""

    def __init__(self, path: Path, pairs: list[tuple[int, int]], total: int | None = None) -> None:
        self.path = path
        self.pairs = pairs  # an SLO search appends each load's (parallel, requests) as it goes
        self.total = sum(n for _, n in pairs) if total is None else total
        #: an SLO search's state (evalscope.perf.slo_search Search.live): the load now, the loads tried;
        #: its total is the request budget, so no time remaining is estimated from it
        self.search: dict[str, Any] | None = None
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC).isoformat()
        self.finished_requests = 0  # requests of the finished points
        self.points: list[dict[str, Any]] = []
        self.reasons: Counter[str] = Counter()  # the whole run's failures by reason
        self.last_write = 0.0
        self.state = "running"
        self.start_point(0, "")

    def start_point(self, index: int, key: str) -> None:
        """A new sweep point starts (``index`` from 0)."""
        self.index, self.key = index, key
        self.point_started = time.perf_counter()
        self.done = self.ok = self.failed = 0
        self.ttft: list[float] = []
        self.itl: list[float] = []
        self.latency: list[float] = []
        self.point_reasons: Counter[str] = Counter()
        self.recent: deque[tuple[float, int]] = deque()  # (end, output tokens) in the window

    def add(self, rows: list[LiveRow]) -> None:
        """Rows of requests just finished in the current point."""
        for end, reason, ttft, lat, n_out, itl in rows:
            self.done += 1
            if reason is not None:
                self.failed += 1
                self.point_reasons[reason] += 1
                self.reasons[reason] += 1
                continue
            self.ok += 1
            self.latency.append(lat)
            if ttft is not None:
                self.ttft.append(ttft)
            self.itl.extend(itl)
            self.recent.append((end, n_out or 0))

    def end_point(self, summary: dict[str, Any]) -> None:
        """The current point finished with these headline numbers; written at once."""
        self.finished_requests += self.pairs[self.index][1] if self.index < len(self.pairs) else self.done
        self.points.append({"key": self.key, **summary})
        self.write()

    def snapshot(self) -> dict[str, Any]:
        now = time.perf_counter()
        while self.recent and self.recent[0][0] < now - WINDOW_S:
            self.recent.popleft()
        span = min(WINDOW_S, max(now - self.point_started, 1e-3))
        parallel, number = self.pairs[self.index] if self.index < len(self.pairs) else (None, None)
        done = self.finished_requests + (0 if self.state != "running" else self.done)
        elapsed = now - self.started
        remaining = None
        if 0 < done < self.total and self.state == "running" and self.search is None:
            remaining = round(elapsed * (self.total - done) / done, 1)
        snap: dict[str, Any] = {
            "kind": "perf",
            "state": self.state,
            "started_at": self.started_at,
            "updated_at": datetime.now(UTC).isoformat(),
            "elapsed_s": round(elapsed, 1),
            "remaining_s": remaining,
            "done": done,
            "total": self.total,
            "failed": sum(self.reasons.values()),
            "errors_by_reason": dict(self.reasons.most_common()),
            "point": {
                "key": self.key,
                "index": self.index + 1,
                "of": len(self.pairs),
                "parallel": parallel,
                "number": number,
                "done": self.done,
                "ok": self.ok,
                "failed": self.failed,
                "rps": round(len(self.recent) / span, 3),
                "tok_s": round(sum(n for _, n in self.recent) / span, 1),
                "ttft_p50": _pct(self.ttft, 50),
                "ttft_p99": _pct(self.ttft, 99),
                "itl_p50": _pct(self.itl, 50),
                "itl_p99": _pct(self.itl, 99),
                "latency_p50": _pct(self.latency, 50),
                "latency_p99": _pct(self.latency, 99),
                "errors_by_reason": dict(self.point_reasons.most_common()),
            },
            "points": self.points,
        }
        if self.search is not None:
            snap["search"] = self.search
        return snap

    def maybe_write(self) -> None:
        """Write ``live.json`` when the last write is older than :data:`WRITE_EVERY_S`."""
        if time.perf_counter() - self.last_write >= WRITE_EVERY_S:
            self.write()

    def write(self) -> None:
        self.last_write = time.perf_counter()
        try:
            atomic_write_json(self.path, self.snapshot(), indent=None)
        except OSError:
            pass  # a live view is advisory: a full disk fails the run's own files, not this

    def close(self, state: str) -> None:
        """The run ended (``finished``, ``failed``): the last snapshot stays in the folder."""
        self.state = state
        self.write()


def live_point(result: Any) -> dict[str, Any]:
    """A finished point's line in the live view (a :class:`evalscope.perf.results.PointResult`)."""
    m, p = result.metrics, result.percentiles
    return {
        "parallel": m.concurrency,
        "rps": m.request_throughput,
        "tok_s": m.output_throughput,
        "ttft_p99": p.at("ttft", "99%"),
        "latency_p99": p.at("latency", "99%"),
        "ok": m.succeed_requests,
        "failed": m.failed_requests,
    }
