"""run_perf and `evalscope perf` against the mock server: the numbers that come back."""

from __future__ import annotations

import json
import sqlite3
import statistics
from pathlib import Path

import pytest

from evalscope.errors import RunFailed
from evalscope.mock import count_tokens
from evalscope.perf import PerfArguments, run_perf


@pytest.fixture
def run(tmp_path, prompts_file):
    def go(srv, base: str = "", progress=None, **kw):
        fields = (
            dict(
                model="m",
                url=srv.url + base,
                outputs_dir=str(tmp_path / "out"),
                dataset="line_by_line",
                dataset_path=str(prompts_file),
                sleep_interval=0,
                max_tokens=64,
            )
            | kw
        )
        return run_perf(PerfArguments(**fields), progress=progress)

    return go


def _only(result):
    (point,) = result["results"].values()
    return point["metrics"], point["percentiles"]


def _db(result, key=None):
    key = key or next(iter(result["results"]))
    con = sqlite3.connect(Path(result["output_dir"]) / key / "benchmark_data.db")
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM requests ORDER BY request_index")]
    con.close()
    return rows


def test_injected_ttft_and_itl_come_back(mock_server, run):
    # the mock writes a role-only chunk at once and the first token after ttft: TTFT must not
    # start on the role chunk
    srv = mock_server(ttft=0.08, itl=0.02, output_tokens=8)
    m, p = _only(run(srv, number=[6], parallel=[2]))
    assert m["Succeed requests"] == 6 and m["Failed requests"] == 0
    assert 0.075 <= m["Average time to first token (s)"] <= 0.13
    assert 0.018 <= m["Average time per output token (s)"] <= 0.03
    assert 0.018 <= m["Average inter-token latency (s)"] <= 0.03
    assert m["Average output tokens per request"] == 8
    assert 0.075 + 7 * 0.018 <= m["Average latency (s)"] <= 0.13 + 7 * 0.03
    assert p["Percentiles"] == ["10%", "25%", "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%"]
    assert set(p) >= {
        "TTFT (s)",
        "ITL (s)",
        "TPOT (s)",
        "Latency (s)",
        "Input tokens",
        "Output tokens",
        "Output (tok/s)",
        "Total (tok/s)",
    }
    assert p["Output tokens"] == [8.0] * 10


def test_k_tokens_per_chunk_gives_per_token_itl(mock_server, run):
    srv = mock_server(itl=0.03, output_tokens=12, tokens_per_chunk=4)
    result = run(srv, number=[3], parallel=[1])
    m, _ = _only(result)
    assert m["Average output tokens per request"] == 12 and m["ITL basis"] == "per token"
    # 3 chunks of 4 tokens, 30 ms apart: 7.5 ms per token, not 30 ms per chunk
    assert 0.0065 <= m["Average inter-token latency (s)"] <= 0.011
    rows = _db(result)
    assert [r["output_chunks"] for r in rows] == [3, 3, 3]
    assert all(r["completion_tokens"] == 12 for r in rows)


def test_input_tokens_and_throughputs_from_usage(mock_server, run, prompts_file):
    # A 20 ms TTFT keeps the run long enough that the 4-decimal rounding of the reported duration
    # stays far below the 1 % tolerance (a 3 ms run made it up to 1.7 %).
    srv = mock_server(output_tokens=5, ttft=0.02)
    m, _ = _only(run(srv, number=[4], parallel=[1]))
    lines = [ln for ln in prompts_file.read_text().splitlines() if ln.strip()]
    assert m["Average input tokens per request"] == statistics.mean(count_tokens(x) for x in lines)
    dur = m["Time taken for tests (s)"]
    assert m["Output token throughput (tok/s)"] == pytest.approx(20 / dur, rel=0.01)
    assert m["Request throughput (req/s)"] == pytest.approx(4 / dur, rel=0.01)


def test_missing_usage_is_unknown_not_requested_length(mock_server, run, word_tokenizer):
    srv = mock_server(output_tokens=7)
    no_usage = {"stream_options": {"include_usage": False}}
    m, p = _only(run(srv, number=[3], parallel=[1], extra_args=no_usage, max_tokens=100))
    assert m["Succeed requests"] == 3 and m["Requests with unknown output tokens"] == 3
    assert m["Average output tokens per request"] is None and m["Output token throughput (tok/s)"] is None
    assert any("unknown" in w for w in m["Warnings"])
    assert p["Output tokens"] == [None] * 10
    # with a tokenizer the text is counted instead (the mock's words are not in this vocab: [UNK]s
    # still count one per word)
    m, _ = _only(run(srv, number=[3], parallel=[1], extra_args=no_usage, tokenizer_path=str(word_tokenizer)))
    assert m["Requests with unknown output tokens"] == 0 and m["Average output tokens per request"] > 0


@pytest.mark.parametrize(
    "cfg,reason",
    [
        ({"error_rate": 1.0, "error_codes": [429]}, "http_429"),
        ({"error_rate": 1.0, "error_codes": [500]}, "http_500"),
        ({"cut_rate": 1.0}, "cut_stream"),
        ({"cut_rate": 1.0, "cut_mode": "eof"}, "cut_stream"),
        ({"malformed_rate": 1.0}, "bad_chunk"),
    ],
)
@pytest.mark.parametrize("http", ["raw", "aiohttp"])
def test_failures_counted_by_reason_and_never_retried(mock_server, run, cfg, reason, http, monkeypatch):
    monkeypatch.setenv("EVALSCOPE_PERF_HTTP", http)
    srv = mock_server(output_tokens=6, **cfg)
    # every request failed: the run fails, and still carries (and wrote) what it measured
    with pytest.raises(RunFailed) as failed:
        run(srv, number=[4], parallel=[2])
    assert failed.value.output_dir and Path(failed.value.output_dir, "parallel_2_number_4").is_dir()
    assert reason in failed.value.message and srv.url in failed.value.message
    m, _ = _only(failed.value.result)
    assert m["Failed requests"] == 4 and m["Succeed requests"] == 0
    assert m["Failures by reason"] == {reason: 4}
    assert failed.value.result["error_counts"] == {"total": 4, "failed": 4, "by_reason": {reason: 4}}
    assert srv.stats()["total"] == 4  # no retries in perf (the connection test is counted apart)
    assert srv.stats()["probes"] == 1


def test_mixed_failures_and_successes(mock_server, run):
    srv = mock_server(output_tokens=4, error_rate=0.5, error_codes=[503], seed=3)
    result = run(srv, number=[20], parallel=[4])
    m, _ = _only(result)
    assert m["Succeed requests"] + m["Failed requests"] == 20
    assert m["Failures by reason"] == {"http_503": m["Failed requests"]} and 0 < m["Failed requests"] < 20
    assert m["Average output tokens per request"] == 4
    # a partial failure succeeds and says so: error counts and a warning naming the point
    failed = m["Failed requests"]
    assert result["error_counts"] == {"total": 20, "failed": failed, "by_reason": {"http_503": failed}}
    assert any(
        w.startswith("parallel_4_number_20: ") and f"{failed} request(s) failed" in w
        for w in result["warnings"]
    )


def test_poisson_arrivals(mock_server, run):
    srv = mock_server(output_tokens=2)
    result = run(srv, number=[300], parallel=[64], rate=200, seed=1)
    m, _ = _only(result)
    rows = _db(result)
    intended = sorted(r["intended_start"] for r in rows)
    gaps = [b - a for a, b in zip(intended, intended[1:], strict=False)]
    assert len(rows) == 300 and m["Succeed requests"] == 300
    assert statistics.mean(gaps) == pytest.approx(1 / 200, rel=1e-6)
    cv = statistics.pstdev(gaps) / statistics.mean(gaps)
    assert 0.8 < cv < 1.2  # exponential gaps have a coefficient of variation of 1
    assert m["Achieved send rate (req/s)"] == pytest.approx(200, rel=0.05)
    assert m["Target request rate (req/s)"] == 200 and m["Average dispatch lag (s)"] >= 0
    # gamma arrivals with burstiness 4 are more regular: cv = 1/sqrt(4)
    rows = _db(run(srv, number=[300], parallel=[64], rate=400, burstiness=4, seed=1))
    intended = sorted(r["intended_start"] for r in rows)
    gaps = [b - a for a, b in zip(intended, intended[1:], strict=False)]
    assert 0.35 < statistics.pstdev(gaps) / statistics.mean(gaps) < 0.65


def test_latency_measured_from_intended_send_time(mock_server, run):
    # parallel 1 under a rate far above what one connection can serve: requests queue in the
    # client, and that queueing is part of their latency (no coordinated omission)
    srv = mock_server(ttft=0.03, output_tokens=1)
    result = run(srv, number=[8], parallel=[1], rate=1000)
    rows = _db(result)
    assert rows[-1]["dispatch_lag"] > 0.1
    assert rows[-1]["latency"] >= rows[-1]["dispatch_lag"] + 0.03
    m, _ = _only(result)
    assert m["Max dispatch lag (s)"] > 0.1


def test_duration_stops_sending(mock_server, run):
    srv = mock_server(output_tokens=1)
    m, _ = _only(run(srv, number=[1000], parallel=[4], rate=100, duration=0.3, seed=7))
    from evalscope.perf.runner import arrival_offsets

    due = sum(1 for t in arrival_offsets(1000, 100, 1.0, 7) if t < 0.3)  # the seeded schedule
    assert m["Total requests"] == due and 10 <= due <= 60


def test_sweep_writes_one_folder_per_pair(mock_server, run):
    srv = mock_server(output_tokens=3)
    calls = []
    result = run(srv, number=[4, 6], parallel=[1, 2], progress=lambda d, t: calls.append((d, t)))
    assert list(result["results"]) == ["parallel_1_number_4", "parallel_2_number_6"]
    for key, (p, n) in zip(result["results"], [(1, 4), (2, 6)], strict=True):
        d = Path(result["output_dir"]) / key
        assert {f.name for f in d.iterdir()} == {
            "benchmark_args.json",
            "benchmark_summary.json",
            "benchmark_percentile.json",
            "benchmark_data.db",
            "server_metrics.jsonl",  # the mock serves /metrics: its series during the point
        }
        summary = json.loads((d / "benchmark_summary.json").read_text())
        assert summary["Number of concurrency"] == p and summary["Total requests"] == n
        assert json.loads((d / "benchmark_args.json").read_text())["parallel"] == p
    assert calls[-1] == (10, 10) and all(t == 10 for _, t in calls)


@pytest.mark.parametrize(
    "api,base",
    [("openai", ""), ("anthropic", ""), ("gemini", ""), ("dashscope", ""), ("openai", "/v1/completions")],
)
@pytest.mark.parametrize("stream", [True, False])
def test_every_api(mock_server, run, api, base, stream):
    srv = mock_server(output_tokens=6, tokens_per_chunk=2, api_key="sk-secret-1")
    result = run(srv, base, number=[3], parallel=[3], api=api, api_key="sk-secret-1", stream=stream)
    m, _ = _only(result)
    assert m["Succeed requests"] == 3, m.get("Failure examples")
    assert m["Average output tokens per request"] == 6
    assert m["Average input tokens per request"] > 0
    for f in Path(result["output_dir"]).rglob("*"):
        if f.is_file():
            assert b"sk-secret-1" not in f.read_bytes()


@pytest.mark.parametrize("stream", [True, False])
def test_aiohttp_reference_client_agrees(mock_server, run, monkeypatch, stream):
    srv = mock_server(output_tokens=6, tokens_per_chunk=2)
    raw, _ = _only(run(srv, number=[4], parallel=[2], stream=stream))
    monkeypatch.setenv("EVALSCOPE_PERF_HTTP", "aiohttp")
    ref, _ = _only(run(srv, number=[4], parallel=[2], stream=stream))
    for key in ("Succeed requests", "Average output tokens per request", "Average input tokens per request"):
        assert raw[key] == ref[key]


def test_outputs_never_collide_and_hold_no_key(mock_server, run, tmp_path):
    srv = mock_server(output_tokens=2)
    a = run(srv, number=[2], parallel=[1], api_key="sk-zzz", name="same")
    b = run(srv, number=[2], parallel=[1], api_key="sk-zzz", name="same")
    assert a["output_dir"] != b["output_dir"]
    args = json.loads((Path(a["output_dir"]) / "parallel_1_number_2" / "benchmark_args.json").read_text())
    assert "api_key" not in args and args["model"] == "m"


def test_workers_merge_records(mock_server, run):
    srv = mock_server(output_tokens=3)
    result = run(srv, number=[40], parallel=[8], workers=2)
    m, _ = _only(result)
    assert m["Client processes"] == 2 and m["Succeed requests"] == 40
    rows = _db(result)
    assert sorted(r["request_index"] for r in rows) == list(range(40))
    assert {r["worker"] for r in rows} == {0, 1}


def test_speed_benchmark_goes_to_completions(mock_server, run):
    srv = mock_server(output_tokens=2)
    m, _ = _only(run(srv, number=[4], parallel=[1], dataset="speed_benchmark", dataset_path=None))
    assert m["Succeed requests"] == 4
    assert srv.stats()["by_path"] == {"/v1/completions": 4}
    assert m["Average input tokens per request"] == pytest.approx((1 + 6143 + 14335 + 30719) / 4)


def test_random_dataset_exact_input_lengths(mock_server, run, word_tokenizer):
    srv = mock_server(output_tokens=2)
    m, p = _only(
        run(
            srv,
            number=[5],
            parallel=[1],
            dataset="random",
            dataset_path=None,
            tokenizer_path=str(word_tokenizer),
            min_prompt_length=32,
            max_prompt_length=32,
        )
    )
    assert m["Average input tokens per request"] == 32 and p["Input tokens"] == [32.0] * 10


def test_goodput_with_slo(mock_server, run):
    srv = mock_server(ttft=0.05, output_tokens=3)
    m, _ = _only(run(srv, number=[4], parallel=[2], slo={"ttft": 10000}))
    assert m["Requests meeting SLO"] == 4 and m["Goodput (req/s)"] == m["Request throughput (req/s)"]
    m, _ = _only(run(srv, number=[4], parallel=[2], slo="ttft:1"))
    assert m["Requests meeting SLO"] == 0 and m["Goodput (req/s)"] == 0


def test_cli_end_to_end(mock_server, tmp_path, prompts_file, evalscope_cli):
    srv = mock_server(output_tokens=4)
    out = evalscope_cli(
        "perf",
        "--model",
        "m",
        "--url",
        srv.url,
        "--api-key",
        "sk-cli",
        "--number",
        "3",
        "5",
        "--parallel",
        "1",
        "2",
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompts_file),
        "--outputs-dir",
        str(tmp_path / "o"),
        "--sleep-interval",
        "0",
        "--max-tokens",
        "9",
    )
    assert out.returncode == 0, out.stderr
    assert "Benchmark summary" in out.stdout and "sk-cli" not in out.stdout + out.stderr
    dirs = sorted(p.parent.name for p in (tmp_path / "o").rglob("benchmark_summary.json"))
    assert dirs == ["parallel_1_number_3", "parallel_2_number_5"]
    body = json.loads(next((tmp_path / "o").rglob("benchmark_args.json")).read_text())
    assert body["max_tokens"] == 9 and "api_key" not in body


def test_cli_all_failed_is_exit_1(tmp_path, prompts_file, evalscope_cli):
    # without the connection test the sweep runs, every request fails, and the run fails at the end
    out = evalscope_cli(
        "perf",
        "--model",
        "m",
        "--url",
        "http://127.0.0.1:9",
        "--number",
        "2",
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompts_file),
        "--outputs-dir",
        str(tmp_path / "o"),
        "--no-test-connection",
    )
    assert out.returncode == 1 and "connection" in out.stdout
    assert "error: every request failed: all 2 requests to the model at http://127.0.0.1:9" in out.stderr
    assert "outputs: " in out.stdout and "warning: 2 of 2 requests failed (connection x2)" in out.stdout
