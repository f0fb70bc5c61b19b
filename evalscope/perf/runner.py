"""``run_perf`` / ``arun_perf``: a sweep over (parallel, number) pairs, written to disk and returned."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from evalscope._cpus import usable_cpus
from evalscope.client.adapters import make_adapter
from evalscope.client.jsonfast import dumps
from evalscope.client.types import GenerationRequest
from evalscope.errors import RunFailed, error_counts
from evalscope.perf.arguments import PerfArguments, load_prompt_arg
from evalscope.perf.console import ConsoleReporter
from evalscope.perf.engine import ClientStats, WorkerSpec, run_async, run_worker
from evalscope.perf.metrics import compute_metrics
from evalscope.perf.output import make_run_dir, safe_name, write_json, write_records
from evalscope.perf.prompts import PromptItem, Tokenizer, load_prompts
from evalscope.perf.records import Record
from evalscope.perf.workers import run_processes

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
        if template is not None:
            body = _fill(template, item.as_text(), args.model)
            body.update(args.extra_args)
        else:
            req = GenerationRequest(
                messages=item.as_messages() if item.prompt is None else None,
                prompt=item.prompt, max_tokens=args.max_tokens, temperature=args.temperature,
                top_p=args.top_p, top_k=args.top_k, stop=args.stop, seed=args.seed,
                min_tokens=args.min_tokens, stream=args.stream, extra_body=args.extra_args)
            body = adapter.body(req)
        bodies.append(dumps(body))
    return bodies


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


def _specs(args: PerfArguments, bodies: list[bytes], parallel: int, number: int, workers: int) -> list[WorkerSpec]:
    offsets = _arrival_array(number, args.rate, args.burstiness, args.seed) if args.rate > 0 else None
    specs = []
    for w in range(workers):
        share = parallel // workers + (1 if w < parallel % workers else 0)
        specs.append(WorkerSpec(
            api=args.api, url=args.url, model=args.model, api_key=args.api_key, headers=args.headers,
            bodies=bodies, stream=args.stream, parallel=max(1, share),
            indices=range(w, number, workers),  # a range, never a list: O(1) memory at any number
            offsets=offsets[w::workers] if offsets is not None else None,
            warmup=args.warmup_num // workers + (1 if w < args.warmup_num % workers else 0),
            duration=args.duration, connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
            total_timeout=args.total_timeout, worker_id=w, keep_parts=args.tokenizer_path is not None,
            http=os.environ.get("EVALSCOPE_PERF_HTTP", "raw")))
    return specs


async def run_point(args: PerfArguments, bodies: list[bytes], parallel: int, number: int,
                    on_progress: Callable[[int], None] | None = None) -> tuple[list[Record], ClientStats, int]:
    """Send one sweep point's requests (in this process or spread over several); returns the records."""
    workers = args.workers or auto_workers(parallel, args.rate, number)
    workers = max(1, min(workers, number))
    specs = _specs(args, bodies, parallel, number, workers)
    if workers == 1:
        records, stats = await run_worker(specs[0], None, on_progress)
        return records, stats, 1
    loop = asyncio.get_running_loop()

    def threadsafe(done: int) -> None:
        if on_progress is not None:
            loop.call_soon_threadsafe(on_progress, done)

    records, stats = await asyncio.to_thread(run_processes, specs, threadsafe)
    return records, stats, workers


async def arun_perf(args: PerfArguments | dict[str, Any], progress: ProgressFn | None = None, *,
                    show_progress: bool | None = None, show_summary: bool | None = None) -> dict[str, Any]:
    """Run the sweep in the running event loop; see :func:`run_perf`."""
    if not isinstance(args, PerfArguments):
        args = PerfArguments.model_validate(args)
    interactive = progress is None and sys.stdout.isatty()
    show_progress = interactive if show_progress is None else show_progress
    show_summary = interactive if show_summary is None else show_summary
    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    prompts = load_prompts(args, tokenizer)
    bodies = build_bodies(args, prompts)
    run_warnings: list[str] = []  # run-level; each point's own are in its summary
    if not args.no_test_connection:
        run_warnings.extend(await _test_connection(args))
    run_dir = make_run_dir(args.outputs_dir, args.name or safe_name(args.model))
    total = sum(n for _, n in args.pairs)
    reporter = ConsoleReporter(total, enabled=show_progress)
    results: dict[str, Any] = {}
    finished = 0
    try:
        for k, (parallel, number) in enumerate(args.pairs):
            if k and args.sleep_interval:
                reporter.sleeping(args.sleep_interval)
                await asyncio.sleep(args.sleep_interval)
            key = f"parallel_{parallel}_number_{number}"
            reporter.start_point(key, number)

            def on_progress(done: int, base: int = finished) -> None:
                reporter.update(base + done)
                if progress is not None:
                    progress(base + done, total)

            records, stats, workers = await run_point(args, bodies, parallel, number, on_progress)
            finished += number
            on_progress(number, finished - number)
            summary, percentiles, warnings = compute_metrics(
                records, parallel, number, rate=args.rate, slo=args.slo, tokenizer=tokenizer, client=stats)
            summary["Client processes"] = workers
            if warnings:
                summary["Warnings"] = warnings
                for w in warnings:
                    log.warning("%s: %s", key, w)
            point_dir = run_dir / key
            point_dir.mkdir()
            point_args = args.public_dict() | {"parallel": parallel, "number": number}
            write_json(point_dir / "benchmark_args.json", point_args)
            write_json(point_dir / "benchmark_summary.json", summary)
            write_json(point_dir / "benchmark_percentile.json", percentiles)
            write_records(point_dir / "benchmark_data.db", records)
            results[key] = {"metrics": summary, "percentiles": percentiles}
            reporter.end_point()
            if show_summary:
                reporter.print_result(key, summary, percentiles)
    finally:
        reporter.close()
    from evalscope.report import try_write_report

    try_write_report(run_dir)  # report.html next to the sweep points; logs (never raises) on failure
    return perf_outcome(args, str(run_dir), results, run_warnings)


async def _test_connection(args: PerfArguments) -> list[str]:
    """One tiny request before the sweep (evalscope.client.probe): a dead endpoint, a wrong path or
    key fails the run at once with RunFailed instead of after a sweep of failures."""
    from evalscope.client.probe import check_connection

    warning = await check_connection(args.api, args.url, args.model, args.api_key, args.headers,
                                     stream=args.stream, timeout=args.total_timeout,
                                     connect_timeout=args.connect_timeout)
    if warning:
        log.warning("%s", warning)
    return [warning] if warning else []


def perf_outcome(args: PerfArguments, output_dir: str, results: dict[str, Any],
                 warnings: list[str] | None = None) -> dict[str, Any]:
    """The sweep's result with run-level ``warnings`` (each point's, prefixed by the point) and
    ``error_counts``; raises RunFailed carrying it when every request of every point failed."""
    warnings = list(warnings or [])
    total, reasons = 0, []
    for key, point in results.items():
        m = point["metrics"]
        total += m["Succeed requests"] + m["Failed requests"]
        for reason, n in (m.get("Failures by reason") or {}).items():
            reasons += [reason] * n
        warnings += [f"{key}: {w}" for w in m.get("Warnings") or []]
    counts = error_counts(total, reasons)
    result = {"output_dir": output_dir, "results": results, "warnings": warnings, "error_counts": counts}
    if total and counts["failed"] == total:
        endpoint = make_adapter(args.api, args.url, args.model).endpoint(args.stream)
        examples = [e for point in results.values() for e in (point["metrics"].get("Failure examples") or {}).values()]
        message = (f"every request failed: all {total} requests to the model at {endpoint} failed ("
                   + ", ".join(f"{k} x{v}" for k, v in counts["by_reason"].items()) + ")"
                   + (f"; first error: {examples[0]}" if examples else ""))
        log.error("%s", message)
        raise RunFailed(message, output_dir=output_dir, result=result)
    return result


def run_perf(args: PerfArguments | dict[str, Any], progress: ProgressFn | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run a perf sweep and block until it ends.

    ``args`` is a :class:`PerfArguments` (or a dict validated into one). ``progress(done, total)``
    is called as requests finish (total = requests over all sweep points). Returns
    ``{"output_dir": ..., "results": {"parallel_<p>_number_<n>": {"metrics": ..., "percentiles": ...}},
    "warnings": [...], "error_counts": {"total": n, "failed": k, "by_reason": {...}}}``. Raises
    :class:`evalscope.errors.RunFailed` (carrying that result when there is one) when the model
    cannot be reached or every request failed.
    Uses uvloop when installed; safe to call from a thread that already runs an event loop.
    """
    def runner() -> dict[str, Any]:
        return run_async(arun_perf(args, progress, **kwargs))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return runner()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = runner()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target, name="evalscope-perf")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
