"""A job's headline: a human name and the outcome at a glance (the job list shows it per row).

Computed once when a job reaches a final state, from its stored config and result
(:meth:`evalscope.jobs.store.JobStore.transition` stores it with the row), so listing jobs never
reads a result file.  The name alone is computed for jobs still queued or running.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, Field

Outcome = Literal["ok", "errors", "failed", "cancelled", "interrupted", "running", "queued"]

#: benchmarks named in a job's name before "+N more"
NAME_BENCHMARKS = 4


class BenchmarkScore(BaseModel):
    """One benchmark's headline: its main metric over every subset."""

    benchmark: str
    metric: str = "score"
    score: float | None = Field(None, description="null when nothing was scored")
    samples: int = 0
    errors: int = Field(0, description="samples in state error")


class CapacityHeadline(BaseModel):
    """An SLO search's answer (``slo_search.json``'s ``capacity``, evalscope.perf.slo_search)."""

    search: Literal["concurrency", "rate"]
    value: int | float | None = Field(
        description="the largest load found to meet every SLO (null: not even the least)"
    )
    unit: str = Field(description="concurrent requests, or requests/s for a rate search")
    throughput_rps: float | None = Field(None, description="requests/s measured at that load")
    clear: bool = Field(
        description="both bracketing decisions were statistically clear (false: by the estimates)"
    )
    failing_load: int | float | None = Field(
        None, description="the smallest load seen to fail (null: none failed)"
    )
    slo: str = Field("", description="the SLOs searched for, e.g. 'ttft p90 <= 150 ms'")
    stop_reason: str = Field("", description="converged, max_load, min_load_fails, request_budget, ...")


class PerfHeadline(BaseModel):
    """A load test's headline: the best sweep point by requests/s; an SLO search's found capacity."""

    best_rps: float | None = Field(None, description="highest request throughput over the points (req/s)")
    best_point: str | None = Field(None, description="the point that reached it (parallel_<p>_number_<n>)")
    concurrency: int | None = Field(None, description="that point's concurrency")
    p99_ttft_s: float | None = Field(None, description="p99 TTFT at the best point (s)")
    p99_latency_s: float | None = Field(None, description="p99 latency at the best point (s)")
    points: int = 0
    requests: int = 0
    failed: int = Field(0, description="failed requests over every point")
    capacity: CapacityHeadline | None = Field(None, description="an SLO search's answer (null: not a search)")


class PartialReport(BaseModel):
    """The report of a job that stopped midway (cancelled, failed, interrupted), written by the service
    from what the run finished (evalscope.jobs.partial)."""

    status: Literal["writing", "written", "none"] = Field(
        description="writing (the service is writing it now); written; none (nothing to report, see reason)"
    )
    text: str | None = Field(
        None, description="the report's banner, e.g. 'cancelled after 3 of 10 samples' (written only)"
    )
    path: str | None = Field(None, description="the report in the job's folder (written only): report.html")
    reason: str | None = Field(None, description="why there is no report (none only)")


class JobSummary(BaseModel):
    """What the job list shows for one job."""

    name: str = Field(description="model + benchmarks (eval) or model + sweep (perf)")
    outcome: Outcome = Field(
        description="ok; errors (finished with failed requests/samples or warnings); failed; cancelled; "
        "interrupted; or the state of a job not finished"
    )
    scores: list[BenchmarkScore] = Field(default_factory=list, description="eval: one per benchmark")
    perf: PerfHeadline | None = None
    errors: int = Field(0, description="failed requests (perf) or error samples (eval)")
    warnings: int = 0
    partial_report: PartialReport | None = Field(
        None,
        description="a job that stopped midway: its partial report (null for a job that ran to its end, "
        "or a kind without reports)",
    )


def _nums(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def job_name(kind: str, config: dict[str, Any]) -> str:
    """``model · gsm8k, mmlu`` for an eval, ``model · c=1,4 n=20,80`` for a load test."""
    model = str(config.get("model") or "?")
    if kind == "eval":
        names = [str(d) for d in _nums(config.get("datasets"))]
        shown = ", ".join(names[:NAME_BENCHMARKS])
        if len(names) > NAME_BENCHMARKS:
            shown += f" +{len(names) - NAME_BENCHMARKS} more"
        return f"{model} · {shown}" if shown else model
    if kind == "perf" and config.get("search"):  # the search picks its own loads: name what it looks for
        return f"{model} · capacity search ({config.get('search')})"
    if kind == "perf":
        sweep = []
        if config.get("parallel") is not None:
            sweep.append("c=" + ",".join(str(p) for p in _nums(config.get("parallel"))))
        if config.get("number") is not None:
            sweep.append("n=" + ",".join(str(n) for n in _nums(config.get("number"))))
        if config.get("rate") not in (None, -1, -1.0):
            sweep.append(f"rate={config.get('rate')}/s")
        return f"{model} · {' '.join(sweep)}" if sweep else model
    return f"{kind}: {model}" if config.get("model") else kind


def _eval_headline(result: dict[str, Any]) -> tuple[list[BenchmarkScore], int]:
    scores, errors = [], 0
    for name, rep in (result.get("result") or {}).items():
        if not isinstance(rep, dict):
            continue
        counts = rep.get("counts") or {}
        metrics = rep.get("metrics") or []
        metric = metrics[0].get("name", "score") if metrics and isinstance(metrics[0], dict) else "score"
        err = int(counts.get("error", 0) or 0)
        errors += err
        scores.append(
            BenchmarkScore(
                benchmark=str(name),
                metric=str(metric),
                score=rep.get("score"),
                samples=int(sum(v for v in counts.values() if isinstance(v, int))),
                errors=err,
            )
        )
    return scores, errors


def _at(percentiles: dict[str, Any], column: str, label: str = "99%") -> float | None:
    labels = percentiles.get("Percentiles") or []
    values = percentiles.get(column) or []
    if label in labels:
        i = labels.index(label)
        if i < len(values) and isinstance(values[i], int | float):
            return float(values[i])
    return None


def _perf_headline(result: dict[str, Any]) -> PerfHeadline:
    head = PerfHeadline()
    best: tuple[float, str, dict[str, Any]] | None = None
    for key, point in (result.get("results") or {}).items():
        if not isinstance(point, dict):
            continue
        m = point.get("metrics") or {}
        head.points += 1
        head.requests += int(m.get("Total requests", 0) or 0)
        head.failed += int(m.get("Failed requests", 0) or 0)
        rps = m.get("Request throughput (req/s)")
        if isinstance(rps, int | float) and (best is None or rps > best[0]):
            best = (float(rps), str(key), point)
    if best is not None:
        head.best_rps, head.best_point = best[0], best[1]
        m, pct = best[2].get("metrics") or {}, best[2].get("percentiles") or {}
        head.concurrency = m.get("Number of concurrency")
        head.p99_ttft_s = _at(pct, "TTFT (s)")
        head.p99_latency_s = _at(pct, "Latency (s)")
    head.capacity = _capacity(result.get("slo_search"))
    return head


def _capacity(search: Any) -> CapacityHeadline | None:
    """The headline of ``slo_search.json`` (a PerfRun's ``slo_search``); None without a search."""
    if not isinstance(search, dict) or not isinstance(search.get("capacity"), dict):
        return None
    cap = search["capacity"]
    return CapacityHeadline(
        search=cap.get("search") or search.get("search") or "concurrency",
        value=cap.get("value"),
        unit=str(cap.get("unit") or ""),
        throughput_rps=cap.get("throughput_rps"),
        clear=bool(cap.get("clear")),
        failing_load=cap.get("failing_load"),
        slo=str(search.get("slo_text") or ""),
        stop_reason=str(search.get("stop_reason") or ""),
    )


def summarize(kind: str, state: str, config: dict[str, Any], result: dict[str, Any] | None) -> JobSummary:
    """The headline of a job in ``state`` with this config and (possibly partial) result."""
    summary = JobSummary(name=job_name(kind, config), outcome="queued")
    result = result if isinstance(result, dict) else {}
    if kind == "eval":
        summary.scores, summary.errors = _eval_headline(result)
    elif kind == "perf" and result:
        summary.perf = _perf_headline(result)
        summary.errors = summary.perf.failed
    summary.warnings = len(result.get("warnings") or [])
    if state == "succeeded":
        summary.outcome = "errors" if summary.errors or summary.warnings else "ok"
    elif state in ("failed", "cancelled", "interrupted", "running", "queued"):
        summary.outcome = cast(Outcome, state)  # the same words
    return summary
