"""An SLO search job as the job list and the live page see it: the headline names the capacity found
(value, unit, req/s there, clear or not), and ``GET /api/v1/jobs/{id}/live`` names the load being
measured and the loads tried so far with their verdicts while the search runs."""

from __future__ import annotations

import time

import httpx
import pytest
from conftest import wait_job

pytestmark = pytest.mark.timeout(180)

# 4 slots of 100 ms: a 5th concurrent client makes 1 request in 5 wait a whole 100 ms more
CLOSED = {"max_num_seqs": 4, "ttft": 0.1, "output_tokens": 4, "tokens_per_chunk": 4}


def test_search_job_live_view_follows_the_loads_and_its_headline_names_the_capacity(
    thread_service, mock_server
):
    mock = mock_server(**CLOSED)
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
        r = c.post("/api/v1/jobs/perf", json=body)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        assert r.json()["summary"]["name"] == "m · capacity search (concurrency)"
        running: list[dict] = []  # live views of the search while it runs
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            live = c.get(f"/api/v1/jobs/{job_id}/live").json()["live"]
            if live and live["state"] == "running" and live.get("search"):
                running.append(live)
            if job["state"] in ("succeeded", "failed", "cancelled", "interrupted"):
                break
            time.sleep(0.05)
        job = wait_job(c, job_id)
        end = c.get(f"/api/v1/jobs/{job_id}/live").json()["live"]
        listed = c.get("/api/v1/jobs").json()["items"]
    assert job["state"] == "succeeded", job
    final = job["result"]["slo_search"]
    tried = [(p["load"], p["passed"], p["clear"]) for p in final["points"]]
    assert len(tried) >= 3 and final["stop_reason"] == "converged"

    # while it ran: each view's loads tried are the search's first ones with the same verdicts, and the
    # load it names is the one being measured (the next point tried) or the one just finished
    assert running, "no running live view of the search seen"
    for view in running:
        s, points = view["search"], view["points"]
        assert [(p["load"], p["passed"], p["clear"]) for p in points] == tried[: len(points)]
        assert s["search"] == "concurrency" and s["unit"] == "concurrent requests"
        assert s["slo"] == final["slo_text"] and s["tried"] == len(points)
        assert s["load"] in (
            tried[len(points)][0] if len(points) < len(tried) else None,
            *[t[0] for t in tried],
        )
        passing = [t[0] for t in tried[: len(points)] if t[1]]
        assert s["capacity"] == (max(passing) if passing else None)
        assert view["total"] == 1000 and view["remaining_s"] is None and view["done"] <= s["budget_requests"]
    mid = [
        v
        for v in running
        if len(v["points"]) < len(tried) and v["search"]["load"] == tried[len(v["points"])][0]
    ]
    assert mid, "no view taken while a load was being measured"
    assert len({v["search"]["load"] for v in mid}) >= 2  # it moved from load to load
    assert any(v["point"]["done"] > 0 for v in mid)
    assert any(v["points"] for v in mid)  # and showed loads already decided meanwhile

    # the last view stays: every load with its verdict, the answer, why it stopped
    assert end["state"] == "finished"
    assert [(p["load"], p["passed"], p["clear"]) for p in end["points"]] == tried
    assert [p["key"] for p in end["points"]] == [p["key"] for p in final["points"]]
    assert end["search"]["capacity"] == final["capacity"]["value"]
    assert end["search"]["stop_reason"] == "converged" and end["search"]["requests"] == final["requests"]
    assert end["done"] == final["requests"]

    # the headline: the capacity found, in its unit, with the req/s measured there
    cap = job["summary"]["perf"]["capacity"]
    assert cap == {
        "search": "concurrency",
        "value": final["capacity"]["value"],
        "unit": "concurrent requests",
        "throughput_rps": final["capacity"]["throughput_rps"],
        "clear": final["capacity"]["clear"],
        "failing_load": final["capacity"]["failing_load"],
        "slo": final["slo_text"],
        "stop_reason": "converged",
    }
    assert cap["throughput_rps"] > 0 and isinstance(cap["value"], int)
    # an SLO missed is the answer, not an error: errors count failed requests only (a busy machine may add
    # a client-timing warning, so the outcome may be "errors" for that alone)
    assert job["summary"]["errors"] == sum(p["failed"] for p in final["points"]) == 0
    assert next(j for j in listed if j["id"] == job_id)["summary"] == job["summary"]


def test_rate_search_headline_is_in_requests_per_second(thread_service, mock_server):
    """A rate search that already fails at its least load: no capacity, said so, in req/s."""
    mock = mock_server(**CLOSED)
    svc = thread_service()
    body = {
        "model": "m",
        "url": mock.url,
        "prompt": "hi",
        "max_tokens": 4,
        "workers": 1,
        "slo": ["ttft_p90:50ms"],  # below the mock's own 100 ms TTFT: no load can meet it
        "search": "rate",
        "search_min": 4,
        "search_start": 4,
        "search_requests": 20,
        "search_max_requests": 200,
    }
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post("/api/v1/jobs/perf", json=body)
        assert r.status_code == 202, r.text
        job = wait_job(c, r.json()["id"], timeout=120)
        live = c.get(f"/api/v1/jobs/{job['id']}/live").json()["live"]
    assert job["state"] == "succeeded", job
    final = job["result"]["slo_search"]
    assert final["stop_reason"] == "min_load_fails" and final["capacity"]["value"] is None
    cap = job["summary"]["perf"]["capacity"]
    assert cap["search"] == "rate" and cap["unit"] == "requests/s"
    assert cap["value"] is None and cap["throughput_rps"] is None
    assert cap["failing_load"] == final["capacity"]["failing_load"] == 4
    assert cap["stop_reason"] == "min_load_fails"
    assert job["summary"]["name"] == "m · capacity search (rate)"
    assert [(p["load"], p["passed"]) for p in live["points"]] == [(4, False)]
    assert live["search"]["capacity"] is None and live["search"]["failing_load"] == 4
