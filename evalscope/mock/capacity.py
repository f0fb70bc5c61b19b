"""The mock's capacity model: a serving engine with N slots, a FIFO queue, batch-dependent token time.

A generation request that is answered (not an injected or scripted error, not a probe) takes a
*slot* before it starts: at most ``max_num_seqs`` requests hold one (vLLM's ``--max-num-seqs``),
the others wait in arrival order. In its slot a request waits ``ttft + prefill`` (``prefill`` =
``prefill_per_token`` per prompt token the prefix cache has not seen, :mod:`evalscope.mock.prefix_cache`),
then emits its chunks with a gap of ``itl + itl_per_seq * running`` seconds between two chunks,
``running`` being the number of slots taken at that moment; it leaves its slot when its answer is
written. Without ``max_num_seqs`` nobody waits (today's mock), but the counters below still run,
so ``GET /metrics`` tells the truth either way.

:class:`Engine` keeps the queue and the counters ``/metrics`` shows (:mod:`evalscope.mock.metrics`);
:func:`expected_capacity` computes, for a configuration, the load the mock can take, what TTFT,
TPOT and latency that load sees, and the largest concurrency and rate that meet an SLO. The
formulas are in docs/mock-server.md ("Capacity model") and in :class:`Capacity`.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_left
from collections import deque
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from evalscope import limits

if TYPE_CHECKING:
    from evalscope.mock.config import MockConfig

#: vLLM's buckets (vllm/v1/metrics/loggers.py), so a scraper sees what it would see from vLLM
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)  # fmt: skip
LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
                   120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)  # fmt: skip


class Histogram:
    """Counts per bucket (upper bounds ``le``, plus +Inf), a sum and a count; observe is O(log buckets)."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # le is inclusive: value == bound counts there
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``[(le, cumulative count), ..., ("+Inf", count)]`` as Prometheus writes them."""
        out, total = [], 0
        for bound, n in zip((*map(repr, map(float, self.bounds)), "+Inf"), self.counts, strict=True):
            total += n
            out.append((bound, total))
        return out


class Engine:
    """Slots, the FIFO queue and the serving counters of one mock server (reset with its stats)."""

    def __init__(self, cfg: MockConfig) -> None:
        self.slots = cfg.max_num_seqs  # None: no limit
        self.itl = cfg.itl
        self.itl_per_seq = cfg.itl_per_seq
        self.kv_capacity = cfg.kv_cache_tokens
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.max_running = 0
        self.max_waiting = 0
        self.kv_tokens = 0  # prompt + emitted tokens of the requests holding a slot
        self.prompt_tokens = 0  # counted when a request's first token is out (its prefill is done)
        self.generation_tokens = 0  # counted as chunks go out
        self.finished: dict[str, int] = {}  # finish reason -> requests
        self.ttft = Histogram(TTFT_BUCKETS)
        self.e2e = Histogram(LATENCY_BUCKETS)
        self.queue_time = Histogram(LATENCY_BUCKETS)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def kv_usage(self) -> float:
        """Fraction of ``kv_cache_tokens`` held by the running requests (may exceed 1: nothing is evicted)."""
        return self.kv_tokens / self.kv_capacity

    def gap(self) -> float:
        """Seconds between two chunks of a request now: ``itl + itl_per_seq * running``."""
        return self.itl + self.itl_per_seq * self.running

    async def acquire(self) -> None:
        """Take a slot, waiting in arrival order when all are taken."""
        if self.slots is None or (self.running < self.slots and not self._waiters):
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self.max_waiting = max(self.max_waiting, len(self._waiters))
        try:
            await fut  # release() handed its slot over: running already counts this request
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot came just as the request was cancelled: pass it on
            else:
                self._waiters.remove(fut)
            raise

    async def admit(self, prompt_tokens: int, arrived: float) -> Sequence:
        """Take a slot for a request that arrived at ``arrived`` (``perf_counter``) and hold its prompt
        in the KV cache; the caller must :meth:`Sequence.close` it."""
        await self.acquire()
        self.queue_time.observe(time.perf_counter() - arrived)
        return Sequence(self, prompt_tokens, arrived)

    def _take(self) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)

    def release(self) -> None:
        """Give the slot back: to the first waiter, else free it."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot changes hands: running stays the same
                return
        self.running -= 1


class Sequence:
    """One request holding a slot: what it adds to the engine's counters, and what it gives back."""

    __slots__ = ("engine", "prompt_tokens", "arrived", "kv", "started")

    def __init__(self, engine: Engine, prompt_tokens: int, arrived: float) -> None:
        self.engine = engine
        self.prompt_tokens = prompt_tokens
        self.arrived = arrived
        self.kv = prompt_tokens
        self.started = False
        engine.kv_tokens += prompt_tokens

    def first_token(self) -> None:
        """The first output is out: its prefill is done (prompt tokens counted, TTFT observed)."""
        if not self.started:
            self.started = True
            eng = self.engine
            eng.prompt_tokens += self.prompt_tokens
            eng.ttft.observe(time.perf_counter() - self.arrived)

    def emit(self, n: int) -> None:
        """``n`` output tokens went out."""
        eng = self.engine
        eng.generation_tokens += n
        eng.kv_tokens += n
        self.kv += n

    def finish(self, reason: str) -> None:
        """The whole answer was written."""
        self.first_token()  # an empty answer still ends its prefill
        eng = self.engine
        eng.e2e.observe(time.perf_counter() - self.arrived)
        eng.finished[reason] = eng.finished.get(reason, 0) + 1

    def close(self) -> None:
        """Leave the slot (always, whatever happened)."""
        self.engine.kv_tokens -= self.kv
        self.kv = 0
        self.engine.release()


class Capacity(BaseModel):
    """What :func:`expected_capacity` computes (seconds, requests/s). With ``k`` chunks of output
    (``ceil(output_tokens / tokens_per_chunk)``), ``n`` requests decoding and ``N = max_num_seqs``::

        base_ttft          = ttft + prefill_per_token * input_tokens
        service_time(n)    = base_ttft + (k - 1) * (itl + itl_per_seq * n)
        max_throughput     = N / service_time(N)

    Closed loop with C concurrent clients (``--parallel C``): ``n = min(C, N)``, throughput
    ``n / service_time(n)``; for C > N the queue makes a request wait up to
    ``(ceil(C / N) - 1) * service_time(N)``, so p99 TTFT (at enough requests: a share of them waits
    that long in every cycle) is ``base_ttft + (ceil(C / N) - 1) * service_time(N)``.
    Open loop at a regular rate (``--burstiness`` large) nobody waits below ``max_throughput``
    and the queue grows without end above it; Poisson arrivals queue below it too.
    """

    max_num_seqs: int | None
    itl: float
    itl_per_seq: float
    output_tokens: int
    chunks: int = Field(description="k: chunks per answer")
    base_ttft: float = Field(description="TTFT without queueing: ttft + prefill")
    service_time: float | None = Field(description="seconds a request holds its slot with N running")
    max_throughput: float | None = Field(description="requests/s with every slot busy (None: no limit)")
    slo: dict[str, float] = Field(default_factory=dict, description="the SLO checked (seconds)")
    max_concurrency: int | None = Field(
        None, description="largest C meeting every SLO in a closed loop (None: none checked or no limit)"
    )
    max_rate: float | None = Field(
        None, description="largest regular arrival rate meeting every SLO (requests/s; None: no limit)"
    )

    def decoding(self, concurrency: int) -> int:
        """Requests holding a slot with ``concurrency`` clients: ``min(C, N)``."""
        return concurrency if self.max_num_seqs is None else min(concurrency, self.max_num_seqs)

    def service(self, n: int) -> float:
        """``service_time(n)``: seconds a request holds its slot while ``n`` decode."""
        return self.base_ttft + max(0, self.chunks - 1) * (self.itl + self.itl_per_seq * n)

    def ttft_p99(self, concurrency: int) -> float:
        """p99 TTFT (= its maximum, at enough requests) of a closed loop of ``concurrency`` clients."""
        n_slots = self.max_num_seqs
        if n_slots is None or concurrency <= n_slots:
            return self.base_ttft
        return self.base_ttft + (math.ceil(concurrency / n_slots) - 1) * self.service(n_slots)

    def tpot(self, concurrency: int) -> float:
        """TPOT ((latency - TTFT) / (output_tokens - 1)) with ``min(concurrency, N)`` decoding."""
        if self.output_tokens <= 1:
            return 0.0
        n = self.decoding(concurrency)
        return max(0, self.chunks - 1) * (self.itl + self.itl_per_seq * n) / (self.output_tokens - 1)

    def latency_p99(self, concurrency: int) -> float:
        """p99 end-to-end latency of a closed loop of ``concurrency`` clients."""
        n = self.decoding(concurrency)
        return self.ttft_p99(concurrency) + max(0, self.chunks - 1) * (self.itl + self.itl_per_seq * n)

    def throughput(self, concurrency: int) -> float:
        """Requests/s of a closed loop of ``concurrency`` clients (``inf`` when nothing takes time)."""
        n = self.decoding(concurrency)
        t = self.service(n)
        return n / t if t > 0 else math.inf

    def meets(self, concurrency: int) -> bool:
        """Whether a closed loop of ``concurrency`` clients meets every bound of ``slo``."""
        slo = self.slo
        return (
            self.ttft_p99(concurrency) <= slo.get("ttft", math.inf)
            and self.tpot(concurrency) <= slo.get("tpot", math.inf)
            and self.latency_p99(concurrency) <= slo.get("e2el", math.inf)
        )


#: the SLO keys expected_capacity understands (the perf engine's --slo names)
SLO_KEYS = ("ttft", "tpot", "e2el")


def expected_capacity(
    cfg: MockConfig,
    *,
    input_tokens: int = 0,
    output_tokens: int,
    slo: dict[str, float] | None = None,
) -> Capacity:
    """The capacity of a mock started with ``cfg`` under requests of ``input_tokens`` uncached prompt
    tokens and exactly ``output_tokens`` output tokens (``MockConfig.output_tokens``), with no jitter.

    ``slo``: seconds per metric, ``{"ttft": 0.5, "tpot": 0.05, "e2el": 10}``, each a p99 bound.
    ``max_concurrency`` is then the largest closed-loop concurrency meeting all of them (searched up
    to ``limits.MAX_PARALLEL``; 0 when even one client misses; None when every concurrency meets
    them because nothing limits the mock), ``max_rate`` the largest regular arrival rate that does
    (TPOT and latency bounds cap how many may decode at once; above ``max_throughput`` the queue
    grows without end).
    """
    slo = dict(slo or {})
    unknown = set(slo) - set(SLO_KEYS)
    if unknown:
        raise ValueError(f"slo: unknown metric(s) {sorted(unknown)}; use {', '.join(SLO_KEYS)}")
    chunks = math.ceil(output_tokens / cfg.tokens_per_chunk) if output_tokens > 0 else 0
    n_slots = cfg.max_num_seqs
    cap = Capacity(
        max_num_seqs=n_slots,
        itl=cfg.itl,
        itl_per_seq=cfg.itl_per_seq,
        output_tokens=output_tokens,
        chunks=chunks,
        base_ttft=cfg.ttft + _prefill_per_token(cfg) * input_tokens,
        service_time=None,
        max_throughput=None,
        slo=slo,
    )
    if n_slots is not None:
        cap.service_time = cap.service(n_slots)
        cap.max_throughput = n_slots / cap.service_time if cap.service_time > 0 else None
    if not slo:
        return cap
    # every bound grows with the concurrency: bisect for the last one that meets them
    lo, hi = 0, limits.MAX_PARALLEL
    if cap.meets(hi):
        cap.max_concurrency = None if n_slots is None else hi
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if cap.meets(mid) else (lo, mid)
        cap.max_concurrency = lo
    cap.max_rate = _max_rate(cap)
    return cap


def _prefill_per_token(cfg: MockConfig) -> float:
    """``cfg.prefill_per_token`` (the prefix-cache model's prefill cost; 0 in a config without it)."""
    return float(getattr(cfg, "prefill_per_token", 0.0))


def _max_rate(cap: Capacity) -> float | None:
    """Regular arrivals at rate r below ``max_throughput`` never queue and keep ``n = r *
    service_time(n)`` decoding, i.e. ``r = n / (a + b * n)`` with ``service_time(n) = a + b * n``.
    TTFT is ``base_ttft`` whatever r; TPOT and latency grow with n, so the SLO caps n (at most N),
    and that n gives the rate."""
    slo = cap.slo
    gaps = max(0, cap.chunks - 1)
    a, b = cap.base_ttft + gaps * cap.itl, gaps * cap.itl_per_seq
    if cap.base_ttft > slo.get("ttft", math.inf) or not cap.meets(1):
        return 0.0
    n_max = math.inf if cap.max_num_seqs is None else float(cap.max_num_seqs)
    if b > 0:
        if "tpot" in slo and cap.output_tokens > 1:
            # tpot(n) = gaps * (itl + itl_per_seq * n) / (L - 1) <= bound
            n_max = min(n_max, (slo["tpot"] * (cap.output_tokens - 1) / gaps - cap.itl) / cap.itl_per_seq)
        if "e2el" in slo:
            n_max = min(n_max, (slo["e2el"] - a) / b)
    if math.isinf(n_max) or a + b * n_max <= 0:
        return None
    return n_max / (a + b * n_max)
