"""A perf job through the service scrapes the target's /metrics (docs/perf.md, "Server metrics")."""

from __future__ import annotations

import httpx
from conftest import wait_job


def test_perf_job_carries_server_metrics(thread_service, mock_server):
    mock = mock_server(max_num_seqs=1, ttft=0.05, itl=0.05, output_tokens=5)
    svc = thread_service()
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        bad = c.post(
            "/api/v1/perf",
            json={"model": "m", "url": mock.url, "server_metrics_url": "ftp://h/metrics"},
        )
        assert bad.status_code == 400 and "server_metrics_url" in bad.text
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url,
                "prompt": "hello",
                "number": 6,
                "parallel": 3,
                "max_tokens": 5,
                "server_metrics_interval": 0.1,
            },
        )
        assert r.status_code == 200, r.text
        job = wait_job(c, r.json()["job_id"])
        assert job["state"] == "succeeded", job
        files = c.get(f"/api/v1/jobs/{job['id']}/files").text
    server = job["result"]["results"]["parallel_3_number_6"]["metrics"]["Server metrics"]
    engine = mock.stats()["engine"]
    # one slot, three clients: two wait, as the mock itself counted
    assert server["Peak waiting requests"] == engine["max_waiting"] == 2
    assert server["Generation tokens"] == engine["generation_tokens"] == 30
    assert server["Prompt tokens"] == engine["prompt_tokens"]
    assert not any("server metrics" in w for w in job["warnings"])
    assert "server_metrics.jsonl" in files
