"""A service with the Celery executor, real `evalscope worker` processes, Redis and PostgreSQL:
perf and eval jobs through the queue, cancel, a killed worker, and the upload files mode."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO, ThreadService, Worker, make_database, redis_url, wait_job

from evalscope.jobs.celery.files import pack_folder
from evalscope.mock import MockConfig, MockServer, ScriptedAnswer, count_tokens

GSM8K = REPO / "tests" / "fixtures" / "eval" / "gsm8k"
REPLY = "The answer is \\boxed{7}"
PROMPTS = [f"question number {i}: what is {i} plus {i}?" for i in range(8)]


def _prompts(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return path


def _lease(db_url: str, job_id: str) -> dict | None:
    from evalscope.jobs import JobStore
    from evalscope.jobs.celery import leases

    store = JobStore(db_url)
    try:
        return leases.lease_of(store, job_id)
    finally:
        store.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, pg_admin, redis_ok):
    """One service (Celery executor, PostgreSQL) and one worker with two slots, shared by the tests
    that do not kill anything."""
    tmp = tmp_path_factory.mktemp("cluster")
    db, drop = make_database(pg_admin)
    broker = redis_url()
    data = tmp / "data"
    prompts = _prompts(data)
    worker = Worker(tmp / "worker.log", broker, db, "--concurrency", "2", "--hostname", "w1@test")
    mock = MockServer(
        MockConfig(output_tokens=5, ttft=0.01, itl=0.002, answers=[ScriptedAnswer(match="", reply=REPLY)])
    ).start()
    try:
        with (
            ThreadService(
                work_dir=tmp / "out", database_url=db, broker_url=broker, data_dirs=[data, GSM8K]
            ) as svc,
            httpx.Client(base_url=svc.url, timeout=60) as c,
        ):
            worker.wait_ready()
            yield {"client": c, "worker": worker, "db": db, "mock": mock, "prompts": prompts}
    finally:
        worker.stop()
        mock.stop()
        drop()


def test_perf_and_eval_jobs_run_on_a_worker_through_redis_with_state_in_postgres(cluster):
    c, worker, db, mock, prompts = (cluster[k] for k in ("client", "worker", "db", "mock", "prompts"))
    perf = c.post(
        "/api/v1/jobs/perf",
        json={
            "model": "m",
            "url": mock.url + "/v1/chat/completions",
            "dataset": "line_by_line",
            "dataset_path": str(prompts),
            "number": 24,
            "parallel": 4,
            "max_tokens": 16,
            "api_key": "sk-perf-secret",
        },
    )
    assert perf.status_code == 202, perf.text
    ev = c.post(
        "/api/v1/jobs/eval",
        json={
            "model": "m",
            "api_url": mock.url + "/v1",
            "datasets": ["gsm8k"],
            "dataset_args": {"gsm8k": {"local_path": str(GSM8K)}},
            "eval_batch_size": 2,
        },
    )
    assert ev.status_code == 202, ev.text
    pj = wait_job(c, perf.json()["id"])
    ej = wait_job(c, ev.json()["id"])
    assert pj["state"] == "succeeded", pj
    assert ej["state"] == "succeeded", ej
    # The jobs ran in the worker's processes, not in the service's.
    assert pj["worker_pid"] == worker.pid and ej["worker_pid"] == worker.pid
    assert _lease(db, pj["id"])["worker"] == "w1@test"
    (point,) = pj["result"]["results"].values()
    m = point["metrics"]
    assert m["Total requests"] == 24 and m["Succeed requests"] == 24
    assert m["Average output tokens per request"] == count_tokens(REPLY)
    assert pj["progress"] == {"done": 24, "total": 24, "percent": 100.0}
    report = ej["result"]["result"]["gsm8k"]
    assert sum(report["counts"].values()) == 6 and report["counts"]["correct"] == 1
    assert ej["progress"]["done"] == 6
    # State, result and progress are in PostgreSQL (read back with a fresh store).
    from evalscope.jobs import JobStore

    store = JobStore(db)
    assert store.get(pj["id"]).result == pj["result"]
    store.close()
    # The service's file routes serve what the worker wrote (shared folder mode).
    files = {f["path"] for f in c.get(f"/api/v1/jobs/{pj['id']}/files").json()["files"]}
    summary = next(p for p in files if p.endswith("benchmark_summary.json"))
    assert json.loads(c.get(f"/api/v1/jobs/{pj['id']}/files/{summary}").content)["Total requests"] == 24
    # The secret reached the model (the worker used it) but not the store, files or answers.
    assert "sk-perf-secret" not in c.get(f"/api/v1/jobs/{pj['id']}").text
    for path in Path(pj["output_dir"]).rglob("*"):
        if path.is_file():
            assert b"sk-perf-secret" not in path.read_bytes(), path


def test_cancel_kills_the_running_job_and_the_worker_goes_on(cluster):
    c, worker = cluster["client"], cluster["worker"]
    long = c.post("/api/v1/jobs/test", json={"steps": 200, "sleep": 0.05}).json()
    other = c.post("/api/v1/jobs/test", json={"steps": 200, "sleep": 0.05}).json()  # fills the second slot
    queued = c.post("/api/v1/jobs/test", json={"steps": 200, "sleep": 0.05}).json()
    running = wait_job(c, long["id"], pred=lambda j: j["progress"]["done"] >= 3)
    wait_job(c, other["id"], pred=lambda j: j["state"] == "running")
    # Cancel a job still waiting in Redis: it is revoked and never starts.
    assert c.post(f"/api/v1/jobs/{queued['id']}/cancel").json()["state"] == "cancelled"
    for job in (long, other):
        r = c.post(f"/api/v1/jobs/{job['id']}/cancel")
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
    out = Path(running["output_dir"])
    time.sleep(1.0)
    steps = len(list(out.glob("step_*.txt")))
    time.sleep(1.0)
    assert len(list(out.glob("step_*.txt"))) == steps < 200  # the job's process is gone
    after = c.post("/api/v1/jobs/test", json={"steps": 2}).json()
    assert wait_job(c, after["id"])["state"] == "succeeded"  # the worker runs the next job
    assert c.get(f"/api/v1/jobs/{queued['id']}").json()["started_at"] is None
    assert c.get(f"/api/v1/jobs/{long['id']}").json()["state"] == "cancelled"
    assert worker.proc.poll() is None


def test_killed_worker_interrupts_its_job_resume_runs_it_elsewhere_and_restarts_keep_jobs(
    tmp_path, pg_database, start_worker
):
    db, broker = pg_database(), redis_url()
    first = start_worker(broker, db, "--concurrency", "1", "--hostname", "doomed@test")
    with (
        ThreadService(work_dir=tmp_path / "out", database_url=db, broker_url=broker) as svc,
        httpx.Client(base_url=svc.url, timeout=60) as c,
    ):
        first.wait_ready()
        job = c.post("/api/v1/jobs/test", json={"steps": 60, "sleep": 0.05}).json()
        running = wait_job(c, job["id"], pred=lambda j: j["progress"]["done"] >= 4)
        first.kill()  # SIGKILL: no goodbye, no ack
        second = start_worker(broker, db, "--concurrency", "1", "--hostname", "second@test")
        done = wait_job(c, job["id"], timeout=60)
        assert done["state"] == "interrupted", done
        assert "doomed@test" in done["error"] and "heartbeat" in done["error"]
        # Its job process died with the worker: no more steps appear.
        out = Path(running["output_dir"])
        steps = len(list(out.glob("step_*.txt")))
        time.sleep(0.8)
        assert len(list(out.glob("step_*.txt"))) == steps < 60
        second.wait_ready()
        assert c.post(f"/api/v1/jobs/{job['id']}/resume").status_code == 202
        final = wait_job(c, job["id"])
        assert final["state"] == "succeeded", final
        assert final["attempts"] == 2 and final["worker_pid"] == second.pid
        assert final["result"]["resume"] is True and final["result"]["ran"] == 60 - steps
        # A service restart leaves jobs alone: they live in Redis and on the workers.
        during = c.post("/api/v1/jobs/test", json={"steps": 40, "sleep": 0.05}).json()
        wait_job(c, during["id"], pred=lambda j: j["state"] == "running")
    with (
        ThreadService(work_dir=tmp_path / "out", database_url=db, broker_url=broker) as svc2,
        httpx.Client(base_url=svc2.url, timeout=60) as c,
    ):
        assert c.get(f"/api/v1/jobs/{during['id']}").json()["state"] in ("running", "succeeded")
        after = wait_job(c, during["id"])
        assert after["state"] == "succeeded" and after["attempts"] == 1, after
        assert after["progress"]["done"] == 40 and after["worker_pid"] == second.pid


def test_upload_mode_sends_the_job_folder_to_the_service(tmp_path, pg_database, start_worker):
    db, broker = pg_database(), redis_url()
    token = "svc-token-123456"
    worker_dir = tmp_path / "worker-local"
    with (
        ThreadService(
            work_dir=tmp_path / "out",
            database_url=db,
            broker_url=broker,
            auth_token=token,
            max_body_bytes=1024,
        ) as svc,
        httpx.Client(base_url=svc.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c,
    ):
        worker = start_worker(
            broker,
            db,
            "--files",
            "upload",
            "--work-dir",
            str(worker_dir),
            "--service-url",
            svc.url,
            "--service-token",
            token,
        ).wait_ready()
        # Incompressible text in the config and the log: the archive is larger than the service's
        # 1 KiB body limit, which uploads bypass (the upload route has its own limit).
        noise = secrets.token_urlsafe(675)
        job = c.post("/api/v1/jobs/test", json={"steps": 20, "log": noise}).json()
        done = wait_job(c, job["id"])
        assert done["state"] == "succeeded", done["error"]
        out = Path(done["output_dir"])
        assert out.parent == (tmp_path / "out").resolve()
        # The worker wrote elsewhere, then uploaded; the result's paths name the service's folder.
        assert done["result"]["output_dir"] == str(out)
        assert not (worker_dir / out.name).exists()  # the worker's copy is gone after the upload
        listed = {f["path"] for f in c.get(f"/api/v1/jobs/{job['id']}/files").json()["files"]}
        assert {"job.json", "logs/run.log", "step_0.txt", "step_1.txt", "step_2.txt"} <= listed
        assert c.get(f"/api/v1/jobs/{job['id']}/files/step_2.txt").text == str(done["result"]["pid"])
        log = c.get(f"/api/v1/jobs/{job['id']}/files/logs/run.log").content
        assert noise.encode() in log
        with tempfile.TemporaryFile() as tmp:
            assert pack_folder(out, tmp) > 1024
        # A failed job's logs arrive too.
        bad = c.post("/api/v1/jobs/test", json={"steps": 1, "fail": True}).json()
        failed = wait_job(c, bad["id"])
        assert failed["state"] == "failed" and "asked to fail" in failed["error"]
        assert "asked to fail" in c.get(f"/api/v1/jobs/{bad['id']}/files/logs/run.log").text
        # Uploads need the token and a running job.
        anon = httpx.put(f"{svc.url}/api/v1/jobs/{job['id']}/archive", content=b"x")
        assert anon.status_code == 401
        assert c.put(f"/api/v1/jobs/{job['id']}/archive", content=b"x").status_code == 409
        assert worker.proc.poll() is None
    assert os.listdir(worker_dir) == []
