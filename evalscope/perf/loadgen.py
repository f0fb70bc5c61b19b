"""The load generator's hot loop: one connection pool, pre-built bodies, every timestamp recorded.

A :class:`ShardPlan` is one shard's share of a sweep point (its request indices, concurrency and
arrival offsets); :func:`run_shard` sends it with a :class:`LoadClient` and returns its
:class:`~evalscope.perf.records.RequestRecord` list.  Per request the loop does the minimum: post pre-serialised bytes, read each network chunk, stamp it
with ``perf_counter()``, hand it to the shared stream accumulator, append one record. No logging,
no retries (a failure is a measurement), no per-request allocation beyond the record.

Schedules: closed loop (``parallel`` coroutines each sending the next request when the last one
ends) or open loop (arrivals at precomputed absolute times; the dispatcher sleeps until ~1.5 ms
before an arrival, then yields to the event loop until the exact time, so there is no drift and
no loss from the event loop's 1 ms timer granularity). Under a rate, a request's latency is
measured from its intended send time, and the gap to the actual send time is kept as dispatch lag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from evalscope.client.adapters import make_adapter
from evalscope.client.errors import StreamError, classify_exception, error_message
from evalscope.client.jsonfast import loads
from evalscope.client.stream import StreamAccumulator
from evalscope.perf.http import ConnectionPool, HttpTarget
from evalscope.perf.records import RequestRecord

if TYPE_CHECKING:
    import numpy as np

READ_BUFSIZE = 1 << 20  # aiohttp's default 64 KiB read buffer throttles long streamed answers
SPIN_WINDOW = 0.0015  # below this, sleeping would overshoot by the 1 ms timer granularity
PROBE_INTERVAL = 0.005
#: where --cache-bust puts each request's unique marker in a pre-built body (JSON-escaped NULs never
#: occur in a prompt the datasets build)
BUST_MARKER = "\x00evalscope-rid\x00"
BUST_BYTES = b"\\u0000evalscope-rid\\u0000"


@dataclass
class ShardPlan:
    """Everything one shard (a client process, or a distributed shard) needs to send its share of a
    sweep point; picklable. Made by :func:`evalscope.perf.runner.plan_shards`."""

    api: str
    url: str
    model: str
    api_key: str | None
    headers: dict[str, str]
    bodies: list[bytes]  # one per distinct prompt; request i sends bodies[i % len(bodies)]
    stream: bool
    parallel: int
    indices: Sequence[int]  # global request indices this client sends, in order (a range)
    # seconds after t0 each index is due (open loop; a float64 array or a list), else None
    offsets: Sequence[float] | np.ndarray | None = None
    warmup: int = 0
    duration: float | None = None
    connect_timeout: float = 600.0
    read_timeout: float = 600.0
    total_timeout: float = 21600.0
    shard_id: int = 0
    keep_text: bool = True
    # each output event's text, only needed to count its tokens with --tokenizer-path; otherwise
    # dropping it saves a string per streamed token (hundreds of MB over a long run)
    keep_parts: bool = False
    http: str = "raw"  # "raw": evalscope.perf.http (fast); "aiohttp": the reference client
    # seconds after t0 before which requests are ramp-up (closed loop: sender k starts at
    # ramp_up * k / parallel; open loop: the offsets already grow the rate); their records say ramp
    ramp_up: float = 0.0
    # every request's prompt starts with a marker unique to it (bodies hold BUST_MARKER where it goes)
    cache_bust: bool = False
    # multi-turn (evalscope.perf.sessions): the conversations, each a tuple of turns of (role, content)
    # messages; ``indices`` are then session ids and ``bodies`` is empty (each turn's body is built
    # from ``request``, a GenerationRequest, with the history and the model's real replies)
    sessions: list[Any] | None = None
    request: Any = None
    think_time: tuple[float, ...] = ()  # seconds before each later turn: (fixed,) or (min, max)
    seed: int | None = None


@dataclass
class ClientStats:
    """How healthy the client itself was while measuring (to flag distorted results)."""

    loop_lag: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    def merge(self, other: ClientStats) -> None:
        self.loop_lag.extend(other.loop_lag)
        self.cpu_seconds += other.cpu_seconds
        self.wall_seconds = max(self.wall_seconds, other.wall_seconds)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when installed (``evalscope[perf]``) and not disabled, else None."""
    from evalscope.settings import settings

    if settings().no_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_async(coro: Any) -> Any:
    """Run ``coro`` to completion in a new event loop (uvloop when available)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)


class LoadClient:
    """One connection pool, one adapter, the request coroutine. Created inside the running loop."""

    def __init__(self, plan: ShardPlan) -> None:
        self.plan = plan
        self.adapter = make_adapter(plan.api, plan.url, plan.model, plan.api_key, plan.headers)
        self.url = self.adapter.endpoint(plan.stream)
        self.headers = self.adapter.headers(plan.stream)
        self.bodies = plan.bodies
        self.n_bodies = len(plan.bodies)
        # inputs per body (embeddings), counted once here so the hot loop only indexes a list
        count = getattr(self.adapter, "count_inputs", None)
        self.inputs: list[int] | None = [count(loads(b)) for b in plan.bodies] if count else None
        self.done = 0
        self.sessions_done = 0  # multi-turn: sessions ended (what progress counts there)
        self.session: aiohttp.ClientSession | None = None
        self.pool: ConnectionPool | None = None
        if plan.http == "aiohttp":
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=0, ttl_dns_cache=None, enable_cleanup_closed=False
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                read_bufsize=READ_BUFSIZE,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
                timeout=aiohttp.ClientTimeout(
                    total=plan.total_timeout, sock_connect=plan.connect_timeout, sock_read=plan.read_timeout
                ),
            )
            self.send = self._send_aiohttp
        else:
            target = self.target = HttpTarget(self.url, self.headers)
            self.requests = [target.request(b) for b in plan.bodies]
            self.pool = ConnectionPool(target, plan.connect_timeout)
            self.send = self._send_raw
        if plan.cache_bust:
            # each body split once at its marker; a send joins the halves around a new request id
            self._bust = [b.split(BUST_BYTES, 1) for b in plan.bodies]
            self._sent = 0
            self._send_plain = self.send
            self.send = self._send_busted

    async def _send_busted(
        self, index: int, intended: float, body: bytes | None = None, pi: int = 0
    ) -> RequestRecord:
        """``send`` with ``[rid:<shard>-<n>]`` in the body (n counts this client's sends, warm-up
        included): no two requests of a run share a prompt prefix."""
        pi = index % self.n_bodies
        parts = self._bust[pi]
        self._sent += 1
        marker = b"[rid:%d-%d] " % (self.plan.shard_id, self._sent)
        body = marker.join(parts) if len(parts) == 2 else parts[0]
        return await self._send_plain(index, intended, body, pi)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.pool is not None:
            self.pool.close()

    async def _send_raw(
        self, index: int, intended: float, body: bytes | None = None, pi: int = 0
    ) -> RequestRecord:
        """Send request ``index`` (due at ``intended``) and record what happened. ``body``: a body built
        on the fly (a multi-turn session's turn, of conversation ``pi``) instead of a pre-built one."""
        perf_counter = time.perf_counter
        if body is None:
            pi = index % self.n_bodies
            request = self.requests[pi]
        else:
            request = self.target.request(body)
        rec = RequestRecord(index, pi, intended, perf_counter())
        plan = self.plan
        acc = StreamAccumulator(self.adapter) if plan.stream else None
        pool = self.pool
        assert pool is not None  # set in __init__ for the raw client, whose send this is
        conn = None
        try:
            for attempt in (0, 1):
                conn = await pool.acquire()
                reused = conn.used > 0
                try:
                    ex = await conn.exchange(
                        request,
                        acc.feed if acc is not None else None,
                        plan.total_timeout,
                        plan.read_timeout,
                    )
                    break
                except ConnectionResetError:
                    # a kept-alive connection the server had closed: nothing was answered, so
                    # sending again on a fresh connection is safe (once)
                    pool.release(conn)
                    conn = None
                    if attempt or not reused:
                        raise
            rec.status = ex.status
            if ex.status != 200:
                rec.reason = f"http_{ex.status}"
                rec.error = error_message(ex.body) or f"HTTP {ex.status}"
            elif acc is not None:
                try:
                    acc.close()
                finally:
                    self._take_stream(rec, acc)
            else:
                rec.out_times.append(perf_counter())
                self._take_body(rec, ex.body)
                if self.inputs is not None:
                    rec.inputs = self.inputs[pi]
        except Exception as exc:  # every failure is a measurement, never a crash
            rec.reason, rec.error = classify_exception(exc)
            if acc is not None and not len(rec.out_times):
                self._take_stream(rec, acc)
        finally:
            if conn is not None:
                pool.release(conn)
        rec.end = perf_counter()
        self.done += 1
        return rec

    def _take_stream(self, rec: RequestRecord, acc: StreamAccumulator) -> None:
        rec.out_times.extend(acc.out_times)
        if self.plan.keep_parts:
            rec.out_parts = acc.out_parts
        rec.prompt_tokens = acc.prompt_tokens
        rec.completion_tokens = acc.completion_tokens
        rec.finish_reason = acc.finish_reason
        if self.plan.keep_text:
            rec.text = acc.text

    def _take_body(self, rec: RequestRecord, raw: bytes) -> None:
        adapter = self.adapter
        try:
            body = loads(raw)
            err = adapter.error_in_event(body)
            if err:
                raise StreamError("api_error", err)
            d = adapter.parse_body(body)
        except (ValueError, AttributeError, TypeError, KeyError, IndexError) as exc:
            raise StreamError("bad_chunk", f"undecodable response body: {exc}") from None
        rec.out_parts = [(d.text or "") + (d.reasoning or "")]
        rec.text = d.text or ""
        rec.prompt_tokens, rec.completion_tokens = d.prompt_tokens, d.completion_tokens
        rec.finish_reason = d.finish_reason

    async def _send_aiohttp(
        self, index: int, intended: float, body: bytes | None = None, pi: int = 0
    ) -> RequestRecord:
        """The same measurement through aiohttp (kept as the reference the fast client is tested against)."""
        perf_counter = time.perf_counter
        if body is None:
            pi = index % self.n_bodies
            body = self.bodies[pi]
        rec = RequestRecord(index, pi, intended, perf_counter())
        session = self.session
        assert session is not None  # set in __init__ for the aiohttp client, whose send this is
        try:
            async with session.post(self.url, data=body, headers=self.headers) as resp:
                rec.status = status = resp.status
                if status != 200:
                    rec.reason = f"http_{status}"
                    rec.error = error_message(await resp.read()) or (resp.reason or "")
                elif self.plan.stream:
                    acc = StreamAccumulator(self.adapter)
                    feed = acc.feed
                    readany = resp.content.readany
                    try:
                        while True:
                            chunk = await readany()
                            if not chunk:
                                break
                            feed(chunk, perf_counter())
                        acc.close()
                    finally:
                        self._take_stream(rec, acc)
                else:
                    raw = await resp.read()
                    rec.out_times.append(perf_counter())
                    self._take_body(rec, raw)
                    if self.inputs is not None:
                        rec.inputs = self.inputs[pi]
        except Exception as exc:  # every failure is a measurement, never a crash
            rec.reason, rec.error = classify_exception(exc)
        rec.end = perf_counter()
        self.done += 1
        return rec


class LagProbe:
    """Measures event-loop lag: how long a callback made ready waits before it runs.

    That wait is exactly the error added to every chunk timestamp, so it is what decides whether
    the client distorted its own measurement.
    """

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    def start(self) -> None:
        self._handle = self._loop.call_later(PROBE_INTERVAL, self._probe)

    def _probe(self) -> None:
        t = time.perf_counter()
        self._loop.call_soon(self._measured, t)

    def _measured(self, t: float) -> None:
        self.lags.append(time.perf_counter() - t)
        self._handle = self._loop.call_later(PROBE_INTERVAL, self._probe)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


async def warm_up(client: LoadClient, n: int, parallel: int) -> None:
    """Send ``n`` unrecorded requests at ``parallel`` concurrency (fills the pool, warms the server)."""
    if n <= 0:
        return
    if client.plan.sessions is not None:  # multi-turn: n whole sessions, unrecorded
        from evalscope.perf.sessions import warm_up_sessions

        await warm_up_sessions(client, n, parallel)
        return
    it = iter(range(n))

    async def one() -> None:
        for i in it:
            await client.send(i, time.perf_counter())

    await asyncio.gather(*(one() for _ in range(min(parallel, n))))
    client.done = 0


def _floats(values: Sequence[float] | np.ndarray) -> Iterator[float]:
    """Plain floats from a list or a numpy array, converted a block at a time (not all up front)."""
    if isinstance(values, Sequence):
        yield from values
        return
    for start in range(0, len(values), 4096):
        yield from values[start : start + 4096].tolist()


async def run_schedule(client: LoadClient, plan: ShardPlan, t0: float, records: list[RequestRecord]) -> None:
    """Send the plan's requests (closed or open loop) from ``t0``; append records as they end."""
    if plan.sessions is not None:  # multi-turn: each of ``parallel`` senders runs sessions turn by turn
        from evalscope.perf.sessions import run_sessions

        await run_sessions(client, plan, t0, records)
        return
    append = records.append
    perf_counter = time.perf_counter
    deadline = t0 + plan.duration if plan.duration else None
    ramp_end = t0 + plan.ramp_up
    if plan.offsets is None:
        it = iter(plan.indices)

        async def closed() -> None:
            send = client.send
            for i in it:
                now = perf_counter()
                if deadline is not None and now >= deadline:
                    return
                append(await send(i, now))

        async def ramped(k: int, senders: int) -> None:
            # sender k joins at ramp_up * k / senders: concurrency grows linearly over the ramp
            start = t0 + plan.ramp_up * k / senders
            if start > perf_counter():
                await asyncio.sleep(start - perf_counter())
            send = client.send
            for i in it:
                now = perf_counter()
                if deadline is not None and now >= deadline:
                    return
                rec = await send(i, now)
                rec.ramp = now < ramp_end
                append(rec)

        senders = min(plan.parallel, len(plan.indices))
        if plan.ramp_up > 0:
            await asyncio.gather(*(ramped(k, senders) for k in range(senders)))
        else:
            await asyncio.gather(*(closed() for _ in range(senders)))
        return

    sem = asyncio.Semaphore(plan.parallel)
    pending: set[asyncio.Task] = set()

    async def guarded(i: int, due: float) -> None:
        async with sem:
            rec = await client.send(i, due)
        if due < ramp_end:
            rec.ramp = True
        append(rec)

    sleep = asyncio.sleep
    for i, off in zip(plan.indices, _floats(plan.offsets), strict=True):
        due = t0 + off
        if deadline is not None and due >= deadline:
            break
        wait = due - perf_counter()
        if wait > SPIN_WINDOW:
            await sleep(wait - SPIN_WINDOW)
        while perf_counter() < due:
            await sleep(0)  # yields to I/O, so responses keep being read while we wait
        task = asyncio.create_task(guarded(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)


async def run_shard(
    plan: ShardPlan,
    start_at: Callable[[], Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_records: Callable[[list[RequestRecord]], None] | None = None,
) -> tuple[list[RequestRecord], ClientStats]:
    """Run one shard: warm up, wait for the start signal (multi-process), send, measure itself.

    ``start_at`` is an awaitable factory returning the common ``t0`` (perf_counter seconds); without
    it the client starts right after its warm-up. ``on_progress(done)`` is called every 100 ms, and
    ``on_records`` (a job's live view) with the records finished since its last call.
    """
    client = LoadClient(plan)
    records: list[RequestRecord] = []
    stats = ClientStats()
    try:
        await warm_up(client, plan.warmup, plan.parallel)
        t0 = await start_at() if start_at is not None else time.perf_counter() + 0.001
        now = time.perf_counter()
        if t0 > now:
            await asyncio.sleep(t0 - now)
        probe = LagProbe()
        probe.start()
        ticker = None
        seen = 0

        def hand_over() -> None:  # the records finished since the last call, to the live view
            nonlocal seen
            if on_records is not None and len(records) > seen:
                n = len(records)
                on_records(records[seen:n])
                seen = n

        if on_progress is not None:

            async def tick() -> None:
                while True:
                    await asyncio.sleep(0.1)
                    hand_over()
                    on_progress(client.sessions_done if plan.sessions is not None else client.done)

            ticker = asyncio.create_task(tick())
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            await run_schedule(client, plan, t0, records)
        finally:
            stats.cpu_seconds = time.process_time() - cpu0
            stats.wall_seconds = time.perf_counter() - wall0
            probe.stop()
            stats.loop_lag = probe.lags
            if ticker is not None:
                ticker.cancel()
        hand_over()
        if on_progress is not None:
            on_progress(client.sessions_done if plan.sessions is not None else client.done)
    finally:
        await client.close()
    for r in records:
        r.worker = plan.shard_id
    return records, stats
