"""Server metrics in the perf engine: the target's /metrics scraped during each point, stored with the
run, summarised in the result and on the console (docs/perf.md, "Server metrics")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalscope.mock import MockConfig
from evalscope.mock.capacity import expected_capacity
from evalscope.perf import PerfArguments, run_perf
from evalscope.perf.output import read_records
from evalscope.perf.server_metrics import default_metrics_url, histogram_quantile, parse, read_series

# two slots, 10 output tokens: a request holds its slot 0.05 + 9 * 0.05 = 0.5 s
CAPACITY = {"max_num_seqs": 2, "ttft": 0.05, "itl": 0.05, "output_tokens": 10}


def _run(srv, tmp_path: Path, **fields) -> dict:
    args = {"model": "m", "url": srv.url, "prompt": "how busy are you", "max_tokens": 10,
            "outputs_dir": str(tmp_path), "server_metrics_interval": 0.1, **fields}  # fmt: skip
    return run_perf(PerfArguments(**args))


def test_scraped_series_match_the_mock(mock_server, tmp_path):
    srv = mock_server(**CAPACITY)
    result = _run(srv, tmp_path, number=[12], parallel=[6])
    assert not any("server metrics" in w for w in result["warnings"])
    point = result["results"]["parallel_6_number_12"]
    m, server = point["metrics"], point["metrics"]["Server metrics"]
    engine = srv.stats()["engine"]
    # the queue: six clients, two slots -> four waiting, seen by the scrapes and by the mock itself
    assert server["Peak waiting requests"] == engine["max_waiting"] == 4
    assert server["Peak running requests"] == engine["max_running"] == 2
    assert 0 < server["Mean waiting requests"] <= 4 and 0 < server["Mean running requests"] <= 2
    # counters over the point = the mock's own counts = what the client was told in usage
    point_dir = Path(result["output_dir"]) / "parallel_6_number_12"
    records = read_records(point_dir / "benchmark_data.db")
    assert server["Prompt tokens"] == engine["prompt_tokens"] == sum(r.prompt_tokens for r in records)
    assert server["Generation tokens"] == engine["generation_tokens"] == 12 * 10
    assert server["Requests finished"] == 12 and server["Server type"] == "vllm"
    assert server["Metrics URL"] == srv.url + "/metrics"
    # server TTFT (from the histogram's increase) includes the queue, as the client's does; the client's
    # also holds the network and its own stamping, so the gap is small and not negative
    assert server["Server TTFT mean (s)"] > 0.05
    assert -0.005 <= server["Client-server TTFT gap (s)"] < 0.25
    assert server["Client-server TTFT gap (s)"] == pytest.approx(
        m["Average time to first token (s)"] - server["Server TTFT mean (s)"], abs=2e-6
    )
    assert server["Server TTFT p50 (s)"] <= server["Server TTFT p99 (s)"] <= 2.5
    assert server["Server queue time mean (s)"] > 0
    # throughput near the formula: 2 slots / 0.5 s = 4 req/s (no request can finish sooner)
    cap = expected_capacity(MockConfig(**CAPACITY), output_tokens=10)
    assert cap.max_throughput == pytest.approx(4.0)
    assert 0.6 * cap.max_throughput <= m["Request throughput (req/s)"] <= 1.05 * cap.max_throughput
    # the series file: a baseline, scrapes while the load ran, a final one; every line parsed and normalized
    series = read_series(point_dir)
    assert series[0]["phase"] == "baseline" and series[-1]["phase"] == "final"
    assert {s["phase"] for s in series[1:-1]} == {"point"} and server["Scrapes"] == len(series)
    assert series[0]["generation_tokens"] == 0 and series[-1]["generation_tokens"] == 120
    assert series[-1]["running"] == series[-1]["waiting"] == 0
    assert max(s["waiting"] for s in series) == 4
    assert all(s["t"] <= t["t"] for s, t in zip(series, series[1:], strict=False))
    assert "vllm:num_requests_running" not in series[1]["raw"]  # normalized names are not kept twice
    # stored with the point's summary too
    summary = json.loads((point_dir / "benchmark_summary.json").read_text())
    assert summary["Server metrics"] == server


def test_target_without_metrics_warns_once(mock_server, tmp_path):
    srv = mock_server(metrics=False, output_tokens=2)
    result = _run(srv, tmp_path, number=[3, 4], parallel=[1, 2])
    warnings = [w for w in result["warnings"] if "server metrics" in w]
    assert len(warnings) == 1 and "HTTP 404" in warnings[0] and srv.url + "/metrics" in warnings[0]
    assert result["error_counts"]["failed"] == 0
    for key, point in result["results"].items():
        assert "Server metrics" not in point["metrics"] and point["metrics"]["Succeed requests"] > 0
        assert not (Path(result["output_dir"]) / key / "server_metrics.jsonl").exists()


def test_refused_metrics_url_warns(mock_server, tmp_path, dead_port):
    srv = mock_server(output_tokens=2)
    result = _run(srv, tmp_path, number=[2], server_metrics_url=f"http://127.0.0.1:{dead_port}/metrics")
    (warning,) = [w for w in result["warnings"] if "server metrics" in w]
    assert "refused" in warning.lower() and str(dead_port) in warning
    assert result["results"]["parallel_1_number_2"]["metrics"]["Succeed requests"] == 2


def test_off(mock_server, tmp_path):
    srv = mock_server(output_tokens=2)
    result = _run(srv, tmp_path, number=[2], server_metrics=False)
    assert not any("server metrics" in w for w in result["warnings"])
    assert "Server metrics" not in result["results"]["parallel_1_number_2"]["metrics"]
    assert not (Path(result["output_dir"]) / "parallel_1_number_2" / "server_metrics.jsonl").exists()


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="server_metrics_interval"):
        PerfArguments(model="m", url="http://h", server_metrics_interval=0)
    with pytest.raises(ValueError, match="server_metrics_url"):
        PerfArguments(model="m", url="http://h", server_metrics_url="file:///etc/passwd")


def test_default_url():
    assert default_metrics_url("http://h:8000/v1/chat/completions") == "http://h:8000/metrics"
    assert default_metrics_url("https://u:key@h/v1/completions?key=k") == "https://h/metrics"
    assert default_metrics_url("http://[::1]:9/v1") == "http://[::1]:9/metrics"


SGLANG = """# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="q",tp_rank="0"} 8
sglang:num_running_reqs{model_name="q",tp_rank="1"} 2
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="q"} 4
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="q"} 0.52
# TYPE sglang:cache_hit_rate gauge
sglang:cache_hit_rate{model_name="q"} 0.28
# TYPE sglang:prompt_tokens_total counter
sglang:prompt_tokens_total{model_name="q"} 1000
# TYPE sglang:generation_tokens_total counter
sglang:generation_tokens_total{model_name="q"} 300
# TYPE sglang:time_to_first_token_seconds histogram
sglang:time_to_first_token_seconds_bucket{le="0.1",model_name="q"} 3
sglang:time_to_first_token_seconds_bucket{le="+Inf",model_name="q"} 4
sglang:time_to_first_token_seconds_sum{model_name="q"} 0.9
sglang:time_to_first_token_seconds_count{model_name="q"} 4
# TYPE sglang:gen_throughput gauge
sglang:gen_throughput{model_name="q"} 123.5
"""
TGI = """# TYPE tgi_queue_size gauge
tgi_queue_size 3
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 16
# TYPE tgi_request_generated_tokens histogram
tgi_request_generated_tokens_bucket{le="10"} 1
tgi_request_generated_tokens_bucket{le="+Inf"} 2
tgi_request_generated_tokens_sum 64
tgi_request_generated_tokens_count 2
# TYPE tgi_request_input_length histogram
tgi_request_input_length_bucket{le="+Inf"} 2
tgi_request_input_length_sum 20
tgi_request_input_length_count 2
# TYPE tgi_request_duration histogram
tgi_request_duration_bucket{le="1"} 2
tgi_request_duration_bucket{le="+Inf"} 2
tgi_request_duration_sum 1.5
tgi_request_duration_count 2
"""
LLAMACPP = """# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 33065
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 7801
# TYPE llamacpp:kv_cache_usage_ratio gauge
llamacpp:kv_cache_usage_ratio 0.25
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 1
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 2
"""


def test_other_servers_names_normalized():
    s = parse(SGLANG)
    assert s["server"] == "sglang" and s["running"] == 10 and s["waiting"] == 4
    assert s["kv_cache_usage"] == 0.52 and s["prefix_cache_hit_rate"] == 0.28
    assert s["prompt_tokens"] == 1000 and s["generation_tokens"] == 300
    assert s["histograms"]["ttft"] == {"buckets": {"0.1": 3, "+Inf": 4}, "sum": 0.9, "count": 4}
    assert s["raw"] == {'sglang:gen_throughput{model_name="q"}': 123.5}  # unknown: kept raw
    t = parse(TGI)
    assert (t["server"], t["running"], t["waiting"]) == ("tgi", 16, 3)
    assert t["prompt_tokens"] == 20 and t["generation_tokens"] == 64
    assert t["histograms"]["e2e_latency"]["count"] == 2
    assert "tgi_request_generated_tokens_count" in t["raw"] and not any("_bucket" in k for k in t["raw"])
    ll = parse(LLAMACPP)
    assert ll["server"] == "llama.cpp" and (ll["running"], ll["waiting"], ll["kv_cache_usage"]) == (
        1,
        2,
        0.25,
    )
    assert ll["prompt_tokens"] == 33065 and ll["generation_tokens"] == 7801


def test_histogram_quantile():
    # 10 observations: 5 in (0, 0.1], 4 in (0.1, 0.5], 1 above 1.0
    buckets = {"0.1": 5, "0.5": 9, "1.0": 9, "+Inf": 10}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.05)
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.1 + 0.4 * 2 / 4)
    assert histogram_quantile(0.99, buckets) == 1.0  # in +Inf: the highest finite bound
    assert histogram_quantile(0.5, {"+Inf": 0}) is None


def test_cli_shows_server_metrics(mock_server, tmp_path, evalscope_cli):
    srv = mock_server(**CAPACITY)
    out = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hi", "--number", "6", "--parallel", "4",
        "--max-tokens", "10", "--outputs-dir", tmp_path, "--server-metrics-interval", "0.1",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Server metrics" in out.stdout and "Peak waiting requests" in out.stdout
    (point,) = tmp_path.glob("*/m/parallel_4_number_6")
    assert read_series(point)[-1]["generation_tokens"] == 60
    bad = evalscope_cli("perf", "--model", "m", "--url", srv.url, "--server-metrics-interval", "0")
    assert bad.returncode == 2 and "--server-metrics-interval" in bad.stderr
    off = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hi", "--number", "2", "--max-tokens", "10",
        "--outputs-dir", tmp_path / "off", "--no-server-metrics",
    )  # fmt: skip
    assert off.returncode == 0 and "Server metrics" not in off.stdout
