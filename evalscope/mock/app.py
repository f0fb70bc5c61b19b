"""The aiohttp application: routes, timing, scripted answers, injected faults and stats."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import random
import time
from collections import Counter, deque
from typing import Any

from aiohttp import web

from evalscope.client.probe import PROBE_HEADER
from evalscope.mock.capacity import Engine, Sequence
from evalscope.mock.config import MockConfig, ScriptedAnswer
from evalscope.mock.embeddings import handle_embeddings
from evalscope.mock.formats import (
    AnthropicMessages,
    DashScopeGeneration,
    GeminiGenerate,
    OpenAIChat,
    OpenAICompletions,
    StreamState,
    WireFormat,
)
from evalscope.mock.plan import BadRequest, GenRequest, Plan, build_plan
from evalscope.mock.prefix_cache import PrefixCache
from evalscope.mock.rerank import handle_rerank
from evalscope.mock.responses import OpenAIResponses
from evalscope.mock.tokenizer import count_tokens

FAULT_KINDS = ("error", "cut", "stall", "malformed")
REQUEST_LOG = 100_000  # requests kept by record_requests (the oldest go first)
# Recorded in by_status when the client went away before its answer was written (nginx's
# convention); aiohttp then finishes the dead response quietly.
CLIENT_GONE = 499
DISCONNECTED: web.RequestKey[bool] = web.RequestKey("evalscope_mock_disconnected", bool)


class MockState:
    """Everything the server changes while it runs; ``reset`` brings it back to the start."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        """Zero the stats and scripted failure and reply counters, drop timings, reseed the fault RNG."""
        seed = self.cfg.seed
        self.rng = random.Random(seed)
        # a separate stream for jitter, so the fault sequence does not depend on reply lengths
        self.jitter_rng = random.Random(None if seed is None else seed + 1)
        self.total = 0
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.prompts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.fail_counts: Counter[int] = Counter()
        self.reply_counts: Counter[int] = Counter()  # requests answered per scripted row (replies cycle)
        self.in_flight = 0
        self.max_in_flight = 0
        self.timings: dict[str, dict[str, Any]] = {}
        self.arrivals = 0
        self.probes = 0  # connection tests (PROBE_HEADER), kept out of every other statistic
        # record_requests: what each request carried and what it was answered (the newest REQUEST_LOG)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG)
        cfg = self.cfg
        self.prefix_cache = (
            PrefixCache(cfg.prefix_cache_blocks, cfg.prefix_block_tokens) if cfg.prefix_cache else None
        )
        self.engine = Engine(cfg)  # slots, queue and the counters of GET /metrics (capacity.py)

    def snapshot(self) -> dict[str, Any]:
        """The JSON body of ``GET /mock/stats``."""
        return {
            "total": self.total,
            "by_path": dict(self.by_path),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "prompts": dict(self.prompts),
            "faults": {k: self.faults.get(k, 0) for k in (*FAULT_KINDS, "scripted_error")},
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "probes": self.probes,
            "engine": {
                "running": self.engine.running,
                "waiting": self.engine.waiting,
                "max_running": self.engine.max_running,
                "max_waiting": self.engine.max_waiting,
                "prompt_tokens": self.engine.prompt_tokens,
                "generation_tokens": self.engine.generation_tokens,
            },
            **({"prefix_cache": self.prefix_cache.snapshot()} if self.prefix_cache is not None else {}),
        }

    def prefill(self, prompt_text: str) -> float:
        """Seconds of prefill before the first token: ``prefill_per_token`` per prompt token the prefix
        cache (when on) has not seen in its leading blocks; the lookup also stores the prompt's blocks."""
        cache, per_token = self.prefix_cache, self.cfg.prefill_per_token
        if cache is None:
            return per_token * count_tokens(prompt_text) if per_token > 0 else 0.0
        return per_token * cache.lookup_and_store(prompt_text).uncached_tokens

    def delay(self, base: float) -> float:
        """``base`` with the configured relative jitter applied."""
        j = self.cfg.jitter
        if base <= 0 or j <= 0:
            return base
        return base * self.jitter_rng.uniform(1 - j, 1 + j)


STATE: web.AppKey[MockState] = web.AppKey("mock_state", MockState)
METRICS: web.AppKey[Any] = web.AppKey("mock_metrics_registry")


class _Writer:
    """Buffers stream bytes and writes them only before a sleep or at the end.

    With no delays configured the whole stream goes out in one write, which is what keeps the mock
    fast; with delays each chunk is written (and time-stamped) as soon as the pause before the next
    one starts.
    """

    __slots__ = ("resp", "pending", "stamps", "record")

    def __init__(self, resp: web.StreamResponse, record: dict[str, Any] | None) -> None:
        self.resp = resp
        self.pending: list[bytes] = []
        self.stamps = 0  # content chunks buffered but not yet written
        self.record = record

    def emit(self, data: bytes, chunk: bool = False) -> None:
        self.pending.append(data)
        if chunk:
            self.stamps += 1

    def _stamp(self) -> None:
        if self.record is not None and self.stamps:
            now = time.perf_counter()
            chunks = self.record["chunks"]
            if not chunks:
                self.record["first_chunk"] = now
            chunks.extend([now] * self.stamps)
        self.stamps = 0

    async def flush(self) -> None:
        """Write what is pending."""
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            await self.resp.write(data)
            self._stamp()

    async def close(self) -> None:
        """Write what is pending together with the end of the body (one write, not two)."""
        data = b"".join(self.pending)
        self.pending.clear()
        await self.resp.write_eof(data)
        self._stamp()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await self.flush()
            await asyncio.sleep(seconds)


def _error(fmt: WireFormat, status: int, message: str, retry_after: float | None = None) -> web.Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return web.json_response(fmt.error_body(status, message), status=status, headers=headers)


def _authorized(request: web.Request, cfg: MockConfig) -> bool:
    """Whether ``request`` carries the configured key (if any) and every required header."""
    for name, value in cfg.required_headers.items():
        if not hmac.compare_digest(request.headers.get(name, "").encode(), value.get_secret_value().encode()):
            return False
    if cfg.api_key is None:
        return True
    key = cfg.api_key.get_secret_value()
    auth = request.headers.get("Authorization", "")
    given = [
        auth.removeprefix("Bearer ").strip(),
        request.headers.get("x-api-key", ""),
        request.headers.get("x-goog-api-key", ""),
        request.query.get("key", ""),
    ]
    if auth.startswith("Basic "):  # user:password@ in the client's URL
        try:
            given.append(base64.b64decode(auth[6:].strip()).decode().partition(":")[2])
        except (ValueError, UnicodeDecodeError):
            pass
    return any(g and hmac.compare_digest(g.encode(), key.encode()) for g in given)


def _pick_row(cfg: MockConfig, text: str) -> tuple[int, ScriptedAnswer] | None:
    for i, row in enumerate(cfg.answers):
        if row.matches(text):
            return i, row
    return None


def _handler(fmt: WireFormat):
    async def handle(request: web.Request) -> web.StreamResponse:
        st = request.app[STATE]
        if request.headers.get(PROBE_HEADER):
            return await _probe(request, fmt, st)
        st.total += 1
        st.by_path[request.path] += 1
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        record = None
        if st.cfg.record_timings:
            st.arrivals += 1
            key = request.headers.get("X-Request-Id") or str(st.arrivals)
            record = {
                "path": request.path,
                "received": time.perf_counter(),
                "first_chunk": None,
                "chunks": [],
            }
            st.timings[key] = record
        status = 500
        try:
            try:
                resp = await _generate(request, fmt, st, record)
            except ConnectionResetError:
                request[DISCONNECTED] = True
                resp = web.Response(status=CLIENT_GONE)
            transport = request.transport
            if not resp.prepared and (transport is None or transport.is_closing()):
                request[DISCONNECTED] = True
            status = CLIENT_GONE if request.get(DISCONNECTED) else resp.status
            return resp
        finally:
            st.in_flight -= 1
            st.by_status[status] += 1
            if record is not None:
                record["end"] = time.perf_counter()
                record["status"] = status

    return handle


async def _probe(request: web.Request, fmt: WireFormat, st: MockState) -> web.StreamResponse:
    """The connection test of eval and perf runs (marked by its header), answered at once.

    It is counted under ``probes`` only: it checks the key and the body like any request, but
    touches no workload statistic, scripted answer, fail counter or fault draw, so a seeded or
    scripted test sees the same sequence of requests with or without the probe.
    """
    st.probes += 1
    cfg = st.cfg
    if not _authorized(request, cfg):
        return _error(fmt, 401, "invalid or missing API key or required header")
    try:
        body = await request.json(loads=json.loads)
        if not isinstance(body, dict):
            raise BadRequest("request body: must be a JSON object")
        req = fmt.parse(body, request, cfg)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(fmt, 400, "request body: not valid JSON")
    except BadRequest as exc:
        return _error(fmt, 400, str(exc))
    plan = build_plan(req, None, cfg)
    if req.stream:
        resp = web.StreamResponse(headers={"Content-Type": fmt.stream_content_type(req)})
        await resp.prepare(request)
        ss = StreamState()
        parts = [fmt.head(plan, req)]
        for kind, text, n in plan.chunks(cfg.tokens_per_chunk):
            ss.tokens += n
            (ss.content if kind == "content" else ss.reasoning).append(text)
            parts.append(fmt.delta(plan, req, kind, text, ss))
            ss.chunks += 1
        parts.append(fmt.tail(plan, req, ss))
        await resp.write_eof(b"".join(parts))
        return resp
    return web.Response(
        body=json.dumps(fmt.body(plan, req), ensure_ascii=False).encode(), content_type="application/json"
    )


async def _generate(
    request: web.Request, fmt: WireFormat, st: MockState, record: dict[str, Any] | None
) -> web.StreamResponse:
    cfg = st.cfg
    arrived = time.perf_counter()  # the engine's clock: queue time, TTFT and latency in /metrics
    if not _authorized(request, cfg):
        return _error(fmt, 401, "invalid or missing API key or required header")
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(fmt, 400, "request body: not valid JSON")
    if not isinstance(body, dict):
        return _error(fmt, 400, "request body: must be a JSON object")
    try:
        req = fmt.parse(body, request, cfg)
    except BadRequest as exc:
        return _error(fmt, 400, str(exc))
    st.prompts[req.last_user] += 1

    # draw every fault every time so a seeded run is reproducible whatever the config
    d_error, d_cut, d_stall, d_malformed = (st.rng.random() for _ in range(4))
    picked = _pick_row(cfg, req.last_user)
    row = picked[1] if picked else None
    if row is not None and row.delay > 0:
        await asyncio.sleep(row.delay)
    if picked is not None and row is not None and row.error_status is not None:
        index, _ = picked
        if row.fail_times == 0 or st.fail_counts[index] < row.fail_times:
            st.fail_counts[index] += 1
            st.faults["scripted_error"] += 1
            retry = row.retry_after if row.retry_after is not None else cfg.retry_after
            return _error(fmt, row.error_status, f"scripted error for match {row.match!r}", retry)
    if d_error < cfg.error_rate:
        st.faults["error"] += 1
        code = st.rng.choice(cfg.error_codes)
        return _error(fmt, code, f"injected error {code}", cfg.retry_after)

    reply = None
    if picked is not None and picked[1].replies:
        index, row = picked
        reply = row.reply_for(st.reply_counts[index])
        st.reply_counts[index] += 1
    plan = build_plan(req, row, cfg, reply)
    if cfg.record_requests:  # the messages as received (a multi-turn test checks the history it carries)
        messages = body.get("messages", body.get("contents", body.get("input", body.get("prompt"))))
        st.request_log.append({"path": request.path, "messages": messages, "reply": plan.text})
    prefill = st.prefill(req.prompt_text) if (cfg.prefix_cache or cfg.prefill_per_token > 0) else 0.0
    cut = d_cut < cfg.cut_rate
    stall = d_stall < cfg.stall_rate
    malformed = d_malformed < cfg.malformed_rate
    for kind, hit in (("cut", cut), ("stall", stall), ("malformed", malformed)):
        if hit:
            st.faults[kind] += 1
    seq = await st.engine.admit(plan.prompt_tokens, arrived)  # with max_num_seqs: a slot, in arrival order
    try:
        if req.stream:
            resp = await _stream(request, fmt, st, req, plan, record, cut, stall, malformed, prefill, seq)
        else:
            resp = await _respond(request, fmt, st, req, plan, record, cut, stall, malformed, prefill, seq)
        if not (cut or request.get(DISCONNECTED)):
            seq.finish(plan.finish)
        return resp
    finally:
        seq.close()


async def _respond(
    request: web.Request,
    fmt: WireFormat,
    st: MockState,
    req: GenRequest,
    plan: Plan,
    record: dict[str, Any] | None,
    cut: bool,
    stall: bool,
    malformed: bool,
    prefill: float = 0.0,
    seq: Sequence | None = None,
) -> web.StreamResponse:
    cfg = st.cfg
    n_chunks = len(plan.chunks(cfg.tokens_per_chunk))
    # a non-streamed answer takes as long as the stream would have (gaps at the batch size of its start)
    gap = st.engine.gap()
    wait = st.delay(cfg.ttft) + prefill + sum(st.delay(gap) for _ in range(max(0, n_chunks - 1)))
    if stall:
        wait += cfg.stall_seconds
    if wait > 0:
        await asyncio.sleep(wait)
    data = json.dumps(fmt.body(plan, req), ensure_ascii=False).encode()
    if record is not None:
        record["first_chunk"] = time.perf_counter()
        record["chunks"].append(record["first_chunk"])
    if seq is not None:
        seq.first_token()
        seq.emit(plan.completion_tokens)
    if not (cut or malformed):
        return web.Response(body=data, content_type="application/json")
    half = data[: len(data) // 2]
    if malformed and not cut:  # a complete HTTP response whose body is not JSON
        return web.Response(body=half, content_type="application/json")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    if cfg.cut_mode == "abort":
        resp.content_length = len(data)
    await resp.prepare(request)
    await resp.write(half)
    return await _cut(request, resp, cfg.cut_mode)


async def _cut(request: web.Request, resp: web.StreamResponse, mode: str) -> web.StreamResponse:
    if mode == "eof":
        await resp.write_eof()
    elif request.transport is not None:
        request.transport.close()
    return resp


async def _stream(
    request: web.Request,
    fmt: WireFormat,
    st: MockState,
    req: GenRequest,
    plan: Plan,
    record: dict[str, Any] | None,
    cut: bool,
    stall: bool,
    malformed: bool,
    prefill: float = 0.0,
    seq: Sequence | None = None,
) -> web.StreamResponse:
    cfg = st.cfg
    eng = st.engine
    resp = web.StreamResponse(
        headers={"Content-Type": fmt.stream_content_type(req), "Cache-Control": "no-cache"}
    )
    chunks = plan.chunks(cfg.tokens_per_chunk)
    middle = len(chunks) // 2
    w = _Writer(resp, record)
    ss = StreamState()
    try:
        await resp.prepare(request)
        w.emit(fmt.head(plan, req))
        if cfg.ttft > 0 or prefill > 0:
            # prefill (the prefix-cache model) is not jittered: tests read the cache from TTFT
            await w.sleep(st.delay(cfg.ttft) + prefill)
        faulty = stall or malformed or cut
        for i, (kind, text, n) in enumerate(chunks):
            if i:
                gap = eng.gap()  # itl + itl_per_seq * requests decoding now
                if gap > 0:
                    await w.sleep(st.delay(gap))
            if faulty and i == middle:
                if stall:
                    await w.sleep(cfg.stall_seconds)
                if malformed:
                    w.emit(fmt.malformed())
                if cut:
                    await w.flush()
                    return await _cut(request, resp, cfg.cut_mode)
            ss.tokens += n
            (ss.content if kind == "content" else ss.reasoning).append(text)
            w.emit(fmt.delta(plan, req, kind, text, ss), chunk=True)
            ss.chunks += 1
            if seq is not None:
                if i == 0:
                    seq.first_token()  # buffered now, written at the next sleep or the end: microseconds later
                seq.emit(n)
        if not chunks and (stall or malformed or cut):  # an empty reply still shows its fault
            if stall:
                await w.sleep(cfg.stall_seconds)
            if malformed:
                w.emit(fmt.malformed())
            if cut:
                await w.flush()
                return await _cut(request, resp, cfg.cut_mode)
        w.emit(fmt.tail(plan, req, ss))
        await w.close()
    except ConnectionResetError:  # the client went away; nothing left to send
        request[DISCONNECTED] = True
    return resp


async def _models(request: web.Request) -> web.Response:
    st = request.app[STATE]
    st.total += 1
    st.by_path[request.path] += 1
    st.by_status[200] += 1
    model = {"id": st.cfg.model_name, "object": "model", "created": 0, "owned_by": "evalscope-mock"}
    return web.json_response({"object": "list", "data": [model]})


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].snapshot())


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"ok": True})


async def _requests(request: web.Request) -> web.Response:
    st = request.app[STATE]
    if not st.cfg.record_requests:
        return web.json_response(
            {"error": "requests are not recorded: start the mock with record_requests (--record-requests)"},
            status=404,
        )
    return web.json_response({"requests": list(st.request_log)})


async def _timings(request: web.Request) -> web.Response:
    st = request.app[STATE]
    if not st.cfg.record_timings:
        return web.json_response(
            {"error": "timings are not recorded: start the mock with record_timings (--record-timings)"},
            status=404,
        )
    return web.json_response({"clock": "time.perf_counter", "requests": st.timings})


async def _metrics(request: web.Request) -> web.Response:
    from evalscope.mock.metrics import CONTENT_TYPE, render

    return web.Response(body=render(request.app[METRICS]), headers={"Content-Type": CONTENT_TYPE})


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(cfg: MockConfig) -> web.Application:
    """Build the mock server's aiohttp application for ``cfg``."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = MockState(cfg)
    chat, completions = _handler(OpenAIChat()), _handler(OpenAICompletions())
    r = app.router
    for prefix in ("/v1", ""):
        r.add_post(f"{prefix}/chat/completions", chat)
        r.add_post(f"{prefix}/completions", completions)
        r.add_get(f"{prefix}/models", _models)
    r.add_post("/v1/messages", _handler(AnthropicMessages()))
    responses = _handler(OpenAIResponses())
    for prefix in ("/v1", ""):
        r.add_post(f"{prefix}/embeddings", handle_embeddings)
        r.add_post(f"{prefix}/responses", responses)
    for path in ("/v1/rerank", "/rerank", "/v2/rerank", "/v1/reranks"):  # vLLM's three, EvalScope's
        r.add_post(path, handle_rerank)
    gemini = _handler(GeminiGenerate())
    for version in ("v1beta", "v1"):
        r.add_post(f"/{version}/models/{{model_method}}", gemini)
    r.add_post("/api/v1/services/aigc/text-generation/generation", _handler(DashScopeGeneration()))
    r.add_get("/mock/stats", _stats)
    r.add_post("/mock/reset", _reset)
    r.add_get("/mock/timings", _timings)
    r.add_get("/mock/requests", _requests)
    r.add_get("/health", _health)
    if cfg.metrics:
        from evalscope.mock.metrics import metrics_registry

        app[METRICS] = metrics_registry(app[STATE])
        r.add_get("/metrics", _metrics)
    return app
