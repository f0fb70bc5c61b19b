"""An SLO search as a perf job through the service (docs/perf.md, "Capacity search"): submitted with the
search fields, followed through slo_search.json (points tried so far) and the job's progress, answered
with the mock's computed capacity."""

from __future__ import annotations

import time

import httpx
from conftest import wait_job

from evalscope.mock import MockConfig
from evalscope.mock.capacity import expected_capacity

# 4 slots of 100 ms: a 5th concurrent client makes 1 request in 5 wait a whole 100 ms more
CLOSED = {"max_num_seqs": 4, "ttft": 0.1, "output_tokens": 4, "tokens_per_chunk": 4}


def test_slo_search_job_finds_the_capacity_and_shows_its_points(thread_service, mock_server):
    mock = mock_server(**CLOSED)
    truth = expected_capacity(MockConfig(**CLOSED), output_tokens=4, slo={"ttft": 0.15}).max_concurrency
    svc = thread_service()
    body = {
        "model": "m",
        "url": mock.url,
        "prompt": "hi",
        "max_tokens": 4,
        "workers": 1,
        "slo": ["ttft_p90:150ms"],
        "search": "concurrency",
        "search_start": 2,
        "search_requests": 40,
        "search_max_requests": 1000,
    }
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        bad = c.post("/api/v1/jobs/perf", json={**body, "slo": [], "search": "concurrency"})
        assert bad.status_code == 400 and "slo" in bad.text
        bad = c.post("/api/v1/jobs/perf", json={**body, "search_min": 0})
        assert bad.status_code == 400 and "search_min" in bad.text
        r = c.post("/api/v1/jobs/perf", json=body)
        assert r.status_code in (200, 201, 202), r.text
        job_id = r.json()["id"] if "id" in r.json() else r.json()["job_id"]
        seen_running = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # follow the points tried so far while the search runs
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            f = c.get(f"/api/v1/jobs/{job_id}/files/slo_search.json")
            if (
                seen_running is None
                and f.status_code == 200
                and f.json()["state"] == "running"
                and f.json()["points"]
            ):
                seen_running = (f.json(), job["progress"])
            if job["state"] in ("succeeded", "failed", "cancelled", "interrupted"):
                break
            time.sleep(0.05)
        job = wait_job(c, job_id)
        final = c.get(f"/api/v1/jobs/{job_id}/files/slo_search.json").json()
    assert job["state"] == "succeeded", job
    assert seen_running is not None, "no running snapshot with points seen"
    partial, progress = seen_running
    assert 1 <= len(partial["points"]) < len(final["points"])
    assert progress["total"] == 1000 and progress["done"] <= 1000  # requests against the search's budget
    search = job["result"]["slo_search"]
    assert search == final
    assert final["state"] == "finished" and final["stop_reason"] == "converged"
    assert abs(final["capacity"]["value"] - truth) <= 1
    assert final["requests"] <= 1000 and job["progress"]["done"] == final["requests"]
    # each load tried is a sweep point of the job's result
    assert {p["key"] for p in final["points"]} == set(job["result"]["results"])
