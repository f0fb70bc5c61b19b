"""The perf engine's core: a sweep over (parallel, number) pairs, written to a run folder, returned typed.

:func:`benchmark` / :func:`abenchmark` return a :class:`~evalscope.perf.results.PerfRun`; the public
``run_perf`` (:mod:`evalscope.perf.api`) adds report.html and returns its JSON.  The parts a
distributed run reuses are public here: :func:`build_bodies`, :func:`plan_shards` (one
:class:`ShardPlan` per shard), :func:`point_result` and :func:`check_run`; sending is
:func:`evalscope.perf.loadgen.run_shard`, writing :func:`evalscope.perf.output.write_point`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from evalscope import fsio
from evalscope._cpus import usable_cpus
from evalscope.client.adapters import make_adapter
from evalscope.client.jsonfast import dumps
from evalscope.client.types import GenerationRequest
from evalscope.errors import RunFailed
from evalscope.perf.arguments import TRACE_DATASETS, PerfArguments, load_prompt_arg
from evalscope.perf.console import ConsoleReporter
from evalscope.perf.live import LiveView, live_point, live_rows
from evalscope.perf.loadgen import BUST_MARKER, ClientStats, ShardPlan, run_async, run_shard
from evalscope.perf.metrics import compute_metrics
from evalscope.perf.output import point_name, write_point
from evalscope.perf.prompts import PromptItem, Tokenizer, load_prompts
from evalscope.perf.records import RequestRecord
from evalscope.perf.results import PerfRun, PointResult
from evalscope.perf.server_metrics import ServerMetrics
from evalscope.perf.shards import run_processes
from evalscope.perf.trace import Trace, load_trace
from evalscope.rundir import RunDir
from evalscope.slo import goodput_thresholds

log = logging.getLogger("evalscope.perf")

ProgressFn = Callable[[int, int], None]
#: one client process keeps up with about this much load on a typical core (see docs/benchmarks.md)
PARALLEL_PER_WORKER = 256
RATE_PER_WORKER = 2000.0


def _fill(template: Any, prompt: str, model: str) -> Any:
    if isinstance(template, str):
        return template.replace("%p", prompt).replace("%m", model)
    if isinstance(template, dict):
        return {k: _fill(v, prompt, model) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, prompt, model) for v in template]
    return template


def build_bodies(args: PerfArguments, prompts: list[PromptItem]) -> list[bytes]:
    """Serialise one request body per prompt, once, before the clock starts."""
    adapter = make_adapter(args.api, args.url, args.model, args.api_key, args.headers)
    template = None
    raw = load_prompt_arg(args.query_template)
    if raw and raw.lstrip().startswith("{"):
        try:
            template = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"query_template: not valid JSON ({exc.msg})") from None
    bodies = []
    for item in prompts:
        if item.body is not None:  # a trace row of EvalScope's: its own body, sent as it is
            bodies.append(dumps(_trace_body(args, item)))
            continue
        if args.cache_bust:
            item = _bust_marked(item)
        exact = item.output_tokens  # trace replay: exactly this many output tokens
        if template is not None:
            body = _fill(template, item.as_text(), args.model)
            body.update(args.extra_args)
        else:
            req = GenerationRequest(
                messages=item.as_messages() if item.prompt is None else None,
                prompt=item.prompt,
                max_tokens=args.max_tokens if exact is None else exact,
                temperature=args.temperature,
                top_p=args.top_p,
                top_k=args.top_k,
                stop=args.stop,
                seed=args.seed,
                min_tokens=args.min_tokens if exact is None else exact,
                stream=args.stream,
                extra_body=args.extra_args if exact is None else {**args.extra_args, "ignore_eos": True},
            )
            body = adapter.body(req)
        bodies.append(dumps(body))
    return bodies


def _bust_marked(item: PromptItem) -> PromptItem:
    """``item`` with the cache-bust marker at the start of its first message (the client puts a
    request id there at each send: loadgen.BUST_MARKER)."""
    if item.messages:
        (role, content), *rest = item.messages
        return replace(item, messages=((role, BUST_MARKER + content), *rest))
    return replace(item, prompt=BUST_MARKER + (item.prompt or ""))


def _trace_body(args: PerfArguments, item: PromptItem) -> dict[str, Any]:
    """An EvalScope trace row's body, with ``stream`` (and usage in the stream) as this run asks; with
    ``trace_match_output``, ``max_tokens`` = the row's ``completion_tokens`` and ``ignore_eos``."""
    body = json.loads(item.body or "{}")
    body.setdefault("model", args.model)
    body["stream"] = args.stream
    if args.stream:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    if item.output_tokens is not None:
        body["max_tokens"] = item.output_tokens
        if not (body.get("response_format") or body.get("tools")):  # constrained decoding: no ignore_eos
            body["ignore_eos"] = True
    return body


def auto_workers(parallel: int, rate: float, number: int) -> int:
    """Client processes for a sweep point: one per ~256 concurrent requests or ~2000 req/s, capped by
    the CPUs this process may use (affinity, cgroup quota), not the machine's count."""
    want = max(1, math.ceil(parallel / PARALLEL_PER_WORKER))
    if rate > 0:
        want = max(want, math.ceil(rate / RATE_PER_WORKER))
    return max(1, min(want, usable_cpus(), number))


def arrival_offsets(n: int, rate: float, burstiness: float, seed: int | None) -> list[float]:
    """Send times (seconds after t0) of ``n`` requests at ``rate`` per second.

    Gaps are gamma-distributed with shape ``burstiness`` (1 = exponential, i.e. Poisson arrivals),
    then scaled so their mean is exactly ``1/rate``: a run sends at the rate asked for, keeping
    the shape of the distribution.
    """
    return _arrival_array(n, rate, burstiness, seed).tolist()


def _arrival_array(n: int, rate: float, burstiness: float, seed: int | None) -> np.ndarray:
    # A float64 array (8 bytes per request, not a list of Python floats): memory before the
    # first request stays small even at the largest allowed ``number``.
    if n <= 1:
        return np.zeros(n)
    rng = np.random.default_rng(seed)
    gaps = rng.gamma(shape=burstiness, scale=1.0 / (rate * burstiness), size=n - 1)
    gaps *= (1.0 / rate) / gaps.mean()
    return np.concatenate(([0.0], np.cumsum(gaps)))


def session_request(args: PerfArguments) -> GenerationRequest:
    """The generation settings every turn of a multi-turn session is sent with (its messages are
    filled in per turn)."""
    return GenerationRequest(
        messages=[],
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        stop=args.stop,
        seed=args.seed,
        min_tokens=args.min_tokens,
        stream=args.stream,
        extra_body=args.extra_args,
    )


def ramped_offsets(offsets: np.ndarray, ramp_up: float) -> np.ndarray:
    """Arrival times whose rate grows linearly from 0 over ``ramp_up`` seconds, then stays.

    ``offsets`` are arrivals at the steady rate; each is moved to the time at which the ramped rate
    has accumulated as many arrivals: ``s`` -> ``sqrt(2 * ramp_up * s)`` while ``s < ramp_up / 2``,
    else ``s + ramp_up / 2`` (the shape of the gaps is kept, stretched during the ramp)."""
    if ramp_up <= 0:
        return offsets
    half = ramp_up / 2
    return np.where(offsets < half, np.sqrt(2 * ramp_up * np.minimum(offsets, half)), offsets + half)


def plan_shards(
    args: PerfArguments,
    bodies: list[bytes],
    parallel: int,
    number: int,
    shards: int,
    sessions: list[Any] | None = None,
    trace_offsets: np.ndarray | None = None,
) -> list[ShardPlan]:
    """Split one sweep point into ``shards`` plans: shard ``k`` sends request indices ``k, k + shards, ...``
    (each index exactly once over all shards), ``parallel / shards`` concurrency (at least 1), the
    matching arrival offsets under a rate, and its share of the warm-up requests. With ``sessions``
    (the conversations of a multi-turn run, :func:`evalscope.perf.conversations.load_conversations`)
    the indices are session ids and ``parallel`` counts sessions."""
    from evalscope.settings import settings

    if args.multi_turn and sessions is None:
        raise ValueError("multi_turn: a multi-turn run needs its conversations (load_conversations)")
    request = session_request(args) if sessions is not None else None

    http = settings().perf_http  # one read per point, not per shard
    if args.dataset in TRACE_DATASETS:
        if trace_offsets is None:
            raise ValueError("dataset: a trace replay needs the trace's send times (perf.trace.load_trace)")
        offsets: np.ndarray | None = trace_offsets[:number]
    elif args.rate > 0:
        offsets = ramped_offsets(_arrival_array(number, args.rate, args.burstiness, args.seed), args.ramp_up)
    else:
        offsets = None
    plans = []
    for k in range(shards):
        share = parallel // shards + (1 if k < parallel % shards else 0)
        plans.append(
            ShardPlan(
                api=args.api,
                url=args.url,
                model=args.model,
                api_key=args.api_key,
                headers=args.headers,
                bodies=bodies,
                stream=args.stream,
                parallel=max(1, share),
                indices=range(k, number, shards),  # a range, never a list: O(1) memory at any number
                offsets=offsets[k::shards] if offsets is not None else None,
                warmup=args.warmup_num // shards + (1 if k < args.warmup_num % shards else 0),
                duration=args.duration,
                connect_timeout=args.connect_timeout,
                read_timeout=args.read_timeout,
                total_timeout=args.total_timeout,
                shard_id=k,
                keep_parts=args.tokenizer_path is not None,
                http=http,
                ramp_up=args.ramp_up,
                cache_bust=args.cache_bust,
                sessions=sessions,
                request=request,
                think_time=tuple(args.think_time),
                seed=args.seed,
            )
        )
    return plans


async def run_point(
    args: PerfArguments,
    bodies: list[bytes],
    parallel: int,
    number: int,
    on_progress: Callable[[int], None] | None = None,
    sessions: list[Any] | None = None,
    trace: Trace | None = None,
    *,
    on_rows: Callable[[list[Any]], None] | None = None,
) -> tuple[list[RequestRecord], ClientStats, int]:
    """Send one sweep point's requests (in this process or spread over several); returns the records,
    the client's health and the number of client processes. ``trace``: a replay's send times."""
    if trace is not None:  # the trace's own rate sizes the client, not the (uncapped) parallel
        shards = args.workers or auto_workers(1, trace.mean_rate, number)
    else:
        shards = args.workers or auto_workers(parallel, args.rate, number)
    shards = max(1, min(shards, number))
    offsets = trace.offsets if trace is not None else None
    plans = plan_shards(args, bodies, parallel, number, shards, sessions, offsets)
    if shards == 1:
        on_records: Callable[[list[RequestRecord]], None] | None = None
        if on_rows is not None:  # a job's live view (evalscope.perf.live)
            sink = on_rows

            def to_rows(recs: list[RequestRecord]) -> None:
                sink(live_rows(recs))

            on_records = to_rows

        records, stats = await run_shard(plans[0], None, on_progress, on_records)
        return records, stats, 1
    loop = asyncio.get_running_loop()

    def rows_threadsafe(rows: list[Any]) -> None:
        if on_rows is not None:
            loop.call_soon_threadsafe(on_rows, rows)

    def threadsafe(done: int) -> None:
        if on_progress is not None:
            loop.call_soon_threadsafe(on_progress, done)

    rows = rows_threadsafe if on_rows is not None else None
    records, stats = await asyncio.to_thread(run_processes, plans, threadsafe, 120.0, rows)
    return records, stats, shards


def point_result(
    args: PerfArguments,
    records: list[RequestRecord],
    stats: ClientStats | None,
    parallel: int,
    number: int,
    *,
    tokenizer: Any = None,
    processes: int,
    distributed_shards: int | None = None,
) -> PointResult:
    """The metrics of one sweep point's records, with how the load was sent."""
    result = compute_metrics(
        records,
        parallel,
        number,
        rate=args.rate,
        slo=goodput_thresholds(args.slo),  # each metric's per-request bound (evalscope/slo.py)
        tokenizer=tokenizer,
        client=stats,
        trace_speedup=args.trace_speedup if args.dataset in TRACE_DATASETS else None,
        ramp_up=args.ramp_up,
    )
    result.metrics.client_processes = processes
    if distributed_shards is not None:
        result.metrics.distributed_shards = distributed_shards
    return result


def point_args(args: PerfArguments, parallel: int, number: int, **extra: Any) -> dict[str, Any]:
    """What a point's ``benchmark_args.json`` holds: the run's public arguments and the point's own."""
    return args.public_dict() | {"parallel": parallel, "number": number} | extra


def open_run_dir(args: PerfArguments, run_dir: str | Path | RunDir | None) -> RunDir:
    """``run_dir`` exactly when given, else a new ``<outputs_dir>/<timestamp>/<name>/``; writes config.json."""
    if isinstance(run_dir, RunDir):
        folder = run_dir
    elif run_dir is not None:
        folder = RunDir.at(run_dir)
    else:
        folder = RunDir.create(args.outputs_dir, args.name or fsio.safe_name(args.model, fallback="perf"))
    fsio.atomic_write_json(folder.config, args.public_dict())
    return folder


async def abenchmark(
    args: PerfArguments | dict[str, Any],
    progress: ProgressFn | None = None,
    *,
    run_dir: str | Path | RunDir | None = None,
    show_progress: bool | None = None,
    show_summary: bool | None = None,
    live: bool = False,
) -> PerfRun:
    """Run the sweep in the running event loop; see :func:`benchmark`."""
    if not isinstance(args, PerfArguments):
        args = PerfArguments.model_validate(args)
    interactive = progress is None and sys.stdout.isatty()
    show_progress = interactive if show_progress is None else show_progress
    show_summary = interactive if show_summary is None else show_summary
    if args.search is not None:  # an SLO search (perf/slo_search.py) picks its own loads
        from evalscope.perf.slo_search import asearch

        return await asearch(args, progress, run_dir=run_dir, show_summary=show_summary, live=live)
    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    sessions = None
    trace: Trace | None = None
    if args.multi_turn:
        from evalscope.perf.conversations import load_conversations

        sessions = load_conversations(args, tokenizer)
        bodies: list[bytes] = []
    elif args.dataset in TRACE_DATASETS:
        trace = load_trace(args, tokenizer)
        n = len(trace.items)
        if any(k > n for k in args.number):  # EvalScope: number at most the trace's length
            args.number = [min(k, n) for k in args.number]
        if "number" not in args.model_fields_set:
            args.number = [n] * len(args.parallel)
        bodies = build_bodies(args, trace.items)
    else:
        bodies = build_bodies(args, load_prompts(args, tokenizer))
    run_warnings: list[str] = []  # run-level; each point's own are in its summary
    if not args.no_test_connection:
        run_warnings.extend(await _test_connection(args))
    folder = open_run_dir(args, run_dir)
    server = ServerMetrics.for_run(args)  # the target's /metrics, scraped in a thread per point
    total = sum(n for _, n in args.pairs)
    reporter = ConsoleReporter(total, enabled=show_progress)
    view = LiveView(folder.live, list(args.pairs)) if live else None
    results: dict[str, PointResult] = {}
    finished = 0
    try:
        for k, (parallel, number) in enumerate(args.pairs):
            if k and args.sleep_interval:
                reporter.sleeping(args.sleep_interval)
                await asyncio.sleep(args.sleep_interval)
            key = point_name(parallel, number)
            reporter.start_point(key, number)
            if view is not None:
                view.start_point(k, key)

            def on_progress(done: int, base: int = finished) -> None:
                reporter.update(base + done)
                if view is not None:
                    view.maybe_write()
                if progress is not None:
                    progress(base + done, total)

            scrape = server.start_point(folder.root / key) if server is not None else None
            if scrape is not None:
                await asyncio.to_thread(scrape.wait_baseline)  # the counters' reference, before the load
            try:
                records, stats, processes = await run_point(
                    args,
                    bodies,
                    parallel,
                    number,
                    on_progress,
                    sessions,
                    trace,
                    on_rows=view.add if view is not None else None,
                )
            except BaseException:
                if scrape is not None:
                    scrape.stop(timeout=0)
                raise
            finished += number
            on_progress(number, finished - number)
            result = point_result(
                args, records, stats, parallel, number, tokenizer=tokenizer, processes=processes
            )
            if server is not None:
                seen = await asyncio.to_thread(server.end_point, scrape, result.metrics.avg_ttft)
                if seen is not None:
                    result.metrics.server_metrics = seen
            for w in result.metrics.warnings:
                log.warning("%s: %s", key, w)
            write_point(folder.root / key, result, records, point_args(args, parallel, number))
            results[key] = result
            if view is not None:
                view.end_point(live_point(result))
            reporter.end_point()
            if show_summary:
                reporter.print_result(key, result)
    except BaseException:
        if view is not None:
            view.close("failed")
        raise
    finally:
        reporter.close()
    if view is not None:
        view.close("finished")
    if server is not None:
        run_warnings.extend(server.warnings)
    return check_run(args, PerfRun.collect(str(folder), results, run_warnings))


async def _test_connection(args: PerfArguments) -> list[str]:
    """One tiny request before the sweep (evalscope.client.probe): a dead endpoint, a wrong path or
    key fails the run at once with RunFailed instead of after a sweep of failures."""
    from evalscope.client.probe import check_connection

    warning = await check_connection(
        args.api,
        args.url,
        args.model,
        args.api_key,
        args.headers,
        stream=args.stream,
        timeout=args.total_timeout,
        connect_timeout=args.connect_timeout,
    )
    if warning:
        log.warning("%s", warning)
    return [warning] if warning else []


def check_run(args: PerfArguments, run: PerfRun) -> PerfRun:
    """``run`` itself, or RunFailed carrying its JSON when every request of every point failed."""
    if not run.all_failed:
        return run
    counts = run.error_counts
    endpoint = make_adapter(args.api, args.url, args.model).endpoint(args.stream)
    examples = run.failure_examples()
    message = (
        f"every request failed: all {counts['total']} requests to the model at {endpoint} failed ("
        + ", ".join(f"{k} x{v}" for k, v in counts["by_reason"].items())
        + ")"
        + (f"; first error: {examples[0]}" if examples else "")
    )
    log.error("%s", message)
    raise RunFailed(message, output_dir=run.output_dir, result=run.as_json())


def run_blocking(make: Callable[[], Any]) -> Any:
    """Run the coroutine ``make()`` to completion and return its result, blocking.

    Uses uvloop when installed; safe to call from a thread that already runs an event loop (the
    coroutine then runs in a thread of its own).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_async(make())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run_async(make())
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target, name="evalscope-perf")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def benchmark(
    args: PerfArguments | dict[str, Any],
    progress: ProgressFn | None = None,
    *,
    run_dir: str | Path | RunDir | None = None,
    show_progress: bool | None = None,
    show_summary: bool | None = None,
    live: bool = False,
) -> PerfRun:
    """Run a perf sweep into a run folder and block until it ends (no report.html: see
    :func:`evalscope.perf.api.run_perf`).

    ``run_dir``: write exactly there (a job's folder); without it a new
    ``<outputs_dir>/<timestamp>/<name>/`` is made. ``progress(done, total)`` is called as requests
    finish (total = requests over all sweep points). Raises :class:`evalscope.errors.RunFailed`
    (carrying the result's JSON when there is one) when the model cannot be reached or every request
    failed. ``live``: keep ``live.json`` (evalscope.perf.live) in the run folder while it runs (jobs).
    """
    return run_blocking(
        lambda: abenchmark(
            args,
            progress,
            run_dir=run_dir,
            show_progress=show_progress,
            show_summary=show_summary,
            live=live,
        )
    )
