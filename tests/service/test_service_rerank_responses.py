"""Rerank and OpenAI Responses perf jobs through the service, against the mock."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import wait_job

from evalscope.mock.rerank import rerank_usage
from evalscope.mock.tokenizer import count_tokens

PAIRS = [
    {"query": "red apple", "documents": ["an apple is red", "bananas are yellow"]},
    {"query": "fast car", "documents": ["a fast red car", "slow boat", "car"]},
]


def test_rerank_and_responses_perf_jobs(thread_service, mock_server, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "pairs.json").write_text(json.dumps(PAIRS))
    (data_dir / "prompts.txt").write_text("first prompt\nsecond, longer prompt\n")
    mock = mock_server(output_tokens=5, ttft=0.02, itl=0.002)
    svc = thread_service(data_dirs=[data_dir])
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "bge",
                "url": mock.url,
                "api": "rerank",
                "number": 4,
                "parallel": 2,
                "dataset": "rerank",
                "dataset_path": str(data_dir / "pairs.json"),
            },
        )
        assert r.status_code == 200, r.text
        rerank = wait_job(c, r.json()["job_id"])
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "gpt",
                "url": mock.url + "/v1/chat/completions",
                "api": "openai_responses",
                "number": 4,
                "parallel": 2,
                "dataset": "line_by_line",
                "dataset_path": str(data_dir / "prompts.txt"),
            },
        )
        assert r.status_code == 200, r.text
        responses = wait_job(c, r.json()["job_id"])
        bad = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url,
                "dataset": "rerank",
                "dataset_path": str(data_dir / "pairs.json"),
            },
        )
    assert rerank["state"] == "succeeded", rerank
    assert rerank["config"]["url"] == mock.url + "/v1/rerank" and rerank["config"]["stream"] is False
    m = rerank["result"]["results"]["parallel_2_number_4"]["metrics"]
    assert m["Total requests"] == m["Succeed requests"] == 4
    assert m["Average inputs per request"] == 2.5  # 2 and 3 documents, each pair twice
    usage = [rerank_usage(p["query"], p["documents"]) for p in PAIRS]
    assert m["Average input tokens per request"] == sum(usage) / 2
    # inputs/s = documents / duration = 2.5 x requests/s (both rounded to 4 decimals)
    assert m["Input throughput (inputs/s)"] == pytest.approx(2.5 * m["Request throughput (req/s)"], rel=1e-3)
    assert m["Average time to first token (s)"] is None

    assert responses["state"] == "succeeded", responses
    assert responses["config"]["url"] == mock.url + "/v1/responses"
    m = responses["result"]["results"]["parallel_2_number_4"]["metrics"]
    assert m["Succeed requests"] == 4 and m["Average output tokens per request"] == 5
    assert (
        m["Average input tokens per request"]
        == (count_tokens("first prompt") + count_tokens("second, longer prompt")) / 2
    )
    assert m["Average time to first token (s)"] >= 0.02 and m["Average inter-token latency (s)"] is not None
    assert "Input throughput (inputs/s)" not in m
    assert mock.stats()["by_path"] == {"/v1/rerank": 4, "/v1/responses": 4}

    assert bad.status_code == 400 and "api" in bad.text
