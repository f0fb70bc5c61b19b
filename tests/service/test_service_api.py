"""The HTTP surface over the job API, driven with the controllable test job kind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from conftest import wait_job


def test_health_and_json_errors(thread_service):
    svc = thread_service()
    with httpx.Client(base_url=svc.url) as c:
        h = c.get("/health")
        assert h.status_code == 200
        body = h.json()
        assert body["status"] == "ok" and body["service"] == "evalscope"
        from datetime import datetime

        datetime.fromisoformat(body["timestamp"])
        for method, path in [
            ("GET", "/nope"),
            ("POST", "/api/v2/eval"),
            ("GET", "/api/v1/jobs/deadbeef"),
            ("GET", "/api/v1/jobs/deadbeef/files"),
            ("POST", "/api/v1/jobs/deadbeef/cancel"),
            ("GET", "/api/v1/jobs/deadbeef/events"),
            ("POST", "/api/v1/jobs/nokind"),
        ]:
            r = c.request(method, path, json={})
            assert r.status_code == 404, (method, path, r.text)
            assert r.headers["content-type"].startswith("application/json")
            assert r.json()["status"] == "error" and r.json()["message"]
        r = c.get("/api/v1/eval")
        assert r.status_code == 405 and r.json()["status"] == "error"
        assert c.get("/openapi.json").json()["paths"]["/api/v1/eval"]["post"]
        assert "swagger" in c.get("/docs").text.lower()
        # A failed job: JSON 500 naming the error, no traceback outside debug mode. (Data that is missing
        # is refused at submission with 400; a file with rows of the wrong format fails in the worker.)
        bad = svc.app.state.ctx.settings.base_dir / "bad-data" / "qa.jsonl"
        bad.parent.mkdir(parents=True)
        bad.write_text('{"unrelated": 1}\n')
        r = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": "http://127.0.0.1:9/v1",
                "datasets": ["general_qa"],
                "dataset_args": {"general_qa": {"local_path": "bad-data"}},
                "limit": 1,
            },
            timeout=60,
        )
        assert r.status_code == 500, r.text
        assert r.json()["status"] == "error" and r.json()["message"]
        assert "traceback" not in r.json()
        assert c.get(f"/api/v1/jobs/{r.json()['job_id']}").json()["traceback"] is None


def test_submit_get_list_events_files(thread_service):
    svc = thread_service()
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        r = c.post("/api/v1/jobs/test", json={"steps": 5, "sleep": 0.1})
        assert r.status_code == 202
        job = r.json()
        assert r.headers["location"] == f"/api/v1/jobs/{job['id']}"
        assert job["state"] in ("queued", "running") and job["kind"] == "test"
        # The SSE stream follows the job to its end.
        events = []
        with c.stream("GET", f"/api/v1/jobs/{job['id']}/events") as s:
            assert s.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in s.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
        assert events[-1] == ("end", {"id": job["id"], "state": "succeeded"})
        progress = [e["progress"]["done"] for n, e in events if n == "job"]
        assert progress == sorted(progress) and progress[-1] == 5
        assert any(e["state"] == "running" for n, e in events if n == "job")
        done = c.get(f"/api/v1/jobs/{job['id']}").json()
        assert done["state"] == "succeeded" and done["progress"] == {"done": 5, "total": 5, "percent": 100.0}
        assert done["result"]["ran"] == 5 and done["duration_s"] > 0 and done["attempts"] == 1
        assert done["started_at"] >= done["created_at"] and done["finished_at"] >= done["started_at"]
        # files
        files = c.get(f"/api/v1/jobs/{job['id']}/files").json()
        names = {f["path"] for f in files["files"]}
        assert {"job.json", "logs/run.log", "step_0.txt", "step_4.txt"} <= names
        assert c.get(f"/api/v1/jobs/{job['id']}/files/job.json").json()["config"] == {
            "steps": 5,
            "sleep": 0.1,
        }
        for bad in [
            "../service.db",
            "..%2Fservice.db",
            "%2E%2E/service.db",
            "/etc/passwd",
            "logs/../../service.db",
        ]:
            r = c.get(f"/api/v1/jobs/{job['id']}/files/{bad}")
            assert r.status_code == 404, bad
        # list, filters, pagination
        for _ in range(3):
            c.post("/api/v1/jobs/test", json={"steps": 1})
        c.post("/api/v1/jobs/test", json={"steps": 1, "fail": True})
        time.sleep(0.1)
        all_jobs = c.get("/api/v1/jobs", params={"limit": 500}).json()
        assert all_jobs["total"] == 5
        ids = [j["id"] for j in all_jobs["items"]]
        page1 = c.get("/api/v1/jobs", params={"limit": 2, "offset": 0}).json()
        page2 = c.get("/api/v1/jobs", params={"limit": 2, "offset": 2}).json()
        assert [j["id"] for j in page1["items"] + page2["items"]] == ids[:4]
        for j in c.get("/api/v1/jobs").json()["items"]:
            wait_job(c, j["id"])
        assert c.get("/api/v1/jobs", params={"state": "failed"}).json()["total"] == 1
        assert c.get("/api/v1/jobs", params={"state": "succeeded", "kind": "test"}).json()["total"] == 4
        assert c.get("/api/v1/jobs", params={"kind": "perf"}).json()["total"] == 0
        bad = c.get("/api/v1/jobs", params={"state": "weird", "limit": 0})
        assert bad.status_code == 400
        assert {e["field"] for e in bad.json()["errors"]} == {"state", "limit"}
        metrics = c.get("/metrics").text
        assert 'evalscope_jobs{kind="test",state="succeeded"} 4' in metrics
        assert 'evalscope_jobs{kind="test",state="failed"} 1' in metrics
        assert 'evalscope_job_duration_seconds_count{kind="test"} 5' in metrics


def test_cancel_and_resume(thread_service):
    svc = thread_service(max_concurrent_jobs=1)
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        job = c.post("/api/v1/jobs/test", json={"steps": 60, "sleep": 0.05}).json()
        wait_job(c, job["id"], states=("running",))
        while c.get(f"/api/v1/jobs/{job['id']}").json()["progress"]["done"] < 2:
            time.sleep(0.05)
        r = c.post(f"/api/v1/jobs/{job['id']}/cancel")
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        assert c.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 409
        written = len(list(Path(job["output_dir"]).glob("step_*.txt")))
        assert written >= 2
        time.sleep(0.3)
        # The killed process wrote nothing more.
        assert len(list(Path(job["output_dir"]).glob("step_*.txt"))) == written
        r = c.post(f"/api/v1/jobs/{job['id']}/resume")
        assert r.status_code == 202 and r.json()["state"] == "queued"
        done = wait_job(c, job["id"])
        assert done["state"] == "succeeded" and done["attempts"] == 2
        assert done["result"]["resume"] is True and done["result"]["ran"] == 60 - written
        assert c.post(f"/api/v1/jobs/{job['id']}/resume").status_code == 409


def test_work_dir_confined(thread_service, tmp_path):
    svc = thread_service()
    base = Path(svc.settings["work_dir"]).resolve()
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        for bad in ["..", "../elsewhere", "/tmp", "a/../../b", str(tmp_path)]:
            r = c.post("/api/v1/jobs/test", json={"steps": 1, "work_dir": bad})
            assert r.status_code == 400, bad
            assert r.json()["errors"][0]["field"] == "work_dir"
        ok = c.post("/api/v1/jobs/test", json={"steps": 1, "work_dir": "team/a"}).json()
        assert Path(ok["output_dir"]).parent == base / "team" / "a"
        # Two jobs never share a folder, even within the same second.
        dirs = {c.post("/api/v1/jobs/test", json={"steps": 1}).json()["output_dir"] for _ in range(5)}
        assert len(dirs) == 5


def test_body_limit_and_malformed_json(thread_service):
    svc = thread_service(max_body_bytes=4096)
    with httpx.Client(base_url=svc.url) as c:
        r = c.post("/api/v1/jobs/test", json={"pad": "x" * 10000})
        assert r.status_code == 413 and r.json()["status"] == "error"

        def chunks():
            for _ in range(10):
                yield b"x" * 1000

        r = c.post("/api/v1/jobs/test", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        r = c.post("/api/v1/jobs/test", content=b"{bad json", headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert r.json()["errors"][0]["field"] == "body"
        assert "JSON" in r.json()["errors"][0]["reason"]


@pytest.mark.parametrize("token", [None, "s3cret-token"])
def test_auth(thread_service, token):
    svc = thread_service(auth_token=token)
    with httpx.Client(base_url=svc.url) as c:
        assert c.get("/health").status_code == 200
        r = c.get("/api/v1/jobs")
        if token is None:
            assert r.status_code == 200
            return
        assert r.status_code == 401 and r.json()["status"] == "error"
        assert r.headers["www-authenticate"] == "Bearer"
        assert c.get("/api/v1/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics").status_code == 401
        assert c.post("/api/v1/eval", json={}).status_code == 401
        good = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/jobs", headers=good).status_code == 200
        assert c.post("/api/v1/jobs/test", json={"steps": 1}, headers=good).status_code == 202


def test_cors_off_by_default_and_on_when_configured(thread_service):
    off = thread_service()
    on = thread_service(cors_origins=["https://ui.example"])
    pre = {"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"}
    with httpx.Client() as c:
        assert "access-control-allow-origin" not in c.options(off.url + "/api/v1/eval", headers=pre).headers
        r = c.options(on.url + "/api/v1/eval", headers=pre)
        assert r.headers["access-control-allow-origin"] == "https://ui.example"


def test_relative_data_path_is_read_where_it_was_checked(thread_service, mock_server, tmp_path, monkeypatch):
    # A relative dataset_path is confined under the work dir / data dirs; the engine (another process,
    # another cwd) must read that same checked file, not a namesake in its own cwd.
    decoy_cwd = tmp_path / "cwd"
    decoy_cwd.mkdir()
    (decoy_cwd / "prompts.txt").write_text("decoy prompt from the cwd\n")
    monkeypatch.chdir(decoy_cwd)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "prompts.txt").write_text("checked prompt alpha\nchecked prompt beta\n")
    mock = mock_server(output_tokens=2)
    svc = thread_service(data_dirs=[data_dir])
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url + "/v1/chat/completions",
                "number": 4,
                "parallel": 2,
                "dataset": "line_by_line",
                "dataset_path": "prompts.txt",
            },
        )
        assert r.status_code == 200, r.text
        job = c.get(f"/api/v1/jobs/{r.json()['job_id']}").json()
    assert job["config"]["dataset_path"] == str((data_dir / "prompts.txt").resolve())
    prompts = mock.stats()["prompts"]
    assert set(prompts) == {"checked prompt alpha", "checked prompt beta"}
    assert sum(prompts.values()) == 4
