"""A job that stops midway keeps a partial report (issue 18 part 2): cancelled through the HTTP API while a
slow mock answers, the service writes report.html from what the run finished, marked partial, without
asking the model again; a job that failed at load time has none and says so."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES, wait_job

pytestmark = pytest.mark.timeout(240)


def _until(fn, timeout: float = 90.0, what: str = "condition"):
    """Poll ``fn`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _partial_done(c: httpx.Client, jid: str) -> dict:
    """The job once its partial report is written (or known not to come)."""

    def ready():
        job = c.get(f"/api/v1/jobs/{jid}").json()
        pr = job["summary"].get("partial_report")
        return job if pr is not None and pr["status"] != "writing" else None

    return _until(ready, what="the partial report")


def _report_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "report-data island missing"
    return json.loads(m.group(1))


def test_cancelled_eval_job_keeps_a_partial_report_of_the_samples_on_disk(thread_service, mock_server):
    mock = mock_server(ttft=0.4, itl=0.0, default_reply="The answer is 7. \\boxed{7}")
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
        _until(
            lambda: (s := c.get(f"/api/v1/jobs/{jid}/live").json())["live"] and s["live"]["done"] >= 2,
            what="two samples done",
        )
        cancelled = c.post(f"/api/v1/jobs/{jid}/cancel").json()
        assert cancelled["state"] == "cancelled"
        # said in the same answer: the report is on its way
        assert cancelled["summary"]["partial_report"]["status"] == "writing"
        asked_at_cancel = mock.stats()["total"]

        job = _partial_done(c, jid)
        assert job["state"] == "cancelled"
        pr = job["summary"]["partial_report"]
        assert pr["status"] == "written" and pr["path"] == "report.html", pr

        # what the run finished: one predictions line per answered sample
        out = Path(job["output_dir"])
        lines = (out / "predictions" / "mock-model" / "gsm8k.jsonl").read_text().splitlines()
        on_disk = {json.loads(line)["id"] for line in lines if line.strip()}
        n = len(on_disk)
        assert 2 <= n < 6
        assert pr["text"] == f"cancelled after {n} of 6 samples"
        # the benchmark report and the job's result count exactly those samples
        rep = json.loads((out / "reports" / "mock-model" / "gsm8k.json").read_text())
        assert sum(rep["counts"].values()) == n
        assert rep["counts"].get("correct", 0) + rep["counts"].get("wrong", 0) == n
        assert sum(job["result"]["result"]["gsm8k"]["counts"].values()) == n
        score = job["summary"]["scores"][0]
        assert score["benchmark"] == "gsm8k" and score["samples"] == n
        assert job["summary"]["outcome"] == "cancelled"

        files = [f["path"] for f in c.get(f"/api/v1/jobs/{jid}/files").json()["files"]]
        assert "report.html" in files
        html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
        assert 'id="partial-banner"' in html
        assert f"cancelled after {n} of 6 samples" in html
        shown = _report_data(html)["reports"]
        assert [(b["dataset_name"], sum(b["counts"].values())) for b in shown] == [("gsm8k", n)]
        # the model was not asked again to write it (at most a request already on its way at the cancel)
        assert mock.stats()["total"] <= asked_at_cancel + 1
        log = (out / "logs" / "run.log").read_text()
        assert "partial report" in log


def test_perf_sweep_cancelled_after_its_first_point_keeps_a_report_of_that_point(thread_service, mock_server):
    mock = mock_server(ttft=0.05, itl=0.02, output_tokens=8)
    svc = thread_service()
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        body = {
            "model": "mock-model",
            "url": mock.url + "/v1/chat/completions",
            "parallel": [1, 1],
            "number": [4, 400],
            "prompt": "hello",
            "max_tokens": 8,
            "sleep_interval": 0,
        }
        jid = c.post("/api/v1/jobs/perf", json=body).json()["id"]
        _until(
            lambda: (
                (s := c.get(f"/api/v1/jobs/{jid}/live").json())["live"]
                and len(s["live"]["points"]) >= 1
                and s["live"]["point"]["done"] >= 1
            ),
            what="the first point finished and the second started",
        )
        assert c.post(f"/api/v1/jobs/{jid}/cancel").json()["state"] == "cancelled"
        job = _partial_done(c, jid)
        pr = job["summary"]["partial_report"]
        assert pr["status"] == "written", pr
        assert pr["text"] == "cancelled after 1 of 2 sweep points"
        assert list(job["result"]["results"]) == ["parallel_1_number_4"]
        point = job["result"]["results"]["parallel_1_number_4"]
        assert point["metrics"]["Total requests"] == 4
        assert job["summary"]["perf"]["points"] == 1
        assert job["summary"]["perf"]["best_rps"] == point["metrics"]["Request throughput (req/s)"]
        html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
        assert 'id="partial-banner"' in html and "cancelled after 1 of 2 sweep points" in html
        data = _report_data(html)
        assert [p["key"] for p in data["points"]] == ["parallel_1_number_4"]
        assert data["points"][0]["summary"]["Total requests"] == 4


def test_job_failed_at_load_has_no_report_and_says_why(thread_service, tmp_path, dead_port):
    empty = tmp_path / "data" / "gsm8k_broken"
    empty.mkdir(parents=True)
    (empty / "test.jsonl").write_text("this is not a gsm8k row\n")  # found at submit, unreadable at load
    svc = thread_service(data_dirs=[tmp_path / "data"])
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        body = {
            "model": "mock-model",
            "api_url": f"http://127.0.0.1:{dead_port}/v1",
            "datasets": ["gsm8k"],
            "dataset_args": {"gsm8k": {"local_path": str(empty)}},
        }
        r = c.post("/api/v1/jobs/eval", json=body)
        assert r.status_code == 202, r.text
        job = wait_job(c, r.json()["id"])
        assert job["state"] == "failed"
        pr = job["summary"]["partial_report"]
        assert pr["status"] == "none" and "at load time" in pr["reason"], pr
        files = [f["path"] for f in c.get(f"/api/v1/jobs/{job['id']}/files").json()["files"]]
        assert "report.html" not in files


def test_job_interrupted_by_a_killed_service_gets_its_partial_report_at_the_next_start(
    process_service, tmp_path
):
    from evalscope.mock import MockConfig, MockServer

    mock = MockServer(MockConfig(ttft=0.4, itl=0.0, default_reply="The answer is 7. \\boxed{7}")).start()
    work = tmp_path / "outputs"
    env = {"EVALSCOPE_OFFLINE": "1"}
    try:
        svc = process_service("--data-dir", str(FIXTURES), work_dir=work, env=env)
        body = {
            "model": "mock-model",
            "api_url": mock.url + "/v1",
            "datasets": ["gsm8k"],
            "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
            "eval_batch_size": 1,
        }
        with httpx.Client(base_url=svc.url, timeout=30) as c:
            r = c.post("/api/v1/jobs/eval", json=body)
            assert r.status_code == 202, r.text
            jid = r.json()["id"]
            _until(lambda: c.get(f"/api/v1/jobs/{jid}").json()["progress"]["done"] >= 2, what="2 samples")
        svc.kill()
        svc2 = process_service("--data-dir", str(FIXTURES), work_dir=work, env=env)
        with httpx.Client(base_url=svc2.url, timeout=30) as c:
            job = _partial_done(c, jid)
            assert job["state"] == "interrupted"
            pr = job["summary"]["partial_report"]
            assert pr["status"] == "written", pr
            out = Path(job["output_dir"])
            lines = (out / "predictions" / "mock-model" / "gsm8k.jsonl").read_text().splitlines()
            n = len({json.loads(x)["id"] for x in lines if x.strip().endswith("}")})
            assert 2 <= n < 6 and pr["text"] == f"interrupted after {n} of 6 samples"
            html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
            assert f"interrupted after {n} of 6 samples" in html
            # resumed to its end: the full report replaces the partial one, and the headline has none
            assert c.post(f"/api/v1/jobs/{jid}/resume").status_code == 202
            final = wait_job(c, jid, timeout=120)
            assert final["state"] == "succeeded" and final["summary"]["partial_report"] is None
            html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
            assert 'id="partial-banner"' not in html
            assert sum(final["result"]["result"]["gsm8k"]["counts"].values()) == 6
    finally:
        mock.stop()
