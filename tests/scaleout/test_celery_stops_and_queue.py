"""On the Celery executor, with real `evalscope worker` processes, Redis and PostgreSQL:

* a job that stops midway keeps a partial report (issue 18.2), written by the worker that holds its
  folder: cancelled (shared folder and upload mode), failed (its process killed);
* the one scheduler's clean measurements (issue 19.5): two load tests of one model server never run
  at once on the workers, one of another server does, and jobs held for a busy server before a
  service restart are handed over by the restarted service once the server is free.

Order is read from the job records' start and end times (no timing thresholds); slow mocks keep runs
going, and the tests end them by cancelling, not by timers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from conftest import REPO, ThreadService, Worker, make_database, redis_url, wait_job

from evalscope.mock import MockConfig, MockServer

pytestmark = pytest.mark.timeout(300)

FIXTURES = REPO / "tests" / "fixtures" / "eval"
REPLY = "The answer is 7. \\boxed{7}"


def when(job: dict, key: str) -> datetime:
    return datetime.fromisoformat(job[key])


def _until(fn, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _partial_done(c: httpx.Client, jid: str) -> dict:
    """The job once its worker has written its partial report (or said why there is none)."""

    def ready():
        job = c.get(f"/api/v1/jobs/{jid}").json()
        pr = (job.get("summary") or {}).get("partial_report")
        return job if pr is not None and pr["status"] != "writing" else None

    return _until(ready, what="the partial report")


def _report_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "report-data island missing"
    return json.loads(m.group(1))


def _lease_pid(db: str, job_id: str) -> int | None:
    from evalscope.jobs import JobStore
    from evalscope.jobs.celery import leases

    store = JobStore(db)
    try:
        lease = leases.lease_of(store, job_id)
    finally:
        store.close()
    return None if lease is None else lease["pid"]


def _eval_body(mock: MockServer) -> dict:
    return {
        "model": "mock-model",
        "api_url": mock.url + "/v1",
        "datasets": ["gsm8k"],
        "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        "eval_batch_size": 1,
    }


def _perf(url: str, number: int = 6) -> dict:
    return {
        "model": "m",
        "url": url + "/v1/chat/completions",
        "number": number,
        "parallel": 1,
        "prompt": "hi",
    }


def _answered(out: Path) -> int:
    lines = (out / "predictions" / "mock-model" / "gsm8k.jsonl").read_text().splitlines()
    return len({json.loads(x)["id"] for x in lines if x.strip().endswith("}")})


@pytest.fixture(scope="module")
def base(tmp_path_factory, pg_admin, redis_ok):
    """A database, a Redis queue and one worker with two slots (shared folder mode); each test serves
    its own service over them (the restart test two, one after the other)."""
    tmp = tmp_path_factory.mktemp("celery-stops")
    db, drop = make_database(pg_admin)
    broker = redis_url()
    worker = Worker(tmp / "worker.log", broker, db, "--concurrency", "2", "--hostname", "w1@stops")
    try:
        worker.wait_ready()
        yield {"db": db, "broker": broker, "worker": worker, "tmp": tmp}
    finally:
        worker.stop()
        drop()


def _service(base: dict, **settings) -> ThreadService:
    settings.setdefault("data_dirs", [FIXTURES])
    return ThreadService(
        work_dir=base["tmp"] / "out", database_url=base["db"], broker_url=base["broker"], **settings
    )


@pytest.fixture
def slow_mocks():
    # ~0.3 s a request: a load test of 6 lasts seconds, far longer than handing a job to a worker
    mocks = [MockServer(MockConfig(ttft=0.05, itl=0.025, output_tokens=10)).start() for _ in range(2)]
    yield mocks
    for m in mocks:
        m.stop()


# -- partial reports ---------------------------------------------------------------------------------
def test_cancelled_eval_on_a_worker_keeps_a_partial_report(base):
    mock = MockServer(MockConfig(ttft=0.4, itl=0.0, default_reply=REPLY)).start()
    try:
        with _service(base) as svc, httpx.Client(base_url=svc.url, timeout=60) as c:
            r = c.post("/api/v1/jobs/eval", json=_eval_body(mock))
            assert r.status_code == 202, r.text
            jid = r.json()["id"]
            wait_job(c, jid, pred=lambda j: j["progress"]["done"] >= 2, timeout=120)
            assert c.post(f"/api/v1/jobs/{jid}/cancel").json()["state"] == "cancelled"
            asked_at_cancel = mock.stats()["total"]
            job = _partial_done(c, jid)
            assert job["state"] == "cancelled"
            pr = job["summary"]["partial_report"]
            assert pr["status"] == "written" and pr["path"] == "report.html", pr
            out = Path(job["output_dir"])
            n = _answered(out)
            assert 2 <= n < 6 and pr["text"] == f"cancelled after {n} of 6 samples"
            # the result and headline count exactly the samples on disk
            assert sum(job["result"]["result"]["gsm8k"]["counts"].values()) == n
            assert job["summary"]["scores"][0]["samples"] == n and job["summary"]["outcome"] == "cancelled"
            html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
            assert 'id="partial-banner"' in html and f"cancelled after {n} of 6 samples" in html
            shown = _report_data(html)["reports"]
            assert [(b["dataset_name"], sum(b["counts"].values())) for b in shown] == [("gsm8k", n)]
            assert mock.stats()["total"] <= asked_at_cancel + 1  # the model was not asked again
            assert "partial report" in c.get(f"/api/v1/jobs/{jid}/files/logs/run.log").text
            assert base["worker"].proc.poll() is None
    finally:
        mock.stop()


def test_eval_whose_process_is_killed_fails_with_a_partial_report(base):
    mock = MockServer(MockConfig(ttft=0.4, itl=0.0, default_reply=REPLY)).start()
    worker = base["worker"]
    try:
        with _service(base) as svc, httpx.Client(base_url=svc.url, timeout=60) as c:
            jid = c.post("/api/v1/jobs/eval", json=_eval_body(mock)).json()["id"]
            wait_job(c, jid, pred=lambda j: j["progress"]["done"] >= 2, timeout=120)
            # the lease names the pool process running the job once it started (not the worker itself)
            pid = _until(
                lambda: (p := _lease_pid(base["db"], jid)) not in (None, worker.pid) and p,
                what="the job's process in its lease",
            )
            os.kill(pid, signal.SIGKILL)  # like an OOM kill of the job's process
            job = _partial_done(c, jid)
            assert job["state"] == "failed", job
            pr = job["summary"]["partial_report"]
            assert pr["status"] == "written", pr
            n = _answered(Path(job["output_dir"]))
            assert 2 <= n < 6 and pr["text"] == f"failed after {n} of 6 samples"
            assert sum(job["result"]["result"]["gsm8k"]["counts"].values()) == n
            assert job["summary"]["outcome"] == "failed"
            html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
            assert f"failed after {n} of 6 samples" in html
            assert worker.proc.poll() is None  # the worker lives on and replaced the process
            after = c.post("/api/v1/jobs/test", json={"steps": 2}).json()
            assert wait_job(c, after["id"])["state"] == "succeeded"
    finally:
        mock.stop()


def test_cancelled_sweep_in_upload_mode_sends_its_partial_report(tmp_path, pg_database, start_worker):
    db, broker = pg_database(), redis_url()
    token = "svc-token-partial-1"
    worker_dir = tmp_path / "worker-local"
    mock = MockServer(MockConfig(ttft=0.05, itl=0.02, output_tokens=8)).start()
    try:
        with (
            ThreadService(
                work_dir=tmp_path / "out", database_url=db, broker_url=broker, auth_token=token
            ) as svc,
            httpx.Client(base_url=svc.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c,
        ):
            start_worker(
                broker,
                db,
                "--concurrency",
                "1",
                "--files",
                "upload",
                "--work-dir",
                str(worker_dir),
                "--service-url",
                svc.url,
                "--service-token",
                token,
            ).wait_ready()
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
            # progress counts requests over the sweep: past 4, the first point is written
            wait_job(c, jid, pred=lambda j: j["progress"]["done"] >= 5, timeout=120)
            assert c.post(f"/api/v1/jobs/{jid}/cancel").json()["state"] == "cancelled"
            job = _partial_done(c, jid)
            pr = job["summary"]["partial_report"]
            assert pr["status"] == "written", pr
            assert pr["text"] == "cancelled after 1 of 2 sweep points"
            out = Path(job["output_dir"])
            assert out.parent == (tmp_path / "out").resolve()
            # the worker wrote it in its own folder, sent the folder, and the result names the service's
            assert list(job["result"]["results"]) == ["parallel_1_number_4"]
            assert job["result"]["output_dir"] == str(out)
            assert job["result"]["results"]["parallel_1_number_4"]["metrics"]["Total requests"] == 4
            assert job["summary"]["perf"]["points"] == 1
            listed = {f["path"] for f in c.get(f"/api/v1/jobs/{jid}/files").json()["files"]}
            assert {"report.html", "config.json", "logs/run.log"} <= listed
            assert any(p.startswith("parallel_1_number_4/") for p in listed)
            html = c.get(f"/api/v1/jobs/{jid}/files/report.html").text
            assert 'id="partial-banner"' in html and "cancelled after 1 of 2 sweep points" in html
            assert [p["key"] for p in _report_data(html)["points"]] == ["parallel_1_number_4"]
            assert not (worker_dir / out.name).exists()
            # once written, the folder is closed to uploads again
            assert c.put(f"/api/v1/jobs/{jid}/archive", content=b"x").status_code == 409
    finally:
        mock.stop()


# -- clean measurements on the workers ---------------------------------------------------------------
def test_load_tests_of_one_server_never_overlap_on_the_workers_of_two_do(base, slow_mocks):
    one, two = slow_mocks
    with _service(base) as svc, httpx.Client(base_url=svc.url, timeout=60) as c:
        first = c.post("/api/v1/jobs/perf", json=_perf(one.url)).json()["id"]
        # the same server named another way (the base URL with a trailing slash)
        same = c.post("/api/v1/jobs/perf", json={**_perf(one.url), "url": one.url + "/v1/"}).json()["id"]
        other = c.post("/api/v1/jobs/perf", json=_perf(two.url)).json()["id"]
        held = c.get(f"/api/v1/jobs/{same}").json()
        assert held["state"] == "queued"
        assert held["waits"][-1]["reason"] == "endpoint" and held["waits"][-1]["job_id"] == first
        jobs = {i: wait_job(c, i, timeout=180) for i in (first, same, other)}
    assert all(j["state"] == "succeeded" for j in jobs.values()), jobs
    a, b, o = jobs[first], jobs[same], jobs[other]
    # every job ran on the worker (two slots), none in the service
    assert {j["worker_pid"] for j in jobs.values()} == {base["worker"].pid}
    assert when(b, "started_at") >= when(a, "finished_at")
    (wait,) = [w for w in b["waits"] if w["reason"] == "endpoint"]
    assert wait["job_id"] == first and wait["seconds"] > 0
    assert when(o, "started_at") < when(a, "finished_at") and when(a, "started_at") < when(o, "finished_at")
    assert a["waits"] == [] and o["waits"] == []


def test_jobs_held_for_a_busy_server_are_handed_over_after_a_service_restart(base, slow_mocks):
    mock = slow_mocks[0]
    eval_body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["gsm8k"],
        "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        "limit": 2,
    }
    with _service(base) as svc, httpx.Client(base_url=svc.url, timeout=60) as c:
        # a long load test (about 400 x 0.3 s): it runs through the restart; the test ends it by cancel
        long = c.post("/api/v1/jobs/perf", json=_perf(mock.url, number=400)).json()["id"]
        wait_job(c, long, pred=lambda j: j["state"] == "running" and j["progress"]["done"] >= 1)
        perf = c.post("/api/v1/jobs/perf", json=_perf(mock.url)).json()["id"]
        ev = c.post("/api/v1/jobs/eval", json=eval_body).json()["id"]
        for jid in (perf, ev):
            held = c.get(f"/api/v1/jobs/{jid}").json()
            assert held["state"] == "queued" and held["waits"][-1]["job_id"] == long, held
    # the service stops; the load test goes on on its worker, the held jobs were never sent
    with _service(base) as svc, httpx.Client(base_url=svc.url, timeout=60) as c:
        assert c.get(f"/api/v1/jobs/{long}").json()["state"] == "running"
        for jid in (perf, ev):
            held = c.get(f"/api/v1/jobs/{jid}").json()
            assert held["state"] == "queued", held
            assert held["waits"][-1]["reason"] == "endpoint" and held["waits"][-1]["job_id"] == long, held
        cancelled = c.post(f"/api/v1/jobs/{long}/cancel").json()
        assert cancelled["state"] == "cancelled"
        jobs = {i: wait_job(c, i, timeout=180) for i in (perf, ev)}
        a = _partial_done(c, long)
    b, e = jobs[perf], jobs[ev]
    assert b["state"] == e["state"] == "succeeded", jobs
    # handed over by the restarted service only once the server was free, one job at a time
    assert when(b, "started_at") >= when(a, "finished_at")
    assert when(e, "started_at") >= when(b, "finished_at")
    assert [w["job_id"] for w in b["waits"] if w["reason"] == "endpoint"] == [long]
    assert [w["job_id"] for w in e["waits"] if w["reason"] == "endpoint"] == [long, perf]
    # the cancelled load test had not finished its only point: no partial report, and why
    pr = a["summary"]["partial_report"]
    assert pr["status"] == "none" and "before its run finished a sweep point" in pr["reason"], pr
