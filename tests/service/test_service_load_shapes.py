"""Trace replay, prefix groups with the mock's prefix cache, cache busting and ramp-up as perf jobs
through the service (POST /api/v1/perf), against the mock: the numbers the CLI tests check, over HTTP."""

from __future__ import annotations

import json

import httpx
from conftest import wait_job


def _submit(c: httpx.Client, body: dict) -> dict:
    r = c.post("/api/v1/perf", json=body)
    assert r.status_code == 200, r.text
    job = wait_job(c, r.json()["job_id"])
    assert job["state"] == "succeeded", job
    (point,) = job["result"]["results"].values()
    return point["metrics"]


def test_trace_replay_prefix_groups_and_ramp_up_jobs(thread_service, mock_server, word_tokenizer, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {"timestamp": 25 * i, "input_length": 40 + i, "output_length": 1 + i % 3, "hash_ids": [7, 100 + i]}
        for i in range(12)
    ]
    (data / "trace.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mock = mock_server(prefix_cache=True, prefix_block_tokens=16, prefill_per_token=0.002)
    svc = thread_service(data_dirs=[data, word_tokenizer])
    common = {"model": "m", "url": mock.url, "no_test_connection": True}
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        # a Mooncake trace at 2x: every request sent, with exactly the lengths asked
        m = _submit(
            c,
            {
                **common,
                "dataset": "workload_trace",
                "dataset_path": str(data / "trace.jsonl"),
                "tokenizer_path": str(word_tokenizer),
                "trace_speedup": 2,
            },
        )
        assert m["Total requests"] == 12 and m["Succeed requests"] == 12 and m["Trace speed-up"] == 2
        assert 0 <= m["Send-time error p50 (ms)"] <= m["Send-time error max (ms)"]
        from evalscope.mock.tokenizer import count_tokens

        prompts = mock.stats()["prompts"]
        assert sorted(prompts.values()) == [1] * 12  # 12 different prompts, each sent once
        assert sorted(count_tokens(t) for t in prompts) == [r["input_length"] for r in rows]

        # prefix groups: 2 groups of 32-token prefixes; the mock's cache sees a hit for all but the first
        # of each group; then the same with --cache-bust: no hit
        mock.reset_stats()
        prefix = {
            **common,
            "dataset": "random",
            "tokenizer_path": str(word_tokenizer),
            "prefix_length": 32,
            "prefix_count": 2,
            "min_prompt_length": 8,
            "max_prompt_length": 8,
            "number": 6,
            "parallel": 1,
            "max_tokens": 2,
        }
        m = _submit(c, prefix)
        assert m["Succeed requests"] == 6
        cache = mock.stats()["prefix_cache"]
        assert cache["requests"] == 6 and cache["hit_requests"] == 4
        mock.reset_stats()
        _submit(c, {**prefix, "cache_bust": True})
        assert mock.stats()["prefix_cache"]["hit_requests"] == 0

        # ramp-up: the requests sent during the ramp are left out of the measured part, and counted
        slow = mock_server(ttft=0.05)  # ~6 requests per sender during the ramp, 20 in all
        ramp = {**common, "url": slow.url, "prompt": "hello", "number": 20, "parallel": 2, "ramp_up": 0.3}
        m = _submit(c, ramp)
        ramped = m["Ramp-up requests (not measured)"]
        assert m["Ramp-up (s)"] == 0.3 and 1 <= ramped < 20 and m["Total requests"] == 20 - ramped

        # a bad value is a 400 naming the field
        bad = c.post("/api/v1/perf", json={**common, "prompt": "x", "ramp_up": -1})
        assert bad.status_code == 400 and "ramp_up" in bad.text
