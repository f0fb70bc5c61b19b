"""The SLO search (issue 17.1, docs/perf.md "Capacity search") against the mock's capacity model.

The mock's parameters put every boundary on a whole service time of queueing (far from timing noise):
one chunk per answer, so a request holds its slot for ``ttft`` and a queued one waits a whole ``ttft``
more. ``expected_capacity`` (evalscope/mock/capacity.py) computes the answer beforehand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from evalscope import gates, slo
from evalscope.mock import MockConfig
from evalscope.mock.capacity import expected_capacity
from evalscope.perf.arguments import PerfArguments
from evalscope.perf.slo_search import binomial_cdf, percentile_ci

# closed loop: 4 slots, 100 ms per request; a 5th client makes 1 request in 5 wait 100 ms more, so
# the p90 TTFT jumps from ~100 ms to ~200 ms between concurrency 4 and 5 (150 ms bound in between)
CLOSED = {"max_num_seqs": 4, "ttft": 0.1, "output_tokens": 4, "tokens_per_chunk": 4}
# open loop: 16 slots, 500 ms per request = 32 requests/s at most; above it the queue grows by
# (rate - 32) requests per second of a 2-second round, pushing p90 TTFT over 600 ms from ~34 req/s;
# below it TTFT is 500 ms: a 100 ms margin, so a loaded machine's delays do not fail a passing rate
OPEN = {"max_num_seqs": 16, "ttft": 0.5, "output_tokens": 4, "tokens_per_chunk": 4}


def _search_json(out: Path) -> dict:
    found = list(out.rglob("slo_search.json"))
    assert len(found) == 1, found
    return json.loads(found[0].read_text())


# -- the SLO spellings (evalscope/slo.py): one home for goodput, gates and the search ---------------
def test_slo_spellings_normalize_to_milliseconds():
    assert slo.normalize("ttft:500 tpot_p95:0.05s e2el_p50:10s itl_avg:20ms") == {
        "ttft": 500.0,
        "tpot_p95": 50.0,
        "e2el_p50": 10000.0,
        "itl_mean": 20.0,
    }
    assert slo.normalize({"ttft_p99": "500ms"}) == {"ttft_p99": 500.0}
    assert slo.goodput_thresholds({"ttft": 800.0, "ttft_p99": 500.0, "e2el_mean": 2000.0}) == {
        "ttft": 500.0,
        "e2el": 2000.0,
    }
    args = PerfArguments(model="m", url="http://h", slo=["ttft_p99:0.5s", "e2el:3000"])
    assert args.slo == {"ttft_p99": 500.0, "e2el": 3000.0}
    for bad, words in [
        (["ttft_p97:5"], "not one of the reported percentiles"),
        (["ttfb:5"], "unknown SLO"),
        (["ttft:5min"], "not a duration"),
        (["ttft:0"], "positive"),
        (["ttft"], "name:milliseconds"),
    ]:
        with pytest.raises(ValidationError) as exc:
            PerfArguments(model="m", url="http://h", slo=bad)
        assert words in str(exc.value) and "slo" in str(exc.value)


def test_gate_reads_a_stated_percentile_and_the_mean():
    run = {
        "results": {
            "parallel_1_number_10": {
                "metrics": {"Succeed requests": 10, "Total requests": 10, "Average latency (s)": 1.5},
                "percentiles": {
                    "Percentiles": ["50%", "95%", "99%"],
                    "TTFT (s)": [0.1, 0.3, 0.9],
                    "Latency (s)": [1.0, 2.0, 4.0],
                },
            }
        }
    }
    checks = gates.perf_checks(run, {"ttft_p95": 400.0, "ttft": 400.0, "e2el_mean": 1000.0}, 99)
    got = {c.name: (c.passed, c.value) for c in checks}
    assert got == {
        "ttft p95 <= 400 ms": (True, 300.0),
        "ttft p99 <= 400 ms": (False, 900.0),  # no percentile of its own: --slo-percentile's
        "e2el mean <= 1000 ms": (False, 1500.0),
    }


# -- the statistics ----------------------------------------------------------------------------------
def test_binomial_cdf_is_exact():
    n, q = 30, 0.9
    exact = np.cumsum([math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)])
    assert np.allclose(binomial_cdf(n, q), exact, atol=1e-12)


def test_order_statistic_interval_matches_the_tables():
    x = np.arange(1.0, 101.0)  # x(k) = k
    est, low, high = percentile_ci(x, 50, 0.95)
    assert (est, low, high) == (50.5, 40.0, 61.0)  # the textbook 95% interval of the median at n=100
    # p99 from 300 samples: the upper end lies beyond the samples (unbounded): more samples needed
    assert percentile_ci(np.arange(1.0, 301.0), 99, 0.95)[2] == math.inf
    assert percentile_ci(np.arange(1.0, 1001.0), 99, 0.95)[1:] == (983.0, 997.0)
    # failed requests count as infinitely slow
    with_failures = np.concatenate([np.ones(80), np.full(20, math.inf)])
    assert percentile_ci(with_failures, 90, 0.95)[0] == math.inf


# -- validation and EvalScope's spelling ------------------------------------------------------------
def test_search_settings_are_checked_naming_the_field():
    base = {"model": "m", "url": "http://h"}
    for extra, field in [
        ({"search": "concurrency"}, "slo"),
        ({"search": "concurrency", "slo": ["ttft:5"], "search_min": 2.5}, "search_min"),
        ({"search": "concurrency", "slo": ["ttft:5"], "search_min": 8, "search_max": 4}, "search_min"),
        ({"search": "rate", "slo": ["ttft:5"], "search_start": 0.5, "search_min": 1}, "search_start"),
        ({"search": "concurrency", "slo": ["ttft:5"], "rate": 10}, "rate"),
        ({"search": "concurrency", "slo": ["ttft:5"], "search_max_requests": 0}, "search_max_requests"),
        ({"search": "concurrency", "slo": ["ttft:5"], "search_confidence": 1.5}, "search_confidence"),
    ]:
        with pytest.raises(ValidationError) as exc:
            PerfArguments(**base, **extra)
        assert field in str(exc.value), (extra, str(exc.value))


def test_evalscope_sla_auto_tune_maps_onto_the_search():
    args = PerfArguments(
        model="m",
        url="http://h",
        sla_auto_tune=True,
        sla_variable="rate",
        sla_params='[{"p99_ttft": "<=500", "avg_latency": "<2", "p90_tpot": "<=0.05s"}]',
        sla_upper_bound=64,
        sla_lower_bound=2,
        sla_fixed_parallel=50,
        sla_num_runs=3,
        sla_number_multiplier=4,
    )
    assert args.search == "rate"
    assert args.slo == {"ttft_p99": 500.0, "e2el_mean": 2000.0, "tpot_p90": 50.0}  # bare: EvalScope's units
    assert (args.search_min, args.search_max, args.parallel) == (2, 64, [50])
    off = PerfArguments(model="m", url="http://h", sla_auto_tune=False, sla_params="[]", sla_variable="rate")
    assert off.search is None and off.slo == {}
    for params, words in [
        ('[{"p99_ttft": "<=1"}, {"avg_tpot": "<=1"}]', "several groups"),
        ('[{"rps": ">=10"}]', "throughput bound"),
        ('[{"p99_ttft": "max"}]', "max/min"),
        ('[{"p95_ttft": "<=1"}]', "unknown metric"),
    ]:
        with pytest.raises(ValidationError) as exc:
            PerfArguments(model="m", url="http://h", sla_auto_tune=True, sla_params=params)
        assert words in str(exc.value) and "sla_params" in str(exc.value)


# -- the search against the mock's capacity model --------------------------------------------------
def test_concurrency_search_finds_the_mocks_capacity_through_the_cli(mock_server, evalscope_cli, tmp_path):
    srv = mock_server(**CLOSED)
    truth = expected_capacity(MockConfig(**CLOSED), output_tokens=4, slo={"ttft": 0.15})
    assert truth.max_concurrency == 4
    budget = 1000
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hi", "--max-tokens", 4, "--workers", 1,
        "--slo", "ttft_p90:150ms", "--search", "concurrency", "--search-start", 2, "--search-requests", 40,
        "--search-max-requests", budget, "--outputs-dir", tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = _search_json(tmp_path)
    cap = data["capacity"]
    assert abs(cap["value"] - truth.max_concurrency) <= 1  # within one step (concurrency: 1)
    assert cap["unit"] == "concurrent requests" and cap["failing_load"] == cap["value"] + 1
    assert data["state"] == "finished" and data["stop_reason"] == "converged"
    assert data["requests"] <= budget
    loads = [p["load"] for p in data["points"]]
    assert loads[:3] == [2, 4, 8]  # grown by doubling from the start until it failed, then bisected
    for p in data["points"]:
        assert p["passed"] == (p["load"] <= cap["value"])
        (c,) = p["checks"]
        assert c["slo"] == "ttft_p90" and c["threshold_ms"] == 150
        # a passing point's whole interval lies under the bound, a failing one's above it
        if p["clear"]:
            assert (c["ci_high_ms"] <= 150) if p["passed"] else (c["ci_low_ms"] > 150)
    # each point is a sweep point folder holding every request it sent
    run = next(tmp_path.rglob("slo_search.json")).parent
    for p in data["points"]:
        summary = json.loads((run / p["key"] / "benchmark_summary.json").read_text())
        assert summary["Total requests"] == p["requests"] and summary["Number of concurrency"] == p["load"]
    assert f"capacity: {cap['value']} concurrent requests" in proc.stdout
    assert "stopped: converged" in proc.stdout


def test_rate_search_finds_the_mocks_max_rate(mock_server, evalscope_cli, tmp_path):
    srv = mock_server(**OPEN)
    truth = expected_capacity(MockConfig(**OPEN), output_tokens=4, slo={"ttft": 0.6})
    assert truth.max_rate == pytest.approx(32.0)
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hi", "--max-tokens", 4, "--workers", 1,
        "--slo", "ttft_p90:600ms", "--search", "rate", "--search-start", 24, "--search-tolerance", 0.1,
        "--search-requests", 40, "--burstiness", 1000, "--parallel", 200, "--no-server-metrics",
        "--outputs-dir", tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = _search_json(tmp_path)
    cap = data["capacity"]
    step = 0.1 * cap["value"]
    assert abs(cap["value"] - truth.max_rate) <= step  # within one step of the computed capacity
    assert data["stop_reason"] == "converged" and cap["failing_load"] - cap["value"] <= step
    assert [p["rate"] for p in data["points"]][:2] == [24, 48]
    assert all(p["parallel"] == 200 for p in data["points"])
    assert len({p["key"] for p in data["points"]}) == len(data["points"])  # a folder per point


def test_search_stops_within_its_request_budget_evalscope_spelling(mock_server, evalscope_cli, tmp_path):
    srv = mock_server(**CLOSED)
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hi", "--max-tokens", 4, "--workers", 1,
        "--sla-auto-tune", "--sla-variable", "parallel", "--sla-params", '[{"p90_ttft": "<=150"}]',
        "--parallel", 2, "--search-requests", 40, "--search-max-requests", 100, "--outputs-dir", tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = _search_json(tmp_path)
    assert data["stop_reason"] == "request_budget" and "search_max_requests" in data["stop_detail"]
    assert data["requests"] <= 100
    assert data["slo"] == {"ttft_p90": 150.0}
    assert data["points"][0]["load"] == 2  # EvalScope starts at --parallel
    assert data["capacity"]["value"] is not None  # the best load seen so far
    assert "stopped: request_budget" in proc.stdout


def test_no_load_meets_the_slo_exits_3(mock_server, evalscope_cli, tmp_path):
    srv = mock_server(**CLOSED)
    junit = tmp_path / "junit.xml"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hi", "--max-tokens", 4, "--workers", 1,
        "--slo", "ttft:50", "--search", "concurrency", "--search-start", 2, "--search-requests", 10,
        "--outputs-dir", tmp_path, "--junit-xml", junit,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    data = _search_json(tmp_path)
    assert data["capacity"]["value"] is None and data["stop_reason"] == "min_load_fails"
    assert [p["load"] for p in data["points"]] == [2, 1]  # halved down to search_min
    assert "gate missed: no load meets ttft p99 <= 50 ms" in proc.stderr
    assert "<failure" in junit.read_text()
