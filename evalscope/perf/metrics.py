"""Metrics computed from per-request records only. Each definition is written once, here.

- Duration: last completion minus first (intended) send; every throughput divides by it.
- Latency: end of the response minus the intended send time (equal to the actual send time in a
  closed loop; under ``--rate`` this counts client-side queueing, avoiding coordinated omission).
- TTFT: first chunk carrying output (content or reasoning; never a role-only or empty chunk) minus
  the intended send time. Non-streamed: the whole latency.
- Output tokens: the server's ``usage`` count, else the ``--tokenizer-path`` count of the text, else
  unknown (the request is left out of token metrics, with a warning; never the requested length).
- TPOT, per request: (latency - TTFT) / (output tokens - 1); averaged over requests.
- ITL, per token: each gap between two output chunks divided by the tokens the later chunk carries
  (counted by the tokenizer when given, else output tokens / output chunks of that request; with
  unknown tokens, per chunk). One value per gap.
- Dispatch lag: actual send minus intended send.
- Goodput: requests meeting every ``--slo`` (ms) per second of duration.
- Trace replay: send-time error = actual send minus the trace's (sped-up) time, p50/p99/max in ms.
- Ramp-up: requests sent during ``--ramp-up`` (records with ``ramp``) are left out of every metric
  (the measured part starts when the ramp ends); the summary counts them apart.
- Multi-turn (records with ``turn``): the same definitions per request, plus one row per turn index
  and the sessions' figures (:func:`session_metrics`).
- Embeddings and rerank (records with ``inputs``): no output, so no TTFT, TPOT, ITL or output tokens
  (their summary keys are null); instead inputs/s (texts embedded, documents ranked), input tokens/s
  (``usage.prompt_tokens``) and the average inputs per request.

:func:`request_values` applies the per-request definitions (the report draws its distributions with
it too); :func:`compute_metrics` turns one sweep point's records into a :class:`PointResult`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from evalscope.perf.records import RequestRecord
from evalscope.perf.results import (
    PERCENTILES,
    PointMetrics,
    PointPercentiles,
    PointResult,
    SessionMetrics,
    TurnMetrics,
)

if TYPE_CHECKING:
    from evalscope.perf.loadgen import ClientStats

LAG_LIMIT = 0.001  # event-loop lag above this (p99) means the client skewed its own timestamps
CPU_LIMIT = 0.95


def _mean(values: Sequence[float] | np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _round(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(v, nd)


def _pct(values: Sequence[float] | np.ndarray) -> list[float | None]:
    if not len(values):
        return [None] * len(PERCENTILES)
    return [round(float(x), 6) for x in np.percentile(np.asarray(values, dtype=float), PERCENTILES)]


@dataclass
class RequestValues:
    """The per-request (and, for ITL, per-gap) values of the successful requests of a point."""

    latency: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    tpot: list[float] = field(default_factory=list)
    itl: list[float] = field(default_factory=list)
    input_tokens: list[int] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    output_rate: list[float] = field(default_factory=list)  # output tokens / latency, per request
    total_rate: list[float] = field(default_factory=list)  # (input + output tokens) / latency
    unknown_output: int = 0  # successful requests whose output tokens are unknown
    per_chunk_itl: bool = False  # some ITL values are per chunk (token counts unknown)
    meeting_slo: int = 0
    inputs: list[int] = field(default_factory=list)  # texts per embeddings request


def output_tokens(r: RequestRecord, tokenizer: Any = None) -> int | None:
    """The request's output tokens: the server's usage, else the tokenizer's count, else None."""
    n = r.completion_tokens
    if n is None and tokenizer is not None:
        n = tokenizer.count(r.text)
    return n


def inter_token_latencies(
    r: RequestRecord, n_out: int | None, tokenizer: Any = None
) -> tuple[list[float], bool]:
    """(ITL values of one request, True when they are per chunk because its token counts are unknown)."""
    times = r.out_times
    if len(times) < 2:
        return [], False
    gaps = np.diff(np.frombuffer(times, dtype=float))
    if tokenizer is not None and r.out_parts:
        k: Any = np.maximum(np.asarray(tokenizer.count_batch(r.out_parts[1:]), dtype=float), 1.0)
    elif n_out is not None:
        k = max(n_out / len(times), 1.0)
    else:
        return gaps.tolist(), True
    return (gaps / k).tolist(), False


def meets_slo(
    slo: dict[str, float], ttft: float | None, tpot: float | None, lat: float, itl: list[float]
) -> bool:
    """True when one request meets every SLO (milliseconds; ttft, tpot, e2el, itl)."""
    if "ttft" in slo and (ttft is None or ttft * 1e3 > slo["ttft"]):
        return False
    if "tpot" in slo and tpot is not None and tpot * 1e3 > slo["tpot"]:
        return False
    if "e2el" in slo and lat * 1e3 > slo["e2el"]:
        return False
    return not ("itl" in slo and itl and max(itl) * 1e3 > slo["itl"])


def request_values(
    records: list[RequestRecord], tokenizer: Any = None, slo: dict[str, float] | None = None
) -> RequestValues:
    """Apply the per-request definitions to the successful ``records``."""
    v = RequestValues()
    for r in records:
        if not r.ok:
            continue
        lat = r.end - r.intended
        if r.inputs is not None:  # embeddings: latency and input counts only
            v.latency.append(lat)
            v.inputs.append(r.inputs)
            if r.prompt_tokens is not None:
                v.input_tokens.append(r.prompt_tokens)
            if slo and meets_slo(slo, None, None, lat, []):
                v.meeting_slo += 1
            continue
        first = (r.out_times[0] - r.intended) if len(r.out_times) else None
        v.latency.append(lat)
        if first is not None:
            v.ttft.append(first)
        n_out = output_tokens(r, tokenizer)
        n_in = r.prompt_tokens
        if n_out is None:
            v.unknown_output += 1
        else:
            v.output_tokens.append(n_out)
            v.output_rate.append(n_out / lat if lat > 0 else 0.0)
        if n_in is not None:
            v.input_tokens.append(n_in)
            if n_out is not None:
                v.total_rate.append((n_in + n_out) / lat if lat > 0 else 0.0)
        req_tpot = None
        if n_out is not None and n_out > 1 and first is not None:
            req_tpot = (lat - first) / (n_out - 1)
            v.tpot.append(req_tpot)
        req_itl, per_chunk = inter_token_latencies(r, n_out, tokenizer)
        v.itl.extend(req_itl)
        v.per_chunk_itl |= per_chunk
        if slo and meets_slo(slo, first, req_tpot, lat, req_itl):
            v.meeting_slo += 1
    return v


def duration(records: list[RequestRecord]) -> float:
    """Last completion minus first intended send (0 without records)."""
    if not records:
        return 0.0
    return max(max(r.end for r in records) - min(r.intended for r in records), 1e-9)


def _core_metrics(
    records: list[RequestRecord], v: RequestValues, parallel: int, number: int, seconds: float
) -> PointMetrics:
    """EvalScope's documented summary, then the counts that are always present."""
    failed = [r for r in records if not r.ok]
    n_ok = len(records) - len(failed)
    sum_in, sum_out = sum(v.input_tokens), sum(v.output_tokens)
    has_out = bool(v.output_tokens)
    reasons = dict(Counter(str(r.reason) for r in failed))
    # assigned one by one (not passed to the constructor): each assignment marks the key present, in
    # the declared order whatever the order here, and is checked by the type checker by field name
    m = PointMetrics()
    m.time_taken = round(seconds, 4)
    m.concurrency = parallel
    m.total_requests = len(records)
    m.succeed_requests = n_ok
    m.failed_requests = len(failed)
    m.output_throughput = _round(sum_out / seconds if seconds and has_out else None)
    m.total_throughput = _round((sum_in + sum_out) / seconds if seconds and has_out else None)
    m.request_throughput = _round(n_ok / seconds if seconds else None)
    m.avg_latency = _round(_mean(v.latency), 6)
    m.avg_ttft = _round(_mean(v.ttft), 6)
    m.avg_tpot = _round(_mean(v.tpot), 6)
    m.avg_itl = _round(_mean(v.itl), 6)
    m.avg_input_tokens = _round(_mean(v.input_tokens))
    m.avg_output_tokens = _round(_mean(v.output_tokens))
    m.requested_number = number
    m.failures_by_reason = reasons
    if failed:
        m.failure_examples = {
            reason: next(r.error for r in failed if r.reason == reason) for reason in reasons
        }
    m.unknown_output_requests = v.unknown_output
    m.itl_basis = "per chunk (token counts unknown)" if v.per_chunk_itl else "per token"
    if v.inputs:
        m.inputs_throughput = _round(sum(v.inputs) / seconds if seconds else None)
        m.input_throughput = _round(sum_in / seconds if seconds and v.input_tokens else None)
        m.avg_inputs = _round(_mean(v.inputs))
    return m


def _rate_metrics(m: PointMetrics, records: list[RequestRecord], rate: float) -> None:
    """Under ``--rate``: the target, the achieved send rate and the dispatch lag."""
    starts = sorted(r.start for r in records)
    lags = [r.start - r.intended for r in records]
    m.target_rate = rate
    m.achieved_send_rate = (
        _round((len(starts) - 1) / (starts[-1] - starts[0]))
        if len(starts) > 1 and starts[-1] > starts[0]
        else None
    )
    m.avg_dispatch_lag = _round(_mean(lags), 6)
    m.p99_dispatch_lag = _round(float(np.percentile(lags, 99)) if lags else None, 6)
    m.max_dispatch_lag = _round(max(lags) if lags else None, 6)


def _trace_metrics(m: PointMetrics, records: list[RequestRecord], speedup: float) -> None:
    """A trace replay: the speed-up and the send-time error (send minus the trace's time) in ms."""
    m.trace_speedup = speedup
    if records:
        err = np.fromiter((r.start - r.intended for r in records), dtype=float, count=len(records)) * 1e3
        m.send_error_p50_ms = round(float(np.percentile(err, 50)), 4)
        m.send_error_p99_ms = round(float(np.percentile(err, 99)), 4)
        m.send_error_max_ms = round(float(err.max()), 4)


def _slo_metrics(m: PointMetrics, v: RequestValues, slo: dict[str, float], seconds: float) -> None:
    """Under ``--slo``: the SLOs, goodput and how many requests met them."""
    m.slo_ms = dict(slo)
    m.goodput = _round(v.meeting_slo / seconds if seconds else None)
    m.requests_meeting_slo = v.meeting_slo


def _client_metrics(m: PointMetrics, client: ClientStats, rate: float) -> str | None:
    """The client's own health; returns a warning when it may have distorted the timings."""
    lag_p99 = float(np.percentile(client.loop_lag, 99)) if client.loop_lag else 0.0
    cpu = client.cpu_seconds / client.wall_seconds if client.wall_seconds > 0 else 0.0
    m.client_loop_lag_p99_ms = round(lag_p99 * 1e3, 3)
    m.client_cpu = round(cpu, 3)
    reasons = []
    if lag_p99 > LAG_LIMIT:
        reasons.append(f"event-loop lag p99 {lag_p99 * 1e3:.2f} ms > {LAG_LIMIT * 1e3:.0f} ms")
    if cpu > CPU_LIMIT and rate <= 0:
        reasons.append(f"client CPU {cpu:.0%} of a core")
    m.client_distorted = bool(reasons)
    if not reasons:
        return None
    m.client_distortion = "; ".join(reasons)
    return (
        "the client itself may have skewed these timings ("
        + "; ".join(reasons)
        + "): use more --workers or a lower load"
    )


def percentile_table(v: RequestValues) -> PointPercentiles:
    """The percentile table of one point's values."""
    p = PointPercentiles()
    p.labels = [f"{q}%" for q in PERCENTILES]
    p.ttft, p.itl, p.tpot, p.latency = _pct(v.ttft), _pct(v.itl), _pct(v.tpot), _pct(v.latency)
    p.input_tokens, p.output_tokens = _pct(v.input_tokens), _pct(v.output_tokens)
    p.output_rate, p.total_rate = _pct(v.output_rate), _pct(v.total_rate)
    return p


def measured_records(records: list[RequestRecord]) -> list[RequestRecord]:
    """The records a point's metrics count: those sent after ``--ramp-up`` (every record when all were
    sent during the ramp, or without a ramp). The report's distributions use the same rule."""
    kept = [r for r in records if not r.ramp]
    return kept if kept else records


def compute_metrics(
    records: list[RequestRecord],
    parallel: int,
    number: int,
    *,
    rate: float = -1,
    slo: dict[str, float] | None = None,
    tokenizer: Any = None,
    client: ClientStats | None = None,
    trace_speedup: float | None = None,
    ramp_up: float = 0.0,
) -> PointResult:
    """One sweep point's summary and percentile table; its warnings are in ``metrics.warnings``.

    ``trace_speedup``: a trace replay (adds the send-time error); ``ramp_up``: records sent during the
    ramp are counted apart and left out of the metrics."""
    slo = slo or {}
    ramp_warning = None
    n_ramp = 0
    if ramp_up > 0:
        n_ramp = sum(1 for r in records if r.ramp)
        if records and n_ramp == len(records):
            ramp_warning = "every request was sent during the ramp-up: these metrics include the ramp"
        records = measured_records(records)
    v = request_values(records, tokenizer, slo)
    seconds = duration(records)
    m = _core_metrics(records, v, parallel, number, seconds)
    if rate > 0:
        _rate_metrics(m, records, rate)
    if slo:
        _slo_metrics(m, v, slo, seconds)
    if trace_speedup is not None:
        _trace_metrics(m, records, trace_speedup)
    if ramp_up > 0:
        m.ramp_up = ramp_up
        m.ramp_requests = n_ramp
    warnings = [ramp_warning] if ramp_warning else []
    if client is not None:
        warning = _client_metrics(m, client, rate)
        if warning:
            warnings.append(warning)
    if v.unknown_output:
        warnings.append(
            f"{v.unknown_output} successful request(s) reported no usage and no --tokenizer-path was "
            "given: their output tokens are unknown and left out of token metrics"
        )
    if m.failed_requests:
        warnings.append(
            f"{m.failed_requests} request(s) failed: "
            + ", ".join(f"{k} x{n}" for k, n in m.failures_by_reason.items())
        )
    if warnings:
        m.warnings = warnings
    result = PointResult(metrics=m, percentiles=percentile_table(v))
    if records and records[0].turn is not None:  # a multi-turn point: every record has its turn
        result.turns, result.sessions = session_metrics(records, m, seconds, tokenizer)
    return result


def _p(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 6) if values else None


def session_metrics(
    records: list[RequestRecord], m: PointMetrics, seconds: float, tokenizer: Any = None
) -> tuple[list[TurnMetrics], SessionMetrics]:
    """A multi-turn point's rows per turn index and its session figures; also sets the multi-turn
    keys of the summary ``m`` (sessions, turns per session, first vs subsequent turn TTFT).

    Per turn: requests, successes, TTFT (average, p50, p99), latency and token averages of the
    successful requests sent as that turn. Per session (records grouped by ``session``): a session
    failed when one of its turns failed (that ends it); its duration is its last reply's end minus its
    first intended send; its tokens are summed over its successful turns.
    """
    by_turn: dict[int, list[RequestRecord]] = {}
    by_session: dict[int, list[RequestRecord]] = {}
    for r in records:
        by_turn.setdefault(r.turn or 0, []).append(r)
        by_session.setdefault(r.session if r.session is not None else -1, []).append(r)
    turns = []
    first_ttft: list[float] = []
    later_ttft: list[float] = []
    for turn in sorted(by_turn):
        rows = by_turn[turn]
        ok = [r for r in rows if r.ok]
        ttft = [r.out_times[0] - r.intended for r in ok if len(r.out_times)]
        (first_ttft if turn == 1 else later_ttft).extend(ttft)
        n_in = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
        n_out = [n for n in (output_tokens(r, tokenizer) for r in ok) if n is not None]
        t = TurnMetrics()
        t.turn = turn
        t.requests = len(rows)
        t.succeed_requests = len(ok)
        t.avg_ttft = _round(_mean(ttft), 6)
        t.p50_ttft, t.p99_ttft = _p(ttft, 50), _p(ttft, 99)
        t.avg_latency = _round(_mean([r.end - r.intended for r in ok]), 6)
        t.avg_input_tokens = _round(_mean(n_in))
        t.avg_output_tokens = _round(_mean(n_out))
        turns.append(t)
    durations: list[float] = []
    ins: list[int] = []
    outs: list[int] = []
    failed = 0
    for rows in by_session.values():
        durations.append(max(r.end for r in rows) - min(r.intended for r in rows))
        if not all(r.ok for r in rows):
            failed += 1
        ok = [r for r in rows if r.ok]
        ins.append(sum(r.prompt_tokens or 0 for r in ok))
        outs.append(sum(output_tokens(r, tokenizer) or 0 for r in ok))
    n = len(by_session)
    s = SessionMetrics()
    s.sessions = n
    s.completed_sessions = n - failed
    s.failed_sessions = failed
    s.total_turns = len(records)
    s.avg_turns = _round(len(records) / n if n else None)
    s.max_turns = max((len(rows) for rows in by_session.values()), default=0)
    s.avg_duration = _round(_mean(durations), 6)
    s.p50_duration, s.p99_duration = _p(durations, 50), _p(durations, 99)
    s.session_throughput = _round((n - failed) / seconds if seconds else None)
    s.avg_input_tokens = _round(_mean(ins))
    s.avg_output_tokens = _round(_mean(outs))
    m.sessions = n
    m.avg_turns = s.avg_turns
    m.avg_first_turn_ttft = _round(_mean(first_ttft), 6)
    m.avg_later_turn_ttft = _round(_mean(later_ttft), 6)
    return turns, s
