"""The job list's headline (summary) and a running job's live state (GET .../live, events?live=1),
through a real service and a slow mock that injects faults."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import FIXTURES, wait_job

pytestmark = pytest.mark.timeout(180)


def _until(fn, timeout: float = 60.0, what: str = "condition"):
    """Poll ``fn`` until it returns something truthy (no fixed sleeps in the assertions' place)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_perf_job_live_state_rises_while_it_runs_and_its_summary_names_the_headline(
    thread_service, mock_server
):
    mock = mock_server(ttft=0.05, itl=0.02, output_tokens=8, error_rate=0.3, error_codes=[500], seed=7)
    svc = thread_service()
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        body = {
            "model": "mock-model",
            "url": mock.url + "/v1/chat/completions",
            "parallel": [1, 2],
            "number": [30, 40],
            "prompt": "hello",
            "max_tokens": 8,
            "sleep_interval": 0,
        }
        job = c.post("/api/v1/jobs/perf", json=body).json()
        jid = job["id"]
        assert job["summary"]["name"] == "mock-model · c=1,2 n=30,40"
        assert job["summary"]["outcome"] == "queued"

        def live():
            return c.get(f"/api/v1/jobs/{jid}/live").json()

        first = _until(lambda: (s := live())["live"] and s["live"]["point"]["done"] >= 3 and s, what="3 done")
        assert first["live"]["kind"] == "perf" and first["live"]["point"]["key"] == "parallel_1_number_30"
        p = first["live"]["point"]
        assert p["rps"] > 0 and p["ttft_p50"] > 0 and p["ttft_p99"] >= p["ttft_p50"]
        assert p["itl_p50"] > 0 and p["latency_p99"] >= p["latency_p50"]
        assert first["live"]["total"] == 70 and first["live"]["elapsed_s"] >= 0
        assert any(f["path"] == "config.json" for f in first["files"])
        # the failures counted as they happen: more later than at first
        later = _until(
            lambda: (s := live())["live"] and s["live"]["failed"] > first["live"]["failed"] and s,
            what="more failures",
        )
        assert later["live"]["errors_by_reason"].get("http_500", 0) == later["live"]["failed"]
        assert later["live"]["done"] > first["live"]["done"]
        final = wait_job(c, jid, timeout=120)
        assert final["state"] == "succeeded"
        s = final["summary"]
        failed = sum(p["metrics"]["Failed requests"] for p in final["result"]["results"].values())
        assert s["outcome"] == "errors" and s["errors"] == failed > 0
        best = max(
            final["result"]["results"].values(), key=lambda p: p["metrics"]["Request throughput (req/s)"]
        )
        assert s["perf"]["best_rps"] == best["metrics"]["Request throughput (req/s)"]
        i = best["percentiles"]["Percentiles"].index("99%")
        assert s["perf"]["p99_ttft_s"] == best["percentiles"]["TTFT (s)"][i]
        assert s["perf"]["failed"] == failed and s["perf"]["points"] == 2
        # the list answers the same stored headline
        listed = c.get("/api/v1/jobs").json()["items"][0]
        assert listed["id"] == jid and listed["summary"] == s
        # the last live state stays: both points, nothing remaining
        end = live()["live"]
        assert end["state"] == "finished" and [q["key"] for q in end["points"]] == [
            "parallel_1_number_30",
            "parallel_2_number_40",
        ]
        assert end["done"] == 70 and end["failed"] == failed


def test_eval_job_events_stream_sends_live_partial_scores(thread_service, mock_server):
    mock = mock_server(ttft=0.15, itl=0.0, default_reply="The answer is 7. \\boxed{7}")
    svc = thread_service(data_dirs=[FIXTURES])
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        body = {
            "model": "mock-model",
            "api_url": mock.url + "/v1",
            "datasets": ["gsm8k"],
            "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
            "eval_batch_size": 1,
        }
        r = c.post("/api/v1/jobs/eval", json=body)
        assert r.status_code == 202, r.text
        jid = r.json()["id"]
        lives = []
        with c.stream("GET", f"/api/v1/jobs/{jid}/events", params={"live": 1}) as resp:
            event = None
            for line in resp.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "live":
                    lives.append(json.loads(line[6:]))
                elif line.startswith("data: ") and event == "end":
                    break
        views = [x["live"] for x in lives if x["live"]]
        assert views, lives
        done = [v["benchmarks"]["gsm8k"]["done"] for v in views]
        assert done == sorted(done) and len(set(done)) >= 2  # it moved while the job ran
        last = views[-1]["benchmarks"]["gsm8k"]
        job = c.get(f"/api/v1/jobs/{jid}").json()
        rep = job["result"]["result"]["gsm8k"]
        assert last["done"] == sum(rep["counts"].values())
        assert last["counts"] == {k: rep["counts"].get(k, 0) for k in last["counts"]}
        assert last["score"] == pytest.approx(rep["score"], abs=1e-4)  # the report rounds to 4 places
        assert job["summary"]["scores"][0]["benchmark"] == "gsm8k"
        assert job["summary"]["scores"][0]["score"] == rep["score"]
        assert job["summary"]["name"] == "mock-model · gsm8k"
        assert any(x["log_tail"] for x in lives)


def test_perf_job_over_two_client_processes_counts_every_request_live(thread_service, mock_server):
    """The shards' rows reach the live view through their pipes: at the end it counts every request
    and every failure of the result."""
    mock = mock_server(ttft=0.01, itl=0.005, output_tokens=4, error_rate=0.3, error_codes=[503], seed=3)
    svc = thread_service()
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        body = {
            "model": "mock-model",
            "url": mock.url + "/v1/chat/completions",
            "parallel": [4],
            "number": [40],
            "workers": 2,
            "prompt": "hello",
            "max_tokens": 4,
        }
        jid = c.post("/api/v1/jobs/perf", json=body).json()["id"]
        final = wait_job(c, jid, timeout=120)
        assert final["state"] == "succeeded", final["error"]
        m = final["result"]["results"]["parallel_4_number_40"]["metrics"]
        assert m["Client processes"] == 2
        live = c.get(f"/api/v1/jobs/{jid}/live").json()["live"]
        assert live["done"] == 40 and live["point"]["done"] == 40
        assert live["failed"] == m["Failed requests"] > 0
        assert live["errors_by_reason"] == {"http_503": m["Failed requests"]}
        assert live["points"][0]["failed"] == m["Failed requests"]
