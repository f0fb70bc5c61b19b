"""Through the service a failed run is a failed job and a 500 on the seed's blocking routes (naming the
model URL and the cause, with the job's folder and what the run wrote); a partly failed run succeeds
and says so in the answer, the job record and the job list."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from conftest import FIXTURES, wait_job

from evalscope.mock import ScriptedAnswer

GSM8K = {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}


def test_blocking_routes_answer_500_fast_for_a_dead_endpoint(seed_service, dead_port):
    svc, _ = seed_service
    url = f"http://127.0.0.1:{dead_port}/v1"
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        started = time.perf_counter()
        ev = c.post(
            "/api/v1/eval", json={"model": "m", "api_url": url, "datasets": ["gsm8k"], "dataset_args": GSM8K}
        )
        elapsed = time.perf_counter() - started
        assert ev.status_code == 500, ev.text
        body = ev.json()
        assert body["status"] == "error"
        assert body["message"] == f"cannot reach the model at {url}/chat/completions: connection refused"
        assert Path(body["output_dir"]).is_dir() and body["job_id"]
        assert elapsed < 4.0  # under 2 s asked; margin for a loaded machine

        started = time.perf_counter()
        pf = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": url + "/chat/completions",
                "number": 50,
                "parallel": 2,
                "prompt": "hello",
            },
        )
        elapsed = time.perf_counter() - started
        assert pf.status_code == 500, pf.text
        body = pf.json()
        assert body["status"] == "error" and "success" not in pf.text
        assert body["message"] == f"cannot reach the model at {url}/chat/completions: connection refused"
        assert Path(body["output_dir"]).is_dir()
        assert elapsed < 4.0
        job = c.get(f"/api/v1/jobs/{body['job_id']}").json()
        assert job["state"] == "failed" and job["error"] == body["message"]


def test_job_api_dead_endpoint_is_a_failed_job(seed_service, dead_port):
    svc, _ = seed_service
    url = f"http://127.0.0.1:{dead_port}/v1"
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        ev = c.post(
            "/api/v1/jobs/eval",
            json={"model": "m", "api_url": url, "datasets": ["gsm8k"], "dataset_args": GSM8K},
        )
        assert ev.status_code == 202
        job = wait_job(c, ev.json()["id"])
        assert job["state"] == "failed" and f"{url}/chat/completions" in job["error"]
        assert "connection refused" in job["error"] and job["result"] is None
        pf = c.post("/api/v1/jobs/perf", json={"model": "m", "url": url, "number": 5, "prompt": "hello"})
        job = wait_job(c, pf.json()["id"])
        assert (
            job["state"] == "failed" and f"cannot reach the model at {url}/chat/completions" in job["error"]
        )
        failed = c.get("/api/v1/jobs", params={"state": "failed", "limit": 500}).json()["items"]
        assert job["id"] in {j["id"] for j in failed}


def test_nothing_scored_is_500_with_what_was_written(seed_service, dead_port):
    svc, _ = seed_service
    url = f"http://127.0.0.1:{dead_port}/v1"
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        # no connection test: every sample is asked, refused, and nothing can be scored
        r = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": url,
                "datasets": ["gsm8k"],
                "dataset_args": GSM8K,
                "max_retries": 0,
                "no_test_connection": True,
            },
        )
        assert r.status_code == 500, r.text
        body = r.json()
        assert body["message"].startswith(
            f"no sample could be scored: all 6 requests to the model at "
            f"{url}/chat/completions failed (connection x6)"
        )
        assert body["result"]["gsm8k"]["score"] is None
        assert body["error_counts"] == {"total": 6, "failed": 6, "by_reason": {"connection": 6}}
        assert Path(body["output_dir"], "reports").is_dir()
        # the job record keeps that partial result
        job = c.get(f"/api/v1/jobs/{body['job_id']}").json()
        assert job["state"] == "failed" and job["result"]["result"]["gsm8k"]["score"] is None
        assert any("no sample could be scored" in w for w in job["warnings"])

        pf = c.post(
            "/api/v1/perf",
            json={"model": "m", "url": url, "number": 3, "prompt": "hello", "no_test_connection": True},
        )
        assert pf.status_code == 500, pf.text
        body = pf.json()
        assert body["message"].startswith("every request failed: all 3 requests")
        assert body["results"]["parallel_1_number_3"]["metrics"]["Failed requests"] == 3
        assert body["error_counts"]["failed"] == 3 and Path(body["output_dir"]).is_dir()


def test_wrong_key_is_500_naming_401(seed_service, mock_server):
    svc, _ = seed_service
    srv = mock_server(api_key="sk-right")
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": srv.url + "/v1",
                "api_key": "sk-wrong",
                "datasets": ["gsm8k"],
                "dataset_args": GSM8K,
            },
        )
        assert r.status_code == 500
        assert r.json()["message"].startswith(
            f"the model at {srv.url}/v1/chat/completions answered 401 Unauthorized"
        )
        assert "sk-wrong" not in r.text
    assert srv.stats()["total"] == 0


def test_partial_failure_succeeds_with_warnings_everywhere(seed_service, mock_server):
    svc, _ = seed_service
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="Ben saves", status=503),
            ScriptedAnswer(match="hello", reply="hi", status=500, fail_times=1),
            ScriptedAnswer(match="", reply="\\boxed{7}"),
        ]
    )
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": srv.url + "/v1",
                "datasets": ["gsm8k"],
                "dataset_args": GSM8K,
                "max_retries": 0,
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "success" and body["result"]["gsm8k"]["counts"]["error"] == 1
        assert body["error_counts"] == {"total": 6, "failed": 1, "by_reason": {"http_503": 1}}
        assert body["warnings"] == [
            "gsm8k: 1 of 6 samples failed (no answer after 0 retries); the score covers the other 5"
        ]
        job = c.get(f"/api/v1/jobs/{body['job_id']}").json()
        assert job["state"] == "succeeded" and job["warnings"] == body["warnings"]
        assert job["result"]["error_counts"]["failed"] == 1
        listed = {j["id"]: j for j in c.get("/api/v1/jobs", params={"limit": 500}).json()["items"]}
        assert listed[job["id"]]["warnings"] == body["warnings"]

        pf = c.post("/api/v1/perf", json={"model": "m", "url": srv.url, "number": 4, "prompt": "hello"})
        assert pf.status_code == 200, pf.text
        body = pf.json()
        assert body["status"] == "success" and body["error_counts"] == {
            "total": 4,
            "failed": 1,
            "by_reason": {"http_500": 1},
        }
        assert "parallel_1_number_4: 1 request(s) failed: http_500 x1" in body["warnings"]
        job = c.get(f"/api/v1/jobs/{body['job_id']}").json()
        assert job["state"] == "succeeded" and body["warnings"] == job["warnings"]
