"""API keys are used (the mock demands one) but never stored, logged or returned."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES, wait_job

from evalscope.mock import MockConfig, MockServer

KEY = "sk-TOPSECRET-4f9c2e7a"


@pytest.fixture
def keyed_mock():
    mock = MockServer(MockConfig(api_key=KEY, output_tokens=5)).start()
    yield mock
    mock.stop()


def test_api_key_used_but_never_stored_logged_or_returned(seed_service, keyed_mock):
    svc, _ = seed_service  # runs with --debug: the most verbose logs and answers
    mock = keyed_mock
    answers: list[str] = []
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        ev = c.post("/api/v1/eval", json={
            "model": "m", "api_url": mock.url + "/v1", "api_key": KEY, "datasets": ["gsm8k"],
            "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}, "limit": 3})
        answers.append(ev.text)
        assert ev.status_code == 200, ev.text
        # The key reached the model: the mock rejects requests without it.
        assert ev.json()["result"]["gsm8k"]["counts"]["error"] == 0
        pf = c.post("/api/v1/perf", json={"model": "m", "url": mock.url + "/v1/chat/completions", "api_key": KEY,
                                          "number": 4, "parallel": 2, "prompt": "hello",
                                          "headers": {"X-Api-Key": KEY, "X-Trace": "visible"}})
        answers.append(pf.text)
        assert pf.status_code == 200, pf.text
        assert pf.json()["results"]["parallel_2_number_4"]["metrics"]["Succeed requests"] == 4
        # Without the key the same perf run fails every request: the key above was really needed.
        nokey = c.post("/api/v1/perf", json={"model": "m", "url": mock.url + "/v1/chat/completions",
                                             "number": 2, "parallel": 1, "prompt": "hello"})
        assert nokey.json()["results"]["parallel_1_number_2"]["metrics"]["Failed requests"] == 2
        # A failing job whose error would mention the key (debug mode: traceback included).
        bad = c.post("/api/v1/jobs/test", json={"steps": 1, "fail": True, "api_key": KEY})
        job = wait_job(c, bad.json()["id"])
        assert job["state"] == "failed" and job["traceback"] and "***" in job["error"]
        answers.append(bad.text)
        failed = c.post("/api/v1/eval", json={"model": "m", "api_url": mock.url + "/v1", "api_key": KEY,
                                              "datasets": ["mmlu"], "limit": 1})
        assert failed.status_code == 500 and "DatasetNotFoundError" in failed.json()["traceback"]
        answers.append(failed.text)
        listing = c.get("/api/v1/jobs", params={"limit": 500})
        answers.append(listing.text)
        for item in listing.json()["items"]:
            answers.append(c.get(f"/api/v1/jobs/{item['id']}").text)
            for f in c.get(f"/api/v1/jobs/{item['id']}/files").json()["files"]:
                answers.append(c.get(f"/api/v1/jobs/{item['id']}/files/{f['path']}").text)
        perf_job = c.get(f"/api/v1/jobs/{pf.json()['job_id']}").json()
        assert perf_job["config"]["api_key"] == "***"
        assert perf_job["config"]["headers"] == {"X-Api-Key": "***", "X-Trace": "visible"}
        assert c.get(f"/api/v1/jobs/{ev.json()['job_id']}").json()["config"]["api_key"] == "***"
        answers.append(c.get("/metrics").text)
    for text in answers:
        assert KEY not in text
    files = [p for p in Path(svc.work_dir).rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"service.db", "config.json", "job.log", "run.log"} <= names
    for path in files:  # the database (and its WAL), configs, logs, predictions, perf records
        assert KEY.encode() not in path.read_bytes(), path
    log = svc.log_text()
    assert "POST /api/v1/eval" in log and KEY not in log
