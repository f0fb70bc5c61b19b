"""The mock's capacity model: slots and a FIFO queue that /metrics reports truthfully, and the pure
function that computes its capacity (docs/mock-server.md, "Capacity model")."""

from __future__ import annotations

import asyncio
import math
import time

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from evalscope.mock import MockConfig
from evalscope.mock.capacity import expected_capacity


def _samples(text: str) -> dict[str, float]:
    """``name`` (or ``name{le}`` for buckets) -> value, labels other than ``le`` dropped."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = f"{s.name}{{{s.labels['le']}}}" if "le" in s.labels else s.name
            out[key] = out.get(key, 0.0) + s.value
    return out


async def _scrape(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with session.get(url + "/metrics") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        return _samples(await r.text())


async def _chat(session: aiohttp.ClientSession, url: str, text: str) -> dict:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    usage = None
    async with session.post(url + "/v1/chat/completions", json=body) as r:
        assert r.status == 200
        async for line in r.content:
            if line.startswith(b"data: {") and b'"usage":{' in line:
                import json

                usage = json.loads(line[6:])["usage"]
    assert usage is not None
    return usage


def test_two_slots_six_requests_queue_four(mock_server):
    # 20 tokens 0.05 s apart: each request holds its slot ~0.95 s, so the six run in three waves
    srv = mock_server(max_num_seqs=2, output_tokens=20, itl=0.05)

    async def main():
        async with aiohttp.ClientSession() as s:
            before = await _scrape(s, srv.url)
            assert before["vllm:num_requests_running"] == before["vllm:num_requests_waiting"] == 0
            tasks = [asyncio.create_task(_chat(s, srv.url, f"question number {i}")) for i in range(6)]
            seen = None
            for _ in range(400):  # until all six have arrived (each poll ~10 ms)
                m = await _scrape(s, srv.url)
                if m["vllm:num_requests_running"] + m["vllm:num_requests_waiting"] == 6:
                    seen = m
                    break
                await asyncio.sleep(0.01)
            usages = await asyncio.gather(*tasks)
            after = await _scrape(s, srv.url)
            return seen, usages, after

    seen, usages, after = asyncio.run(main())
    assert seen is not None, "the six requests never were in the server together"
    # work-conserving slots: with six in the server, two decode and four wait
    assert seen["vllm:num_requests_running"] == 2 and seen["vllm:num_requests_waiting"] == 4
    assert after["vllm:num_requests_running"] == after["vllm:num_requests_waiting"] == 0
    stats = srv.stats()["engine"]
    assert stats["max_running"] == 2 and stats["max_waiting"] == 4
    # the counters are the usage the clients got
    assert (
        after["vllm:prompt_tokens_total"] == stats["prompt_tokens"] == sum(u["prompt_tokens"] for u in usages)
    )
    assert after["vllm:generation_tokens_total"] == stats["generation_tokens"] == 6 * 20
    assert after["vllm:request_success_total"] == 6
    # TTFT includes the queue: the first wave starts at once, the others wait >= one service time (0.95 s)
    ttft = "vllm:time_to_first_token_seconds_bucket"
    assert after[f"{ttft}{{0.75}}"] == 2 and after[f"{ttft}{{+Inf}}"] == 6
    assert after["vllm:time_to_first_token_seconds_count"] == 6
    assert after["vllm:time_to_first_token_seconds_sum"] >= 2 * 0.95 + 2 * 1.9
    assert after["vllm:request_queue_time_seconds_count"] == 6
    assert after["vllm:kv_cache_usage_perc"] == 0


def test_without_max_num_seqs_nobody_waits(mock_server):
    srv = mock_server(output_tokens=5, itl=0.05)

    async def main():
        async with aiohttp.ClientSession() as s:
            tasks = [asyncio.create_task(_chat(s, srv.url, "hi")) for _ in range(5)]
            peak = 0.0
            while not all(t.done() for t in tasks):
                m = await _scrape(s, srv.url)
                assert m["vllm:num_requests_waiting"] == 0
                peak = max(peak, m["vllm:num_requests_running"])
                await asyncio.sleep(0.01)
            await asyncio.gather(*tasks)
            return peak

    assert asyncio.run(main()) <= 5
    assert srv.stats()["engine"]["max_waiting"] == 0 and srv.stats()["engine"]["max_running"] == 5


def test_metrics_off_is_404(mock_server):
    srv = mock_server(metrics=False)

    async def main():
        async with aiohttp.ClientSession() as s, s.get(srv.url + "/metrics") as r:
            return r.status

    assert asyncio.run(main()) == 404


def test_prefix_cache_counters(mock_server):
    srv = mock_server(prefix_cache=True, prefix_block_tokens=2, output_tokens=1)

    async def main():
        async with aiohttp.ClientSession() as s:
            for _ in range(2):
                await _chat(s, srv.url, "one two three four five")
            return await _scrape(s, srv.url)

    m = asyncio.run(main())
    cache = srv.stats()["prefix_cache"]
    assert m["vllm:prefix_cache_queries_total"] == cache["prompt_tokens"] == 10
    assert m["vllm:prefix_cache_hits_total"] == cache["cached_tokens"] == 4  # two full blocks, second time


def test_batch_slows_tokens(mock_server):
    """itl_per_seq: the gap between chunks grows with the requests decoding at that moment."""
    srv = mock_server(output_tokens=11, itl=0.0, itl_per_seq=0.02)

    async def timed(n: int) -> float:
        async with aiohttp.ClientSession() as s:
            t0 = time.perf_counter()
            await asyncio.gather(*(_chat(s, srv.url, "x") for _ in range(n)))
            return time.perf_counter() - t0

    one = asyncio.run(timed(1))  # 10 gaps x 0.02 x 1
    four = asyncio.run(timed(4))  # 10 gaps x 0.02 x 4 (less once one of them has finished)
    assert one >= 0.2 and four >= 0.6


def test_expected_capacity_formulas():
    cfg = MockConfig(max_num_seqs=4, ttft=0.05, itl=0.02, itl_per_seq=0.005, output_tokens=10)
    cap = expected_capacity(cfg, output_tokens=10)
    # service_time(N) = 0.05 + 9 * (0.02 + 0.005 * 4) = 0.41 s; N / that
    assert cap.service_time == pytest.approx(0.41) and cap.max_throughput == pytest.approx(4 / 0.41)
    assert cap.ttft_p99(4) == pytest.approx(0.05) and cap.ttft_p99(5) == pytest.approx(0.05 + 0.41)
    assert cap.ttft_p99(12) == pytest.approx(0.05 + 2 * 0.41) and cap.ttft_p99(13) == pytest.approx(
        0.05 + 3 * 0.41
    )
    assert (
        cap.throughput(2) == pytest.approx(2 / (0.05 + 9 * 0.03))
        and cap.throughput(100) == cap.max_throughput
    )
    assert cap.tpot(1) == pytest.approx(0.025) and cap.tpot(50) == pytest.approx(0.04)
    # TTFT p99 <= 1 s: ceil(C / 4) - 1 <= floor(0.95 / 0.41) = 2, so C <= 12
    ttft = expected_capacity(cfg, output_tokens=10, slo={"ttft": 1.0})
    assert ttft.max_concurrency == 12 and ttft.max_rate == pytest.approx(4 / 0.41)
    # TPOT <= 35 ms: 0.02 + 0.005 n <= 0.035, n <= 3: C <= 3, and a regular rate keeping 3 decoding
    tpot = expected_capacity(cfg, output_tokens=10, slo={"tpot": 0.035})
    assert tpot.max_concurrency == 3
    assert tpot.max_rate == pytest.approx(3 / (0.05 + 9 * 0.02 + 9 * 0.005 * 3))
    # prefill: 100 uncached tokens at 1 ms each before the first token
    pre = expected_capacity(
        cfg.model_copy(update={"prefill_per_token": 0.001}), input_tokens=100, output_tokens=10
    )
    assert pre.base_ttft == pytest.approx(0.15) and pre.service_time == pytest.approx(0.51)
    # an SLO the empty server misses: capacity 0; no slot limit and no SLO bound: no limit
    assert expected_capacity(cfg, output_tokens=10, slo={"ttft": 0.01}).max_concurrency == 0
    free = expected_capacity(MockConfig(ttft=0.05), output_tokens=10, slo={"ttft": 1.0})
    assert free.max_throughput is None and free.max_concurrency is None and free.max_rate is None
    with pytest.raises(ValueError, match="slo: unknown"):
        expected_capacity(cfg, output_tokens=10, slo={"itl": 1.0})
    assert math.isclose(cap.latency_p99(12), 0.05 + 2 * 0.41 + 9 * 0.04)


def test_cli_flags(evalscope_cli):
    out = evalscope_cli("mock-server", "--max-num-seqs", "0")
    assert out.returncode == 2 and "--max-num-seqs" in out.stderr
    help_text = evalscope_cli("mock-server", "--help").stdout
    for flag in ("--max-num-seqs", "--itl-per-seq", "--kv-cache-tokens", "--no-metrics"):
        assert flag in help_text
