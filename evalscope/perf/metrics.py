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
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from evalscope.perf.engine import ClientStats
from evalscope.perf.records import Record

PERCENTILES = (10, 25, 50, 66, 75, 80, 90, 95, 98, 99)
PERCENTILE_COLUMNS = ("TTFT (s)", "ITL (s)", "TPOT (s)", "Latency (s)", "Input tokens", "Output tokens",
                      "Output (tok/s)", "Total (tok/s)")
LAG_LIMIT = 0.001  # event-loop lag above this (p99) means the client skewed its own timestamps
CPU_LIMIT = 0.95


def _mean(values: list[float] | np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _round(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(v, nd)


def _pct(values: list[float] | np.ndarray) -> list[float | None]:
    if not len(values):
        return [None] * len(PERCENTILES)
    return [round(float(x), 6) for x in np.percentile(np.asarray(values, dtype=float), PERCENTILES)]


def compute_metrics(records: list[Record], parallel: int, number: int, *, rate: float = -1,
                    slo: dict[str, float] | None = None, tokenizer: Any = None,
                    client: ClientStats | None = None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(summary metrics, percentile table, warnings) for one sweep point."""
    warnings: list[str] = []
    ok = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    if records:
        t_first = min(r.intended for r in records)
        t_last = max(r.end for r in records)
        duration = max(t_last - t_first, 1e-9)
    else:
        duration = 0.0

    latency, ttft, tpot, itl, in_tok, out_tok, out_rate, tot_rate = [], [], [], [], [], [], [], []
    unknown_out = 0
    good = 0
    sum_in = sum_out = 0
    per_chunk_itl = False
    slo = slo or {}
    for r in ok:
        lat = r.end - r.intended
        first = (r.out_times[0] - r.intended) if len(r.out_times) else None
        latency.append(lat)
        if first is not None:
            ttft.append(first)
        n_out = r.completion_tokens
        if n_out is None and tokenizer is not None:
            n_out = tokenizer.count(r.text)
        n_in = r.prompt_tokens
        if n_out is None:
            unknown_out += 1
        else:
            out_tok.append(n_out)
            sum_out += n_out
            out_rate.append(n_out / lat if lat > 0 else 0.0)
        if n_in is not None:
            in_tok.append(n_in)
            sum_in += n_in
            if n_out is not None:
                tot_rate.append((n_in + n_out) / lat if lat > 0 else 0.0)
        req_tpot = None
        if n_out is not None and n_out > 1 and first is not None:
            req_tpot = (lat - first) / (n_out - 1)
            tpot.append(req_tpot)
        req_itl: list[float] = []
        times = r.out_times
        if len(times) > 1:
            gaps = np.diff(np.frombuffer(times, dtype=float))
            if tokenizer is not None and r.out_parts:
                k = np.maximum(np.asarray(tokenizer.count_batch(r.out_parts[1:]), dtype=float), 1.0)
            elif n_out is not None:
                k = max(n_out / len(times), 1.0)
            else:
                k = 1.0
                per_chunk_itl = True
            req_itl = list(gaps / k)
            itl.extend(req_itl)
        if slo and _meets(slo, first, req_tpot, lat, req_itl):
            good += 1

    n_ok = len(ok)
    summary: dict[str, Any] = {
        "Time taken for tests (s)": round(duration, 4),
        "Number of concurrency": parallel,
        "Total requests": len(records),
        "Succeed requests": n_ok,
        "Failed requests": len(failed),
        "Output token throughput (tok/s)": _round(sum_out / duration if duration and out_tok else None),
        "Total token throughput (tok/s)": _round((sum_in + sum_out) / duration if duration and out_tok else None),
        "Request throughput (req/s)": _round(n_ok / duration if duration else None),
        "Average latency (s)": _round(_mean(latency), 6),
        "Average time to first token (s)": _round(_mean(ttft), 6),
        "Average time per output token (s)": _round(_mean(tpot), 6),
        "Average inter-token latency (s)": _round(_mean(itl), 6),
        "Average input tokens per request": _round(_mean(in_tok)),
        "Average output tokens per request": _round(_mean(out_tok)),
    }
    # extras (documented keys above are never renamed)
    summary["Requested number"] = number
    summary["Failures by reason"] = dict(Counter(r.reason for r in failed))
    if failed:
        summary["Failure examples"] = {reason: next(r.error for r in failed if r.reason == reason)
                                       for reason in summary["Failures by reason"]}
    summary["Requests with unknown output tokens"] = unknown_out
    summary["ITL basis"] = "per chunk (token counts unknown)" if per_chunk_itl else "per token"
    if rate > 0:
        starts = sorted(r.start for r in records)
        lags = [r.start - r.intended for r in records]
        summary["Target request rate (req/s)"] = rate
        summary["Achieved send rate (req/s)"] = (
            _round((len(starts) - 1) / (starts[-1] - starts[0])) if len(starts) > 1 and starts[-1] > starts[0]
            else None)
        summary["Average dispatch lag (s)"] = _round(_mean(lags), 6)
        summary["P99 dispatch lag (s)"] = _round(float(np.percentile(lags, 99)) if lags else None, 6)
        summary["Max dispatch lag (s)"] = _round(max(lags) if lags else None, 6)
    if slo:
        summary["SLO (ms)"] = dict(slo)
        summary["Goodput (req/s)"] = _round(good / duration if duration else None)
        summary["Requests meeting SLO"] = good
    if client is not None:
        lag_p99 = float(np.percentile(client.loop_lag, 99)) if client.loop_lag else 0.0
        cpu = client.cpu_seconds / client.wall_seconds if client.wall_seconds > 0 else 0.0
        summary["Client event-loop lag p99 (ms)"] = round(lag_p99 * 1e3, 3)
        summary["Client CPU (fraction of one core)"] = round(cpu, 3)
        reasons = []
        if lag_p99 > LAG_LIMIT:
            reasons.append(f"event-loop lag p99 {lag_p99 * 1e3:.2f} ms > {LAG_LIMIT * 1e3:.0f} ms")
        if cpu > CPU_LIMIT and rate <= 0:
            reasons.append(f"client CPU {cpu:.0%} of a core")
        summary["Client distorted"] = bool(reasons)
        if reasons:
            summary["Client distortion"] = "; ".join(reasons)
            warnings.append("the client itself may have skewed these timings (" + "; ".join(reasons)
                            + "): use more --workers or a lower load")
    if unknown_out:
        warnings.append(f"{unknown_out} successful request(s) reported no usage and no --tokenizer-path was "
                        "given: their output tokens are unknown and left out of token metrics")
    if failed:
        warnings.append(f"{len(failed)} request(s) failed: "
                        + ", ".join(f"{k} x{v}" for k, v in summary["Failures by reason"].items()))

    percentiles: dict[str, Any] = {"Percentiles": [f"{p}%" for p in PERCENTILES]}
    for col, values in zip(PERCENTILE_COLUMNS, (ttft, itl, tpot, latency, in_tok, out_tok, out_rate, tot_rate),
                           strict=True):
        percentiles[col] = _pct(values)
    return summary, percentiles, warnings


def _meets(slo: dict[str, float], ttft: float | None, tpot: float | None, lat: float, itl: list[float]) -> bool:
    if "ttft" in slo and (ttft is None or ttft * 1e3 > slo["ttft"]):
        return False
    if "tpot" in slo and tpot is not None and tpot * 1e3 > slo["tpot"]:
        return False
    if "e2el" in slo and lat * 1e3 > slo["e2el"]:
        return False
    return not ("itl" in slo and itl and max(itl) * 1e3 > slo["itl"])
