"""The eval runner: load every benchmark, ask the model with bounded concurrency on one async client,
score, append each finished sample to its predictions file, and write the reports.

``run_task(cfg, progress=cb)`` is what the CLI and the service call (docs/interfaces.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalscope.client import ApiError, GenerationRequest, ModelClient
from evalscope.errors import RunFailed, error_counts
from evalscope.eval.benchmarks import Sample, get_benchmark
from evalscope.eval.config import TaskConfig
from evalscope.eval.loading import LoadedBenchmark, load_benchmark
from evalscope.eval.report import build_report, fmt_score
from evalscope.eval.scoring import judge
from evalscope.eval.storage import (
    PredictionWriter,
    RunLayout,
    atomic_write_json,
    new_run_dir,
    read_predictions,
)
from evalscope.secrets import ScrubFilter, config_secret_values

log = logging.getLogger("evalscope.eval")
Progress = Callable[[int, int], None]


class EvalError(RuntimeError):
    """A run that cannot start (bad use_cache folder, unreadable data); the message says why."""


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    """Identifies the exact prompt a cached answer was given, so a changed prompt is asked again."""
    return hashlib.sha1(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class _Job:
    bench: LoadedBenchmark
    sample: Sample
    writer: PredictionWriter
    records: dict[str, dict[str, Any]]


def _record(bench: LoadedBenchmark, sample: Sample, *, output: str | None, reasoning: str = "",
            finish_reason: str | None = None, usage: dict[str, Any] | None = None, latency: float | None = None,
            attempts: int = 1, error: str | None = None, error_reason: str | None = None) -> dict[str, Any]:
    verdict = judge(bench.benchmark.scorer, sample, output, finish_reason, failed=error is not None)
    return {
        "id": sample.id,
        "subset": sample.subset,
        "prompt_hash": prompt_hash(sample.messages or []),
        "messages": sample.messages,
        "target": sample.target,
        "output": output,
        "reasoning": reasoning,
        "finish_reason": finish_reason,
        "extracted": verdict.extracted,
        "state": verdict.state,
        "score": verdict.score,
        "metrics": verdict.metrics,
        "usage": usage or {},
        "latency": latency,
        "attempts": attempts,
        "error": error,
        "error_reason": error_reason,  # ApiError.reason (http_500, connection, timeout, ...)
        "metadata": sample.metadata,
    }


def _rejudge(bench: LoadedBenchmark, sample: Sample, old: dict[str, Any]) -> dict[str, Any]:
    """A cached answer scored again with the current extractor (fixes to extraction apply on resume)."""
    return _record(bench, sample, output=old.get("output"), reasoning=old.get("reasoning") or "",
                   finish_reason=old.get("finish_reason"), usage=old.get("usage"), latency=old.get("latency"),
                   attempts=old.get("attempts") or 1)


def _request(cfg: TaskConfig, sample: Sample) -> GenerationRequest:
    g = cfg.generation_config
    return GenerationRequest(messages=sample.messages, max_tokens=g.max_tokens, temperature=g.temperature,
                             top_p=g.top_p, top_k=g.top_k, stop=g.stop, seed=g.seed, stream=cfg.stream,
                             extra_body=g.extra_body())


async def _ask(client: ModelClient, cfg: TaskConfig, job: _Job) -> dict[str, Any]:
    try:
        c = await client.generate(_request(cfg, job.sample))
    except ApiError as exc:
        log.warning("%s %s: request failed after retries: %s", job.bench.benchmark.name, job.sample.id, exc)
        return _record(job.bench, job.sample, output=None, error=str(exc), error_reason=exc.reason)
    usage = {"prompt_tokens": c.usage.prompt_tokens, "completion_tokens": c.usage.completion_tokens}
    return _record(job.bench, job.sample, output=c.text, reasoning=c.reasoning, finish_reason=c.finish_reason,
                   usage=usage, latency=round(c.latency, 4), attempts=c.attempts)


def _resolve_output_dir(cfg: TaskConfig) -> Path:
    if cfg.use_cache:
        root = Path(cfg.use_cache).expanduser().resolve()
        # config.json marks a run folder: resuming never writes into an arbitrary directory.
        if not root.is_dir() or not (root / "config.json").is_file():
            raise EvalError(f"use_cache: {root} is not the folder of a previous run (no config.json)")
        return root
    return new_run_dir(cfg.work_dir)


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
    bar.start()
    bar.add_task("eval", total=total)
    return bar


async def arun_task(cfg: TaskConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Coroutine form of ``run_task``."""
    benches = [load_benchmark(get_benchmark(name), cfg) for name in cfg.datasets]
    root = _resolve_output_dir(cfg)
    layout = RunLayout(root, cfg.model)
    atomic_write_json(layout.config, cfg.redacted())
    layout.log.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(layout.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    # run.log never holds the key or URL credentials, also when the engine runs alone (no job worker)
    handler.addFilter(ScrubFilter(config_secret_values(cfg.model_dump(mode="json"))))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if cfg.debug else logging.INFO)
    log.propagate = cfg.debug
    try:
        return await _run(cfg, benches, layout, progress)
    finally:
        log.removeHandler(handler)
        handler.close()


async def _run(cfg: TaskConfig, benches: list[LoadedBenchmark], layout: RunLayout,
               progress: Progress | None) -> dict[str, Any]:
    log.info("run %s: model=%s datasets=%s", layout.root, cfg.model, ",".join(cfg.datasets))
    jobs: list[_Job] = []
    writers: dict[str, PredictionWriter] = {}
    done_records: dict[str, dict[str, dict[str, Any]]] = {}
    for lb in benches:
        name = lb.benchmark.name
        path = layout.predictions(name)
        cached = read_predictions(path) if cfg.use_cache else {}
        records: dict[str, dict[str, Any]] = {}
        writer = PredictionWriter(path)
        writers[name] = writer
        for s in lb.samples:
            old = cached.get(s.id)
            if old and old.get("state") != "error" and old.get("prompt_hash") == prompt_hash(s.messages or []):
                records[s.id] = _rejudge(lb, s, old)
            else:
                jobs.append(_Job(lb, s, writer, records))
        done_records[name] = records
        log.info("%s: %d samples, %d from cache, files: %s", name, len(lb.samples), len(records), lb.files)

    total = sum(len(lb.samples) for lb in benches)
    done = total - len(jobs)
    bar = _progress_bar(total, progress is None and sys.stderr.isatty())
    if bar is not None:
        bar.update(bar.task_ids[0], completed=done)
    if progress is not None:
        progress(done, total)

    started = time.perf_counter()
    span: dict[str, list[float]] = {}  # benchmark -> [first send, last finish]
    warnings: list[str] = []
    if jobs:
        try:
            if not cfg.no_test_connection:
                warnings.extend(await _test_connection(cfg, layout))
            client = ModelClient(api=cfg.api, url=cfg.api_url, api_key=cfg.api_key, model=cfg.model,
                                 timeout=cfg.timeout, max_retries=cfg.max_retries,
                                 concurrency=cfg.eval_batch_size)
            queue = iter(jobs)

            async def worker() -> None:
                nonlocal done
                for job in queue:
                    name = job.bench.benchmark.name
                    span.setdefault(name, [time.perf_counter(), 0.0])
                    rec = await _ask(client, cfg, job)
                    span[name][1] = time.perf_counter()
                    job.writer.write(rec)
                    job.records[job.sample.id] = rec
                    done += 1
                    if bar is not None:
                        bar.update(bar.task_ids[0], completed=done)
                    if progress is not None:
                        progress(done, total)

            async with client:
                await asyncio.gather(*(worker() for _ in range(min(cfg.eval_batch_size, len(jobs)))))
        finally:
            if bar is not None:
                bar.stop()
            for w in writers.values():
                w.close()
    elif bar is not None:
        bar.stop()
    log.info("asked %d samples in %.2f s", len(jobs), time.perf_counter() - started)

    asked_by_bench: dict[str, int] = {}
    for job in jobs:
        asked_by_bench[job.bench.benchmark.name] = asked_by_bench.get(job.bench.benchmark.name, 0) + 1
    results: dict[str, Any] = {}
    for lb in benches:
        name = lb.benchmark.name
        records = done_records[name]
        ordered = [records[s.id] for s in lb.samples if s.id in records]
        writers[name].compact(ordered)
        report = build_report(benchmark=lb.benchmark, model=cfg.model, subsets=lb.subsets, records=ordered,
                              duration_s=(span[name][1] - span[name][0]) if name in span else None,
                              asked=asked_by_bench.get(name, 0), files=lb.files)
        atomic_write_json(layout.report(name), report)
        results[name] = report
        log.info("%s: score=%s counts=%s coverage=%.3f", name,
                 fmt_score(report["score"]), report["counts"], report["coverage"])
    from evalscope.report import try_write_report

    try_write_report(layout.root)  # report.html in the run folder; logs (never raises) on failure
    return _outcome(cfg, layout, results, done_records, warnings)


async def _test_connection(cfg: TaskConfig, layout: RunLayout) -> list[str]:
    """The one-request probe (evalscope.client.probe): raises RunFailed at once when the model cannot
    be reached or refuses the URL or key, instead of every sample spending its retries on it."""
    from evalscope.client.probe import check_connection

    try:
        warning = await check_connection(cfg.api, cfg.api_url, cfg.model, cfg.api_key, stream=cfg.stream,
                                         timeout=cfg.timeout)
    except RunFailed as exc:
        log.error("connection test failed: %s", exc.message)
        raise RunFailed(exc.message, output_dir=str(layout.root)) from None
    if warning:
        log.warning("%s", warning)
    return [warning] if warning else []


def _outcome(cfg: TaskConfig, layout: RunLayout, results: dict[str, Any],
             records: dict[str, dict[str, dict[str, Any]]], warnings: list[str]) -> dict[str, Any]:
    """The run's result with its ``warnings`` and ``error_counts``; raises RunFailed (carrying that
    result) when samples were due and not one of them could be scored."""
    failed = [r for recs in records.values() for r in recs.values() if r.get("state") == "error"]
    total = sum(len(recs) for recs in records.values())
    for name, rep in results.items():
        bad, num = rep["counts"].get("error", 0), sum(rep["counts"].values())
        if num and not rep["num_scored"]:
            warnings.append(f"{name}: no sample could be scored (all {num} requests failed); its score is n/a")
        elif bad:
            warnings.append(f"{name}: {bad} of {num} samples failed (no answer after {cfg.max_retries} "
                            f"retries); the score covers the other {num - bad}")
    counts = error_counts(total, [r.get("error_reason") or "error" for r in failed])
    for w in warnings:
        log.warning("%s", w)
    result = {"output_dir": str(layout.root), "result": results, "warnings": warnings, "error_counts": counts}
    if total and len(failed) == total:
        from evalscope.client.adapters import make_adapter

        endpoint = make_adapter(cfg.api, cfg.api_url, cfg.model).endpoint(cfg.stream)
        reasons = ", ".join(f"{k} x{v}" for k, v in counts["by_reason"].items())
        message = (f"no sample could be scored: all {total} requests to the model at {endpoint} failed "
                   f"({reasons}); first error: {failed[0].get('error')}")
        log.error("%s", message)
        raise RunFailed(message, output_dir=str(layout.root), result=result)
    return result


def run_task(cfg: TaskConfig | dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """Run an evaluation and block until it finishes.

    Returns ``{"output_dir": "/abs/...", "result": {"<benchmark>": <report json>, ...},
    "warnings": [...], "error_counts": {"total": n, "failed": k, "by_reason": {...}}}``.
    ``progress(done, total)`` is called as samples finish (cached ones count as done at once).
    Raises :class:`evalscope.errors.RunFailed` (with ``output_dir`` and that result) when the model
    cannot be reached or not one sample could be scored.
    """
    if not isinstance(cfg, TaskConfig):
        cfg = TaskConfig.model_validate(cfg)
    return asyncio.run(arun_task(cfg, progress))
