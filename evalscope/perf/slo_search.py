"""The SLO search: the largest concurrency (or rate) at which every SLO holds.

``evalscope perf --slo ttft_p99:500ms tpot_p99:50ms --search concurrency`` (or ``rate``). The search
assumes that raising the load never makes an SLO easier to meet, and:

1. **grows**: tries ``search_start`` (default ``search_min``), then doubles while the load passes
   (up to ``search_max``); when the start fails it halves down to ``search_min`` instead;
2. **bisects** between the largest passing and the smallest failing load until they are one step
   apart (concurrency: 1, or ``search_tolerance`` of the passing load when that is larger; rate:
   ``search_tolerance`` of the passing rate);
3. at each load, runs **rounds** of ``search_requests`` requests (at least 2 per concurrent request, or
   2 seconds of the rate) and pools their samples, until the decision is statistically clear: for
   each SLO a confidence interval (``search_confidence``) of its percentile, distribution-free from
   the order statistics (the number of samples below the true percentile is binomial), or of its
   mean (normal approximation). Clear pass: every interval lies within its bound; clear fail: one
   interval lies above its bound; otherwise another round, up to ``search_max_rounds``, after which
   the estimate decides and the point is marked ``clear: false``;
4. **stops** when converged, when ``search_max`` passes, when ``search_min`` fails, or when the next
   round would pass the budget of requests (``search_max_requests``) or time (``search_max_time``;
   a round is cut when the time is up).

A failed request counts as infinitely slow in every SLO (so a failure rate above 1% fails a p99).
Each load tried is a sweep point folder ``parallel_<p>_number_<n>`` (all its rounds' requests, its
server metrics); ``slo_search.json`` in the run folder holds the answer under ``capacity``, every
point with its percentiles, intervals and verdicts, and why the search stopped (rewritten after each
point, ``state: running``, so a job's progress can be followed).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from evalscope import fsio, limits
from evalscope import slo as slo_specs
from evalscope.perf.arguments import PerfArguments
from evalscope.perf.live import LiveView, live_point
from evalscope.perf.loadgen import ClientStats
from evalscope.perf.metrics import inter_token_latencies, output_tokens
from evalscope.perf.output import point_name, write_point
from evalscope.perf.records import RequestRecord
from evalscope.perf.results import PerfRun, PointResult
from evalscope.rundir import RunDir

log = logging.getLogger("evalscope.perf")

SLO_SEARCH_FILE = "slo_search.json"
#: requests in flight allowed under a rate search when ``parallel`` is not given
DEFAULT_RATE_CAP = 1000
StopReason = Literal[
    "running", "converged", "max_load", "min_load_fails", "request_budget", "time_budget", "error"
]


# -- the answer's types ------------------------------------------------------------------------
class SloCheck(BaseModel):
    """One SLO at one load: the estimate, its confidence interval and the verdict (ms; null bounds
    are unbounded: too few samples, or failed requests, which count as infinitely slow)."""

    slo: str = Field(description="the SLO's name: ttft_p99, e2el_mean, ...")
    stat: str = Field(description="p99, p95, ... or mean")
    threshold_ms: float
    value_ms: float | None = Field(description="the estimate from the samples (null: infinite / none)")
    ci_low_ms: float | None
    ci_high_ms: float | None
    samples: int
    verdict: Literal["pass", "fail", "unclear"]


class SearchPoint(BaseModel):
    """One load tried: its rounds, requests, throughput, SLO checks and decision."""

    index: int
    phase: Literal["grow", "down", "bisect"]
    load: int | float = Field(description="the concurrency or the rate (requests/s) tried")
    parallel: int
    rate: float | None
    key: str = Field(description="its sweep point folder")
    rounds: int
    requests: int
    succeeded: int
    failed: int
    throughput_rps: float | None
    checks: list[SloCheck]
    passed: bool
    clear: bool = Field(description="decided by the confidence intervals (false: by the estimates)")
    seconds: float


class Capacity(BaseModel):
    """The answer: the largest load found to meet every SLO."""

    search: Literal["concurrency", "rate"]
    value: int | float | None = Field(description="the load (null: not even search_min meets the SLOs)")
    unit: str
    throughput_rps: float | None = Field(description="requests/s measured at that load")
    point: str | None = Field(description="its sweep point folder")
    failing_load: int | float | None = Field(description="the smallest load seen to fail (null: none failed)")
    clear: bool = Field(description="both bracketing decisions were statistically clear")


class SloSearchResult(BaseModel):
    """``slo_search.json``: the search's settings, answer, points and why it stopped."""

    state: Literal["running", "finished", "failed"]
    search: Literal["concurrency", "rate"]
    slo: dict[str, float] = Field(description="the SLOs as given (ms)")
    slo_text: str
    confidence: float
    capacity: Capacity | None
    points: list[SearchPoint] = Field(default_factory=list)
    stop_reason: StopReason
    stop_detail: str
    requests: int
    budget_requests: int
    seconds: float
    budget_seconds: float

    def console(self) -> str:
        """The points tried, the answer and why the search stopped, as the console prints them."""
        unit = "concurrency" if self.search == "concurrency" else "rate (req/s)"
        head = f"{'#':>3} {'phase':<6} {unit:>14} {'reqs':>6} {'rounds':>6} {'req/s':>8}  "
        lines = [
            f"SLO search ({self.search}): {self.slo_text}, {self.confidence:.0%} intervals",
            head + "checks",
        ]
        for p in self.points:
            marks = []
            for c in p.checks:
                v = "inf" if c.value_ms is None else f"{c.value_ms:.1f}"
                lo = "-inf" if c.ci_low_ms is None else f"{c.ci_low_ms:.1f}"
                hi = "inf" if c.ci_high_ms is None else f"{c.ci_high_ms:.1f}"
                marks.append(f"{c.slo} {v} [{lo}, {hi}] ms {c.verdict}")
            verdict = ("PASS" if p.passed else "FAIL") + ("" if p.clear else " (estimate)")
            rps = "-" if p.throughput_rps is None else f"{p.throughput_rps:.2f}"
            lines.append(
                f"{p.index:>3} {p.phase:<6} {_fmt_load(p.load):>14} {p.requests:>6} {p.rounds:>6} {rps:>8}  "
                f"{verdict}: " + "; ".join(marks)
            )
        cap = self.capacity
        if cap is None or cap.value is None:
            lines.append("capacity: none (not even the smallest load meets every SLO)")
        else:
            rps = "" if cap.throughput_rps is None else f", {cap.throughput_rps:.2f} req/s measured"
            above = "" if cap.failing_load is None else f"; {_fmt_load(cap.failing_load)} fails"
            lines.append(f"capacity: {_fmt_load(cap.value)} {cap.unit}{rps}{above}")
        lines.append(
            f"stopped: {self.stop_reason} ({self.stop_detail}); {self.requests} requests, {self.seconds:.1f} s"
        )
        return "\n".join(lines)


def _fmt_load(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.4g}"


# -- statistics ----------------------------------------------------------------------------------
def binomial_cdf(n: int, q: float) -> np.ndarray:
    """``P(B <= k)`` for ``k = 0..n``, ``B ~ Binomial(n, q)`` (log-space recursion: exact enough at any n)."""
    k = np.arange(1, n + 1, dtype=float)
    if q <= 0 or q >= 1:
        cdf = np.zeros(n + 1) if q >= 1 else np.ones(n + 1)
        cdf[-1] = 1.0
        return cdf
    steps = np.log((n - k + 1) / k) + math.log(q / (1 - q))
    logpmf = np.concatenate(([n * math.log1p(-q)], n * math.log1p(-q) + np.cumsum(steps)))
    pmf = np.exp(logpmf - logpmf.max())
    return np.cumsum(pmf) / pmf.sum()


def percentile_ci(values: np.ndarray, percentile: float, confidence: float) -> tuple[float, float, float]:
    """(estimate, low, high) of the ``percentile`` of the distribution ``values`` were drawn from.

    The estimate is numpy's (linear) percentile, as in the run's tables. The interval is
    distribution-free: with ``B`` the number of samples below the true percentile (binomial), the
    ``r``-th and ``s``-th order statistics bound it with probability ``P(r <= B < s)``; ``r`` and ``s``
    leave ``(1 - confidence) / 2`` on each side. An interval end beyond the samples is infinite.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.inf, -math.inf, math.inf
    q = percentile / 100.0
    tail = (1 - confidence) / 2
    cdf = binomial_cdf(n, q)
    below = np.nonzero(cdf <= tail)[0]  # r - 1 = the largest k with P(B <= k) <= tail
    r = int(below[-1]) + 1 if len(below) else 0
    above = np.nonzero(cdf >= 1 - tail)[0]  # s - 1 = the smallest k with P(B <= k) >= 1 - tail
    s = int(above[0]) + 1 if len(above) else n + 1
    low = float(x[r - 1]) if r >= 1 else -math.inf
    high = float(x[s - 1]) if s <= n else math.inf
    finite = x[np.isfinite(x)]
    if len(finite) == n:
        est = float(np.percentile(x, percentile))
    else:  # failures are +inf: the estimate is inf once they reach the percentile
        est = float(x[min(n - 1, max(0, math.ceil(q * n) - 1))])
    return est, low, high


def mean_ci(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): the normal approximation ``mean +- z * sd / sqrt(n)`` (infinite with a failure)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0 or not np.all(np.isfinite(x)):
        return math.inf, math.inf if n else -math.inf, math.inf
    mean = float(x.mean())
    if n < 2:
        return mean, -math.inf, math.inf
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    half = z * float(x.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def samples(records: list[RequestRecord], metric: str, tokenizer: Any = None) -> np.ndarray:
    """The values (seconds) an SLO on ``metric`` is judged on, with the run's own definitions
    (perf/metrics.py): one per measured request (ITL: one per gap); a failed request adds +inf."""
    out: list[float] = []
    for r in records:
        if getattr(r, "ramp", False):
            continue
        if not r.ok:
            out.append(math.inf)
            continue
        first = (r.out_times[0] - r.intended) if len(r.out_times) else None
        if metric == "e2el":
            out.append(r.end - r.intended)
        elif metric == "ttft":
            if first is not None:
                out.append(first)
        elif metric == "tpot":
            n_out = output_tokens(r, tokenizer)
            if n_out is not None and n_out > 1 and first is not None:
                out.append((r.end - r.intended - first) / (n_out - 1))
        else:
            out.extend(inter_token_latencies(r, output_tokens(r, tokenizer), tokenizer)[0])
    return np.asarray(out, dtype=float)


def check(spec: slo_specs.SloSpec, values: np.ndarray, confidence: float) -> SloCheck:
    """One SLO's verdict on the samples: pass when the whole interval is within the bound, fail when
    it is all above, else unclear."""
    if spec.mean:
        est, low, high = mean_ci(values, confidence)
    else:
        est, low, high = percentile_ci(
            values, float(spec.percentile or slo_specs.DEFAULT_PERCENTILE), confidence
        )
    bound = spec.threshold_ms / 1000.0
    if len(values) == 0:
        verdict: Literal["pass", "fail", "unclear"] = "fail"  # nothing to judge (e.g. no TTFT at all)
    elif high <= bound:
        verdict = "pass"
    elif low > bound:
        verdict = "fail"
    else:
        verdict = "unclear"

    def ms(v: float) -> float | None:
        return round(v * 1000.0, 3) if math.isfinite(v) else None

    return SloCheck(
        slo=spec.name,
        stat=spec.stat(),
        threshold_ms=spec.threshold_ms,
        value_ms=ms(est),
        ci_low_ms=ms(low) if low > -math.inf else None,
        ci_high_ms=ms(high),
        samples=len(values),
        verdict=verdict,
    )


def decide(checks: list[SloCheck]) -> tuple[bool, bool]:
    """(passed, clear) of a load: a clear fail of one SLO fails it, clear passes of all pass it."""
    if any(c.verdict == "fail" for c in checks):
        return False, True
    if all(c.verdict == "pass" for c in checks):
        return True, True
    return False, False


def by_estimate(checks: list[SloCheck]) -> bool:
    """The decision when the intervals stay unclear: every estimate within its bound."""
    return all(c.value_ms is not None and c.value_ms <= c.threshold_ms for c in checks)


# -- the search ----------------------------------------------------------------------------------
class _Budget(Exception):
    """The next round would pass a budget (its reason and detail)."""

    def __init__(self, reason: StopReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Search:
    """One search's state: the loads tried, the bracket, the budgets; :meth:`run` drives it."""

    def __init__(
        self,
        args: PerfArguments,
        folder: RunDir,
        prepared: Any,
        progress: Any,
        echo: bool,
        view: LiveView | None = None,
    ) -> None:
        self.args = args
        self.view = view  # a job's live.json (evalscope.perf.live): the load now and the loads tried
        self.folder = folder
        self.prep = prepared
        self.progress = progress
        self.echo = echo
        self.specs = [s.at(slo_specs.DEFAULT_PERCENTILE) for s in slo_specs.specs(args.slo)]
        self.concurrency = args.search == "concurrency"
        top = float(limits.MAX_PARALLEL if self.concurrency else limits.MAX_RATE)
        self.lo_bound = args.search_min
        self.hi_bound = args.search_max if args.search_max is not None else top
        self.start = args.search_start if args.search_start is not None else args.search_min
        if self.concurrency:
            self.cap = 0
        else:
            self.cap = args.parallel[0] if "parallel" in args.model_fields_set else DEFAULT_RATE_CAP
        self.points: list[SearchPoint] = []
        self.results: dict[str, PointResult] = {}
        self.used_keys: set[str] = set()
        self.requests = 0
        self.t0 = time.perf_counter()
        self.warmup_left = args.warmup_num
        self.stop_reason: StopReason = "running"
        self.stop_detail = ""
        self.now: tuple[float | None, str | None, int] = (None, None, 0)  # (load, phase, round) being run

    # -- bookkeeping
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def answer(self) -> Capacity | None:
        passing = [p for p in self.points if p.passed]
        failing = [p for p in self.points if not p.passed]
        if not self.points:
            return None
        best = max(passing, key=lambda p: p.load) if passing else None
        above = [p for p in failing if best is None or p.load > best.load]
        fail = min(above, key=lambda p: p.load) if above else None
        return Capacity(
            search="concurrency" if self.concurrency else "rate",
            value=best.load if best else None,
            unit="concurrent requests" if self.concurrency else "requests/s",
            throughput_rps=best.throughput_rps if best else None,
            point=best.key if best else None,
            failing_load=fail.load if fail else None,
            clear=(best is None or best.clear) and (fail is None or fail.clear),
        )

    def snapshot(self, state: Literal["running", "finished", "failed"]) -> SloSearchResult:
        return SloSearchResult(
            state=state,
            search="concurrency" if self.concurrency else "rate",
            slo=dict(self.args.slo),
            slo_text=slo_specs.describe(self.specs),
            confidence=self.args.search_confidence,
            capacity=self.answer(),
            points=self.points,
            stop_reason=self.stop_reason,
            stop_detail=self.stop_detail,
            requests=self.requests,
            budget_requests=self.args.search_max_requests,
            seconds=round(self.elapsed(), 3),
            budget_seconds=self.args.search_max_time,
        )

    def write(self, state: Literal["running", "finished", "failed"]) -> SloSearchResult:
        result = self.snapshot(state)
        fsio.atomic_write_json(self.folder.root / SLO_SEARCH_FILE, result.model_dump(mode="json"))
        return result

    def live(self) -> dict[str, Any]:
        """The search's part of ``live.json``: the load being measured (its phase and round), the answer
        so far (the largest load passed, the least above it failed) and the requests spent."""
        load, phase, rounds = self.now
        cap = self.answer()
        return {
            "search": "concurrency" if self.concurrency else "rate",
            "unit": "concurrent requests" if self.concurrency else "requests/s",
            "slo": slo_specs.describe(self.specs),
            "load": load,
            "phase": phase,
            "round": rounds,
            "max_rounds": self.args.search_max_rounds,
            "tried": len(self.points),
            "capacity": cap.value if cap is not None else None,
            "failing_load": cap.failing_load if cap is not None else None,
            "requests": self.requests,
            "budget_requests": self.args.search_max_requests,
            "stop_reason": self.stop_reason,
        }

    def step(self, lo: float) -> float:
        """How close the failing load must come to the passing one."""
        if self.concurrency:
            return max(1.0, math.floor(self.args.search_tolerance * lo))
        return self.args.search_tolerance * lo

    def _load(self, x: float) -> float:
        x = min(max(x, self.lo_bound), self.hi_bound)
        return int(x) if self.concurrency else float(f"{x:.6g}")  # a concurrency stays a whole number

    def _round_size(self, load: float, parallel: int) -> int:
        """Requests per round: ``search_requests``, at least 2 per client (2 s of a rate), made one
        larger while some number of rounds would reuse a folder name (a rate search's points share
        their ``parallel``)."""
        n = max(self.args.search_requests, math.ceil(2 * load))
        rounds = range(1, self.args.search_max_rounds + 1)
        while any(point_name(parallel, n * k) in self.used_keys for k in rounds):
            n += 1
        return min(n, limits.MAX_NUMBER)

    # -- one load
    async def measure(self, load: float, phase: Literal["grow", "down", "bisect"]) -> SearchPoint:
        """Run rounds at ``load`` until its decision is clear (or the rounds or budget end)."""
        from evalscope.perf.runner import point_args, point_result, run_point

        args = self.args
        parallel = int(load) if self.concurrency else self.cap
        n = self._round_size(load, parallel)
        if self.requests + n > args.search_max_requests:
            raise _Budget(
                "request_budget",
                f"the next round ({n} requests at {_fmt_load(load)}) would pass search_max_requests "
                f"({args.search_max_requests})",
            )
        if self.elapsed() >= args.search_max_time:
            raise _Budget("time_budget", f"search_max_time ({args.search_max_time:g} s) reached")
        if self.points and "sleep_interval" in args.model_fields_set and args.sleep_interval:
            await asyncio.sleep(args.sleep_interval)
        started = time.perf_counter()
        view = self.view
        if view is not None:  # the load being measured is the live view's current point
            view.pairs.append((parallel, n))
            view.start_point(len(self.points), f"load {_fmt_load(load)}")
        tmp = self.folder.root / f".search_point_{len(self.points)}"
        scrape = self.prep.server.start_point(tmp) if self.prep.server is not None else None
        if scrape is not None:
            await asyncio.to_thread(scrape.wait_baseline)
        records: list[RequestRecord] = []
        stats = ClientStats()
        processes = 1
        rounds = 0
        checks: list[SloCheck] = []
        passed, clear = False, False
        cut = False
        try:
            while True:
                remaining = args.search_max_time - self.elapsed()
                duration = remaining if args.duration is None else min(args.duration, remaining)
                pargs = args.model_copy(
                    update={
                        "rate": load if not self.concurrency else -1,
                        "duration": max(duration, 0.001),
                        "warmup_num": self.warmup_left,
                    }
                )
                self.warmup_left = 0
                base = self.requests
                self.now = (load, phase, rounds + 1)
                if view is not None:
                    view.pairs[-1] = (parallel, len(records) + n)
                    view.search = self.live()
                    view.write()

                def on_progress(done: int, base: int = base) -> None:
                    if self.progress is not None:
                        self.progress(base + done, args.search_max_requests)
                    if view is not None:
                        view.maybe_write()

                recs, st, processes = await run_point(
                    pargs,
                    self.prep.bodies,
                    parallel,
                    n,
                    on_progress,
                    None,
                    None,
                    on_rows=view.add if view is not None else None,
                )
                rounds += 1
                records.extend(recs)
                stats.merge(st)
                self.requests += n
                on_progress(n, base)
                checks = [
                    check(s, samples(records, s.metric, self.prep.tokenizer), args.search_confidence)
                    for s in self.specs
                ]
                passed, clear = decide(checks)
                cut = self.elapsed() >= args.search_max_time
                if clear or rounds >= args.search_max_rounds or cut:
                    break
                if self.requests + n > args.search_max_requests:
                    cut = True
                    break
                log.info("load %s: unclear after %d requests, another round", _fmt_load(load), len(records))
        except BaseException:
            if scrape is not None:
                scrape.stop(timeout=0)
            raise
        if not clear:
            passed = by_estimate(checks)
        total = n * rounds
        key = point_name(parallel, total)
        self.used_keys.add(key)
        result = point_result(
            pargs, records, stats, parallel, total, tokenizer=self.prep.tokenizer, processes=processes
        )
        if self.prep.server is not None:
            seen = await asyncio.to_thread(self.prep.server.end_point, scrape, result.metrics.avg_ttft)
            if seen is not None:
                result.metrics.server_metrics = seen
        extra = {"rate": load} if not self.concurrency else {}
        write_point(tmp, result, records, point_args(args, parallel, total, search_load=load, **extra))
        target = self.folder.root / key
        if target.exists():  # cannot happen within one search; never overwrite another point
            raise RuntimeError(f"{target}: a sweep point folder of this name exists already")
        tmp.rename(target)
        self.results[key] = result
        point = SearchPoint(
            index=len(self.points) + 1,
            phase=phase,
            load=load,
            parallel=parallel,
            rate=None if self.concurrency else load,
            key=key,
            rounds=rounds,
            requests=len(records),
            succeeded=result.metrics.succeed_requests,
            failed=result.metrics.failed_requests,
            throughput_rps=result.metrics.request_throughput,
            checks=checks,
            passed=passed,
            clear=clear,
            seconds=round(time.perf_counter() - started, 3),
        )
        self.points.append(point)
        self.write("running")
        if view is not None:
            view.pairs[-1] = (parallel, len(records))
            view.key = key
            view.search = self.live()
            view.end_point(
                {**live_point(result), "load": load, "phase": phase, "passed": passed, "clear": clear}
            )
        if self.echo:
            print(self.snapshot("running").console().splitlines()[len(self.points) + 1], flush=True)
        log.info(
            "SLO search: %s %s: %s%s",
            "concurrency" if self.concurrency else "rate",
            _fmt_load(load),
            "pass" if passed else "fail",
            "" if clear else " (by the estimate)",
        )
        if cut and self.elapsed() >= args.search_max_time:
            raise _Budget("time_budget", f"search_max_time ({args.search_max_time:g} s) reached")
        return point

    # -- the whole search
    async def run(self) -> None:
        """Grow (or shrink) to a bracket, then bisect it; sets ``stop_reason``."""
        try:
            lo, hi = await self._bracket()
            if lo is None:
                self.stop_reason = "min_load_fails"
                self.stop_detail = f"search_min {_fmt_load(self.lo_bound)} does not meet every SLO"
                return
            if hi is None:
                self.stop_reason = "max_load"
                self.stop_detail = f"search_max {_fmt_load(self.hi_bound)} meets every SLO"
                return
            while hi - lo > self.step(lo):
                mid = self._load((lo + hi) / 2)
                if mid <= lo or mid >= hi:
                    break
                if (await self.measure(mid, "bisect")).passed:
                    lo = mid
                else:
                    hi = mid
            self.stop_reason = "converged"
            self.stop_detail = (
                f"{_fmt_load(lo)} passes, {_fmt_load(hi)} fails (step {_fmt_load(self.step(lo))})"
            )
        except _Budget as exc:
            self.stop_reason = exc.reason
            self.stop_detail = exc.detail

    async def _bracket(self) -> tuple[float | None, float | None]:
        """(largest passing load, smallest failing load above it); None: none of that kind."""
        x = self._load(self.start)
        point = await self.measure(x, "grow")
        if point.passed:
            lo = x
            while lo < self.hi_bound:
                x = self._load(lo * 2)
                if (await self.measure(x, "grow")).passed:
                    lo = x
                else:
                    return lo, x
            return lo, None
        hi = x
        while hi > self.lo_bound:
            x = self._load(hi / 2)
            if (await self.measure(x, "down")).passed:
                return x, hi
            hi = x
        return None, hi


class Prepared(BaseModel):
    """What every point of a search sends and measures with (built once)."""

    model_config = {"arbitrary_types_allowed": True}

    bodies: list[bytes]
    tokenizer: Any = None
    server: Any = None


async def asearch(
    args: PerfArguments,
    progress: Any = None,
    *,
    run_dir: str | Path | RunDir | None = None,
    show_summary: bool = False,
    live: bool = False,
) -> PerfRun:
    """Run an SLO search (``args.search`` set) into a run folder; returns the points as a
    :class:`PerfRun` whose ``slo_search`` holds ``slo_search.json``. Raises RunFailed as a sweep
    does (the model cannot be reached, or every request failed). ``live``: keep ``live.json`` (the
    load being measured, the loads tried with their verdicts; evalscope.perf.live) while it runs."""
    from evalscope.perf.prompts import Tokenizer, load_prompts
    from evalscope.perf.runner import _test_connection, build_bodies, check_run, open_run_dir
    from evalscope.perf.server_metrics import ServerMetrics

    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    bodies = build_bodies(args, load_prompts(args, tokenizer))
    run_warnings: list[str] = []
    if not args.no_test_connection:
        run_warnings.extend(await _test_connection(args))
    folder = open_run_dir(args, run_dir)
    server = ServerMetrics.for_run(args)
    view = LiveView(folder.live, [], total=args.search_max_requests) if live else None
    search = Search(
        args,
        folder,
        Prepared(bodies=bodies, tokenizer=tokenizer, server=server),
        progress,
        show_summary,
        view,
    )
    if show_summary:
        print(search.snapshot("running").console().splitlines()[0], flush=True)
        print(search.snapshot("running").console().splitlines()[1], flush=True)
    try:
        await search.run()
    except BaseException as exc:
        search.stop_reason = "error"
        search.stop_detail = f"{type(exc).__name__}: {exc}"[:500]
        search.write("failed")
        if view is not None:
            view.search = search.live()
            view.close("failed")
        raise
    result = search.write("finished")
    if view is not None:
        view.search = search.live()
        view.close("finished")
    if server is not None:
        run_warnings.extend(server.warnings)
    log.info("%s", result.console())
    run = PerfRun.collect(str(folder), search.results, run_warnings)
    run.slo_search = result.model_dump(mode="json")
    return check_run(args, run)
