"""The eval engine's core: load every benchmark, ask the model with bounded concurrency on one async
client, score, append each finished sample to its predictions file, and write the reports.

:func:`evaluate` is the typed core (``-> EvalRun``); it writes exactly into the run folder it is given,
or a fresh ``<work_dir>/<YYYYMMDD_HHMMSS>_<id>/``.  It never imports the report package: the public
``run_task`` (``evalscope.eval.api``) calls it and then writes ``report.html``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalscope.client import ApiError, GenerationRequest, ModelClient
from evalscope.errors import RunFailed
from evalscope.eval.benchmarks import Sample, get_benchmark
from evalscope.eval.config import TaskConfig
from evalscope.eval.judge.strategy import for_run
from evalscope.eval.live import EvalLiveView
from evalscope.eval.loading import LoadedBenchmark, load_benchmark
from evalscope.eval.repeats import repeat_seed
from evalscope.eval.report import build_report, fmt_score
from evalscope.eval.results import (
    BenchmarkReport,
    EvalRun,
    SampleResult,
    failure_warnings,
    read_samples,
    run_error_counts,
)
from evalscope.eval.scoring import AnyScorer, AsyncScorer, ScoreContext, judge, judge_async
from evalscope.eval.storage import PredictionWriter, RunLayout
from evalscope.fsio import atomic_write_json
from evalscope.rundir import LIVE_FILE, RunDir
from evalscope.secrets import ScrubFilter, config_secret_values

log = logging.getLogger("evalscope.eval")
Progress = Callable[[int, int], None]


class EvalError(RuntimeError):
    """A run that cannot start (bad use_cache folder, unreadable data); the message says why."""


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    """Identifies the exact prompt a cached answer was given, so a changed prompt is asked again."""
    return hashlib.sha1(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


#: a finished answer's key in a run: (sample id, repeat index); repeat 0 is a k = 1 run's only answer
AnswerKey = tuple[str, int]


@dataclass
class PendingSample:
    """A sample (one repeat of it) still to ask: where its answer goes once it is scored."""

    bench: LoadedBenchmark
    sample: Sample
    writer: PredictionWriter
    results: dict[AnswerKey, SampleResult]  # the benchmark's finished answers
    repeat: int = 0
    # an earlier answer whose scorer failed (sandbox, judge): scored again, the model not asked again
    cached: SampleResult | None = None


@dataclass
class _Plan:
    """What a run has to do: the samples to ask, and per benchmark the finished ones and their file."""

    pending: list[PendingSample]
    finished: dict[str, dict[AnswerKey, SampleResult]]
    writers: dict[str, PredictionWriter]
    total: int


@dataclass
class _Tracker:
    """Counts finished samples for the ``progress`` callback and the terminal bar."""

    done: int
    total: int
    callback: Progress | None
    bar: Any = None
    span: dict[str, list[float]] = field(default_factory=dict)  # benchmark -> [first send, last finish]
    live: EvalLiveView | None = None  # a job's live.json (evalscope.eval.live)

    def report(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.task_ids[0], completed=self.done)
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.live is not None:
            self.live.maybe_write()

    def finish_one(self, benchmark: str | None = None, result: SampleResult | None = None) -> None:
        self.done += 1
        if self.live is not None and benchmark is not None and result is not None:
            self.live.add(benchmark, result)
        self.report()


def scorer_of(bench: LoadedBenchmark, cfg: TaskConfig) -> AnyScorer:
    """The scorer this run uses for ``bench``: the one ``judge_strategy`` picked when the benchmark was
    loaded (evalscope/eval/judge/strategy.py ``for_run``: the benchmark's own, or the judge)."""
    return bench.benchmark.scorer


def check_scorers(benches: list[LoadedBenchmark], cfg: TaskConfig) -> None:
    """Every async scorer's ``check`` before the run asks anything (no sandbox, no judge set up):
    raises :class:`EvalError` naming the benchmark and the fix."""
    for lb in benches:
        scorer = scorer_of(lb, cfg)
        if isinstance(scorer, AsyncScorer):
            try:
                scorer.check(cfg)
            except ValueError as exc:
                raise EvalError(f"{lb.benchmark.name}: {exc}") from None


async def _result(
    bench: LoadedBenchmark,
    sample: Sample,
    ctx: ScoreContext,
    *,
    output: str | None,
    reasoning: str = "",
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    latency: float | None = None,
    attempts: int = 1,
    error: str | None = None,
    error_reason: str | None = None,
    repeat: int | None = None,
    seed: int | None = None,
) -> SampleResult:
    verdict = await judge_async(
        scorer_of(bench, ctx.config), sample, output, finish_reason, ctx, failed=error is not None
    )
    if verdict.error is not None:
        error, error_reason = verdict.error, "scorer"
    scorer = scorer_of(bench, ctx.config)
    scored_by = (
        scorer.fingerprint(ctx.config) if isinstance(scorer, AsyncScorer) and output is not None else None
    )
    return SampleResult(
        id=sample.id,
        repeat=repeat,
        seed=seed if repeat is not None else None,
        subset=sample.subset,
        prompt_hash=prompt_hash(sample.messages or []),
        messages=sample.messages,
        target=sample.target,
        output=output,
        reasoning=reasoning,
        finish_reason=finish_reason,
        extracted=verdict.extracted,
        state=verdict.state,
        score=verdict.score,
        metrics=verdict.metrics,
        usage=usage or {},
        latency=latency,
        attempts=attempts,
        error=error,
        error_reason=error_reason,
        metadata=sample.metadata,
        details=verdict.details,
        scored_by=scored_by,
    )


def _rejudge(
    bench: LoadedBenchmark, sample: Sample, old: SampleResult, repeat: int | None, cfg: TaskConfig
) -> SampleResult:
    """A cached answer scored again with the current extractor (fixes to extraction apply on resume);
    ``repeat``: its index in this run (None when the run has one answer per question). An async
    scorer's verdict is kept as it was (resume never runs the code or asks the judge twice)."""
    scorer = scorer_of(bench, cfg)
    if isinstance(scorer, AsyncScorer):
        return old.model_copy(update={"repeat": repeat, "seed": old.seed if repeat is not None else None})
    verdict = judge(scorer, sample, old.output, old.finish_reason)
    return SampleResult(
        id=sample.id,
        repeat=repeat,
        seed=old.seed if repeat is not None else None,
        subset=sample.subset,
        prompt_hash=prompt_hash(sample.messages or []),
        messages=sample.messages,
        target=sample.target,
        output=old.output,
        reasoning=old.reasoning or "",
        finish_reason=old.finish_reason,
        extracted=verdict.extracted,
        state=verdict.state,
        score=verdict.score,
        metrics=verdict.metrics,
        usage=old.usage,
        latency=old.latency,
        attempts=old.attempts or 1,
        metadata=sample.metadata,
    )


def request_seed(cfg: TaskConfig, sample: Sample, repeat: int) -> int | None:
    """The seed sent for one repeat: repeat 0 sends ``generation_config.seed`` as is (the request of a
    k = 1 run, so its cached answer stays valid when k changes); repeat r >= 1 sends a seed derived
    from ``generation_config.seed`` (or the run's ``seed`` when that is not set), the sample id and r
    (evalscope.eval.repeats.repeat_seed), so each repeat samples anew and a rerun asks the same."""
    g = cfg.generation_config
    if repeat == 0:
        return g.seed
    return repeat_seed(g.seed if g.seed is not None else cfg.seed, sample.id, repeat)


def _request(cfg: TaskConfig, sample: Sample, seed: int | None) -> GenerationRequest:
    g = cfg.generation_config
    return GenerationRequest(
        messages=sample.messages,
        max_tokens=g.max_tokens,
        temperature=g.temperature,
        top_p=g.top_p,
        top_k=g.top_k,
        stop=g.stop,
        seed=seed,
        stream=cfg.stream,
        extra_body=g.extra_body(),
    )


async def _ask(client: ModelClient, cfg: TaskConfig, item: PendingSample, ctx: ScoreContext) -> SampleResult:
    seed = request_seed(cfg, item.sample, item.repeat)
    # a k = 1 run's lines carry no repeat key (today's keys); with k > 1 every line names its repeat
    repeat = item.repeat if cfg.repeats > 1 else None
    old = item.cached
    if old is not None:  # the model answered before; only its scorer failed
        return await _result(
            item.bench,
            item.sample,
            ctx,
            output=old.output,
            reasoning=old.reasoning or "",
            finish_reason=old.finish_reason,
            usage=old.usage,
            latency=old.latency,
            attempts=old.attempts or 1,
            repeat=repeat,
            seed=old.seed if repeat is not None else seed,
        )
    try:
        c = await client.generate(_request(cfg, item.sample, seed))
    except ApiError as exc:
        log.warning("%s %s: request failed after retries: %s", item.bench.benchmark.name, item.sample.id, exc)
        return await _result(
            item.bench,
            item.sample,
            ctx,
            output=None,
            error=str(exc),
            error_reason=exc.reason,
            repeat=repeat,
            seed=seed,
        )
    usage = {"prompt_tokens": c.usage.prompt_tokens, "completion_tokens": c.usage.completion_tokens}
    return await _result(
        item.bench,
        item.sample,
        ctx,
        output=c.text,
        reasoning=c.reasoning,
        finish_reason=c.finish_reason,
        usage=usage,
        latency=round(c.latency, 4),
        attempts=c.attempts,
        repeat=repeat,
        seed=seed,
    )


def open_run_dir(cfg: TaskConfig, run_dir: Path | str | RunDir | None, resume: bool) -> tuple[RunDir, bool]:
    """The folder this run writes into, and whether it resumes from the predictions there.

    With ``run_dir``: exactly that folder (``cfg.work_dir`` and ``cfg.use_cache`` are the caller's
    business).  Without: ``cfg.use_cache`` resumes in an earlier run's folder, else a fresh folder
    under ``cfg.work_dir``.
    """
    if run_dir is not None:
        return (run_dir if isinstance(run_dir, RunDir) else RunDir.at(run_dir)), resume
    if cfg.use_cache:
        root = Path(cfg.use_cache).expanduser().resolve()
        # config.json marks a run folder: resuming never writes into an arbitrary directory.
        if not root.is_dir() or not RunDir(root).is_run():
            raise EvalError(f"use_cache: {root} is not the folder of a previous run (no config.json)")
        return RunDir(root), True
    return RunDir.create(cfg.work_dir), False


def _root_handler_writes(path: Path) -> bool:
    target = os.path.realpath(path)
    return any(
        isinstance(h, logging.FileHandler) and os.path.realpath(h.baseFilename) == target
        for h in logging.getLogger().handlers
    )


@contextmanager
def run_log(cfg: TaskConfig, path: Path) -> Iterator[None]:
    """The engine's lines go to ``logs/run.log`` of the run folder, each line once.

    The rule: when a handler of the root logger already writes that file (a job worker's), the engine
    logger propagates to it and adds nothing; otherwise the engine attaches its own file handler (secrets
    scrubbed) and propagates only in debug mode (the CLI's terminal shows the lines then).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    shared = _root_handler_writes(path)
    handler: logging.Handler | None = None
    if not shared:
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        # run.log never holds the key or URL credentials, also when the engine runs alone (no job worker)
        handler.addFilter(ScrubFilter(config_secret_values(cfg.model_dump(mode="json"))))
        log.addHandler(handler)
    old_level, old_propagate = log.level, log.propagate
    log.setLevel(logging.DEBUG if cfg.debug else logging.INFO)
    log.propagate = shared or cfg.debug
    try:
        yield
    finally:
        log.setLevel(old_level)
        log.propagate = old_propagate
        if handler is not None:
            log.removeHandler(handler)
            handler.close()


async def evaluate(
    cfg: TaskConfig,
    progress: Progress | None = None,
    *,
    run_dir: Path | str | RunDir | None = None,
    resume: bool = False,
    live: bool = False,
) -> EvalRun:
    """Run an evaluation (the typed core of ``run_task``; no report.html).

    ``run_dir``: write exactly there (a job's folder); ``resume``: continue from the predictions
    already in it; ``live``: keep ``live.json`` (evalscope.eval.live) there while it runs (jobs).  Raises :class:`RunFailed` (carrying the result's JSON) when the model cannot be
    reached or not one sample could be scored, :class:`EvalError` when the run cannot start.
    """
    # each benchmark as this run scores it: judge_strategy picks its scorer (evalscope.eval.judge)
    benches = [load_benchmark(for_run(get_benchmark(name), cfg), cfg) for name in cfg.datasets]
    check_scorers(benches, cfg)
    rd, resume = open_run_dir(cfg, run_dir, resume)
    layout = RunLayout(rd, cfg.model)
    atomic_write_json(layout.config, cfg.redacted())
    with run_log(cfg, layout.log):
        log.info("run %s: model=%s datasets=%s", layout.root, cfg.model, ",".join(cfg.datasets))
        if cfg.repeats > 1 and cfg.generation_config.temperature == 0:
            log.warning("repeats=%d with temperature 0: the repeats may all be the same answer", cfg.repeats)
        plan = _plan(benches, layout, resume, cfg)
        ctx = ScoreContext(cfg)
        try:
            span, warnings = await _ask_pending(cfg, plan, layout, progress, ctx, live)
        finally:
            await ctx.aclose()
        reports = _write_reports(cfg, benches, plan, layout, span)
        return _outcome(cfg, layout, reports, plan.finished, warnings)


def _plan(benches: list[LoadedBenchmark], layout: RunLayout, resume: bool, cfg: TaskConfig) -> _Plan:
    """Split every benchmark's (sample, repeat) pairs into finished ones (a cached answer to the same
    prompt, scored again) and pending ones. Repeats already answered are kept whatever k was then.
    A cached answer whose scorer failed is pending for its scorer only (the model is not asked again)."""
    plan = _Plan(pending=[], finished={}, writers={}, total=0)
    repeats = cfg.repeats
    keep_repeat = repeats > 1
    for lb in benches:
        name = lb.benchmark.name
        path = layout.predictions(name)
        cached = read_samples(path) if resume else {}
        scorer = scorer_of(lb, cfg)
        fp = scorer.fingerprint(cfg) if isinstance(scorer, AsyncScorer) else None
        finished: dict[AnswerKey, SampleResult] = {}
        writer = PredictionWriter(path)
        plan.writers[name] = writer
        for s in lb.samples:
            phash = prompt_hash(s.messages or []) if cached else None
            for r in range(repeats):
                old = cached.get((s.id, r))
                if old and old.state != "error" and old.prompt_hash == phash and _verdict_valid(old, fp):
                    finished[(s.id, r)] = _rejudge(lb, s, old, r if keep_repeat else None, cfg)
                elif (
                    old
                    and old.output is not None
                    and old.prompt_hash == phash
                    and old.error_reason in (None, "scorer")
                ):
                    # answered before; its scorer failed, or was another one: scored again, not asked again
                    plan.pending.append(PendingSample(lb, s, writer, finished, r, cached=old))
                else:
                    plan.pending.append(PendingSample(lb, s, writer, finished, r))
        plan.finished[name] = finished
        plan.total += len(lb.samples) * repeats
        times = f" x {repeats} repeats" if repeats > 1 else ""
        log.info(
            "%s: %d samples%s, %d from cache, files: %s",
            name,
            len(lb.samples),
            times,
            len(finished),
            lb.files,
        )
    return plan


def _verdict_valid(old: SampleResult, fingerprint: str | None) -> bool:
    """A cached verdict is kept when the run's scorer is a rule (it is scored again, cheaply) or the
    async scorer that gave it (same judge model and template): a changed judge grades again."""
    return fingerprint is None or old.scored_by == fingerprint


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    )
    bar.start()
    bar.add_task("eval", total=total)
    return bar


async def _ask_pending(
    cfg: TaskConfig,
    plan: _Plan,
    layout: RunLayout,
    progress: Progress | None,
    ctx: ScoreContext,
    live: bool = False,
) -> tuple[dict[str, list[float]], list[str]]:
    """Ask every pending sample (after the connection test); returns the span of each benchmark's
    requests and the warnings so far.  Cached samples count as done at once."""
    tracker = _Tracker(
        done=plan.total - len(plan.pending),
        total=plan.total,
        callback=progress,
        bar=_progress_bar(plan.total, progress is None and sys.stderr.isatty()),
    )
    if live:
        tracker.live = _live_view(plan, layout)
    tracker.report()
    started = time.perf_counter()
    warnings: list[str] = []
    try:
        if plan.pending:
            if not cfg.no_test_connection:
                warnings.extend(await _test_connection(cfg, layout))
                warnings.extend(await _prepare_scorers(plan.pending, ctx, layout))
            await _send_all(cfg, plan.pending, tracker, ctx)
    except BaseException:
        if tracker.live is not None:
            tracker.live.close("failed")
        raise
    finally:
        if tracker.bar is not None:
            tracker.bar.stop()
        for w in plan.writers.values():
            w.close()
    log.info("asked %d samples in %.2f s", len(plan.pending), time.perf_counter() - started)
    if tracker.live is not None:
        tracker.live.close("finished")
    return tracker.span, warnings


def _live_view(plan: _Plan, layout: RunLayout) -> EvalLiveView:
    """The live view of this run, holding the samples already finished (from the cache)."""
    totals: dict[str, int] = {name: len(done) for name, done in plan.finished.items()}
    for item in plan.pending:
        name = item.bench.benchmark.name
        totals[name] = totals.get(name, 0) + 1
    view = EvalLiveView(layout.root / LIVE_FILE, totals)
    for name, done in plan.finished.items():
        for result in done.values():
            view.add(name, result, cached=True)
    return view


async def _send_all(
    cfg: TaskConfig, pending: list[PendingSample], tracker: _Tracker, ctx: ScoreContext
) -> None:
    """``eval_batch_size`` senders share one client and one queue of pending samples."""
    client = ModelClient(
        api=cfg.api,
        url=cfg.api_url,
        api_key=cfg.api_key,
        model=cfg.model,
        timeout=cfg.timeout,
        max_retries=cfg.max_retries,
        concurrency=cfg.eval_batch_size,
    )
    queue = iter(pending)

    async def sender() -> None:
        for item in queue:
            name = item.bench.benchmark.name
            tracker.span.setdefault(name, [time.perf_counter(), 0.0])
            result = await _ask(client, cfg, item, ctx)
            tracker.span[name][1] = time.perf_counter()
            item.writer.write(result)  # on disk at once: a crash loses only the samples in flight
            item.results[(item.sample.id, item.repeat)] = result
            tracker.finish_one(name, result)

    async with client:
        await asyncio.gather(*(sender() for _ in range(min(cfg.eval_batch_size, len(pending)))))


def _write_reports(
    cfg: TaskConfig,
    benches: list[LoadedBenchmark],
    plan: _Plan,
    layout: RunLayout,
    span: dict[str, list[float]],
) -> dict[str, BenchmarkReport]:
    """Compact each predictions file to one line per sample, and write each benchmark's report."""
    asked: dict[str, int] = {}
    for item in plan.pending:
        asked[item.bench.benchmark.name] = asked.get(item.bench.benchmark.name, 0) + 1
    reports: dict[str, BenchmarkReport] = {}
    for lb in benches:
        name = lb.benchmark.name
        finished = plan.finished[name]
        ordered = [
            finished[(s.id, r)] for s in lb.samples for r in range(cfg.repeats) if (s.id, r) in finished
        ]
        plan.writers[name].compact(ordered)
        duration = (span[name][1] - span[name][0]) if name in span else None
        reports[name] = _bench_report(cfg, lb, ordered, layout, duration, asked.get(name, 0))
    return reports


def _bench_report(
    cfg: TaskConfig,
    lb: LoadedBenchmark,
    ordered: list[SampleResult],
    layout: RunLayout,
    duration_s: float | None,
    asked: int,
) -> BenchmarkReport:
    """One benchmark's report from its finished samples, written to ``reports/<model>/<benchmark>.json``."""
    name = lb.benchmark.name
    report = build_report(
        benchmark=lb.benchmark,
        model=cfg.model,
        subsets=lb.subsets,
        records=ordered,
        duration_s=duration_s,
        asked=asked,
        files=lb.files,
        repeats=cfg.repeats,
    )
    atomic_write_json(layout.report(name), report.model_dump(mode="json", by_alias=True))
    log.info(
        "%s: score=%s counts=%s coverage=%.3f", name, fmt_score(report.score), report.counts, report.coverage
    )
    return report


@dataclass
class PartialReports:
    """What :func:`report_partial` wrote: the run's result so far, and how far it got."""

    run: EvalRun
    done: int  # answers on disk (each (sample, repeat) once), errors included
    total: int  # answers the run was to give


def report_partial(cfg: TaskConfig, run_dir: Path | str | RunDir) -> PartialReports:
    """The reports of a run that stopped midway (cancelled, failed, interrupted), from the answers its
    predictions files hold; nothing is asked and the predictions files are not rewritten.

    The benchmarks are loaded as the run loaded them (``cfg`` is the run's ``config.json``); every answer
    on disk to a prompt of this run is kept as it was scored (an error too: it is what happened), and
    ``reports/<model>/<benchmark>.json`` is written for each benchmark.  Raises :class:`EvalError` when
    no answer is on disk (nothing to report).
    """
    benches = [load_benchmark(for_run(get_benchmark(name), cfg), cfg) for name in cfg.datasets]
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
    layout = RunLayout(rd, cfg.model)
    chosen: list[tuple[LoadedBenchmark, list[SampleResult]]] = []
    finished: dict[str, dict[AnswerKey, SampleResult]] = {}
    total = 0
    for lb in benches:
        cached = read_samples(layout.predictions(lb.benchmark.name))
        by_key: dict[AnswerKey, SampleResult] = {}
        for s in lb.samples:
            phash = prompt_hash(s.messages or []) if cached else None
            for r in range(cfg.repeats):
                old = cached.get((s.id, r))
                if old is not None and old.prompt_hash == phash:
                    by_key[(s.id, r)] = old
        total += len(lb.samples) * cfg.repeats
        finished[lb.benchmark.name] = by_key
        chosen.append((lb, list(by_key.values())))
    done = sum(len(v) for v in finished.values())
    if not done:
        raise EvalError(f"{rd.root}: no finished sample in predictions/ (nothing to report)")
    reports = {
        lb.benchmark.name: _bench_report(cfg, lb, ordered, layout, None, len(ordered))
        for lb, ordered in chosen
    }
    samples = [s for by_key in finished.values() for s in by_key.values()]
    warnings = failure_warnings(reports, cfg.max_retries, {})
    run = EvalRun(
        output_dir=str(layout.root), result=reports, warnings=warnings, error_counts=run_error_counts(samples)
    )
    return PartialReports(run=run, done=done, total=total)


async def _prepare_scorers(pending: list[PendingSample], ctx: ScoreContext, layout: RunLayout) -> list[str]:
    """Each async scorer's ``prepare`` once (the judge's connection test), before any sample is asked:
    a judge that cannot be reached fails the run now, not after the model answered everything."""
    warnings: list[str] = []
    seen: set[str] = set()
    for item in pending:
        scorer = scorer_of(item.bench, ctx.config)
        if not isinstance(scorer, AsyncScorer):
            continue
        key = scorer.fingerprint(ctx.config)
        if key in seen:
            continue
        seen.add(key)
        try:
            warnings.extend(await scorer.prepare(ctx))
        except RunFailed as exc:
            log.error("%s: %s", item.bench.benchmark.name, exc.message)
            raise RunFailed(
                f"{item.bench.benchmark.name}: {exc.message}", output_dir=str(layout.root)
            ) from None
    return warnings


async def _test_connection(cfg: TaskConfig, layout: RunLayout) -> list[str]:
    """The one-request probe (evalscope.client.probe): raises RunFailed at once when the model cannot
    be reached or refuses the URL or key, instead of every sample spending its retries on it."""
    from evalscope.client.probe import check_connection

    try:
        warning = await check_connection(
            cfg.api, cfg.api_url, cfg.model, cfg.api_key, stream=cfg.stream, timeout=cfg.timeout
        )
    except RunFailed as exc:
        log.error("connection test failed: %s", exc.message)
        raise RunFailed(exc.message, output_dir=str(layout.root)) from None
    if warning:
        log.warning("%s", warning)
    return [warning] if warning else []


def _outcome(
    cfg: TaskConfig,
    layout: RunLayout,
    reports: dict[str, BenchmarkReport],
    finished: dict[str, dict[AnswerKey, SampleResult]],
    warnings: list[str],
) -> EvalRun:
    """The run with its ``warnings`` and ``error_counts``; raises RunFailed (carrying that result)
    when samples were due and not one of them could be scored."""
    samples = [s for by_id in finished.values() for s in by_id.values()]
    scorer_errors: dict[str, int] = {}
    for name, by_id in finished.items():
        n = sum(1 for s in by_id.values() if s.state == "error" and s.error_reason == "scorer")
        if n:
            scorer_errors[name] = n
    warnings = warnings + failure_warnings(reports, cfg.max_retries, scorer_errors)
    counts = run_error_counts(samples)
    for w in warnings:
        log.warning("%s", w)
    run = EvalRun(output_dir=str(layout.root), result=reports, warnings=warnings, error_counts=counts)
    failed = [s for s in samples if s.state == "error"]
    if samples and len(failed) == len(samples):
        from evalscope.client.adapters import make_adapter

        endpoint = make_adapter(cfg.api, cfg.api_url, cfg.model).endpoint(cfg.stream)
        reasons = ", ".join(f"{k} x{v}" for k, v in counts["by_reason"].items())
        by_scorer = sum(scorer_errors.values())
        what = (
            f"the scorer failed on all {len(samples)} answers"
            if by_scorer == len(samples)
            else f"all {len(samples)} requests to the model at {endpoint} failed"
        )
        message = f"no sample could be scored: {what} ({reasons}); first error: {failed[0].error}"
        log.error("%s", message)
        raise RunFailed(message, output_dir=str(layout.root), result=run.to_json())
    return run
