"""The job lifecycle under faults, through HTTP: the seed's unguarded `run_service` script, worker
processes that cannot be started, and a job store that refuses the final state for a while."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import httpx
from conftest import REPO, free_port, wait_health, wait_job

from evalscope.jobs import LocalProcessExecutor

# The seed's own example, as written: run_service at module level, no `if __name__ == "__main__":`.
SEED_SCRIPT = """\
from evalscope.service import run_service

run_service(host='127.0.0.1', port={port}, debug=False, work_dir={work_dir!r})
"""


def _until(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


def test_seed_script_without_main_guard_runs_jobs(tmp_path, mock_server):
    mock = mock_server(output_tokens=7)
    port = free_port()
    script = tmp_path / "serve.py"
    script.write_text(SEED_SCRIPT.format(port=port, work_dir=str(tmp_path / "outputs")))
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=str(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_health(url, proc=proc)
        body = {
            "model": "m",
            "url": mock.url + "/v1/chat/completions",
            "number": 6,
            "parallel": 2,
            "prompt": "hello",
        }
        r = httpx.post(url + "/api/v1/perf", json=body, timeout=120)
        assert r.status_code == 200, r.text
        metrics = r.json()["results"]["parallel_2_number_6"]["metrics"]
        assert metrics["Total requests"] == 6 and metrics["Succeed requests"] == 6
        assert metrics["Failed requests"] == 0
        assert mock.stats()["total"] == 6
        # A second job: the workers stay usable (none of them started a second service).
        again = httpx.post(url + "/api/v1/perf", json={**body, "number": 2, "parallel": 1}, timeout=120)
        assert again.status_code == 200, again.text
        assert mock.stats()["total"] == 8
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    text = (tmp_path / "serve.log").read_text(errors="replace")
    assert "address already in use" not in text and "bootstrapping phase" not in text, text[-2000:]


def test_run_service_returns_in_a_child_that_re_imports_the_script(tmp_path):
    # Another multiprocessing user in the same unguarded script: its spawn child re-imports the
    # script, and run_service must return there instead of serving (the child would never exit).
    port = free_port()
    script = tmp_path / "serve_and_spawn.py"
    script.write_text(
        textwrap.dedent(f"""\
        import multiprocessing, sys
        from evalscope.service import run_service

        def child():
            pass

        if __name__ == "__main__":
            p = multiprocessing.get_context("spawn").Process(target=child)
            p.start()
            p.join()
            print("child exit", p.exitcode)
            sys.exit(0)
        run_service(host='127.0.0.1', port={port}, work_dir={str(tmp_path / "outputs")!r})
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "child exit 0" in out.stdout


def test_spawn_failures_fail_the_job_degrade_health_and_recover(thread_service, monkeypatch):
    # Starting a worker fails with EMFILE (no file descriptors left) while the gate is set.
    gate = threading.Event()
    real_spawn = LocalProcessExecutor._spawn

    def spawn(self):
        if gate.is_set():
            raise OSError(errno.EMFILE, "Too many open files")
        return real_spawn(self)

    monkeypatch.setattr(LocalProcessExecutor, "_spawn", spawn)
    svc = thread_service(max_concurrent_jobs=1)
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        busy = c.post("/api/v1/jobs/test", json={"steps": 1000, "sleep": 0.05}).json()
        pid = wait_job(c, busy["id"], states=("running",))["worker_pid"]
        gate.set()
        os.kill(pid, signal.SIGKILL)  # like an OOM kill: its replacement cannot be started
        killed = wait_job(c, busy["id"])
        assert killed["state"] == "failed" and "SIGKILL" in killed["error"]
        health = _until(lambda: (h := c.get("/health")).json()["status"] == "degraded" and h, what="degraded")
        assert health.status_code == 503  # no worker at all: no job can run
        body = health.json()
        assert body["service"] == "evalscope" and body["timestamp"]
        assert "0 of 1 worker processes running" in body["reason"] and "Too many open files" in body["reason"]
        # A job submitted now fails with the reason instead of staying queued forever.
        queued = c.post("/api/v1/jobs/test", json={"steps": 1}).json()
        failed = wait_job(c, queued["id"])
        assert failed["state"] == "failed"
        assert (
            "no worker process could be started" in failed["error"]
            and "Too many open files" in failed["error"]
        )
        failures = [
            line
            for line in c.get("/metrics").text.splitlines()
            if line.startswith("evalscope_executor_spawn_failures_total ")
        ]
        assert len(failures) == 1 and int(failures[0].split()[1]) >= 2
        # The fault ends: the executor's next retry starts a worker, and all is well again.
        gate.clear()
        _until(
            lambda: c.get("/health").status_code == 200 and c.get("/health").json()["status"] == "ok",
            what="healthy again",
        )
        assert "reason" not in c.get("/health").json()
        after = wait_job(c, c.post("/api/v1/jobs/test", json={"steps": 2}).json()["id"])
        assert after["state"] == "succeeded" and after["result"]["ran"] == 2
        resumed = c.post(f"/api/v1/jobs/{queued['id']}/resume")
        assert resumed.status_code == 202
        assert wait_job(c, queued["id"])["state"] == "succeeded"


def _stored(db, job_id: str) -> str:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT state FROM evalscope_jobs WHERE id = ?", (job_id,)).fetchone()[0]


def test_blocking_call_answers_while_the_store_is_locked_and_the_state_is_saved_later(
    thread_service, mock_server, tmp_path
):
    mock = mock_server(output_tokens=3)
    db = tmp_path / "svc.db"
    gate = tmp_path / "gate"
    # One worker, a 0.2 s busy timeout so each refused write fails fast.
    svc = thread_service(max_concurrent_jobs=1, database_url=f"sqlite:///{db}?timeout=0.2")
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        blocker = c.post("/api/v1/jobs/test", json={"steps": 1, "wait_for": str(gate)}).json()
        wait_job(c, blocker["id"], states=("running",))
        answer: list[httpx.Response] = []
        body = {
            "model": "locked-store",
            "url": mock.url + "/v1/chat/completions",
            "number": 5,
            "parallel": 1,
            "prompt": "hello",
        }
        caller = threading.Thread(
            target=lambda: answer.append(httpx.post(svc.url + "/api/v1/perf", json=body, timeout=120))
        )
        caller.start()
        perf = _until(
            lambda: c.get("/api/v1/jobs", params={"kind": "perf"}).json()["items"], what="perf queued"
        )[0]
        assert perf["state"] == "queued"  # behind the blocker, on the only worker
        # Another connection holds SQLite's write lock; then both jobs get to run and end.
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            gate.touch()
            caller.join(timeout=120)
            assert not caller.is_alive(), "the blocking call waited on the locked store"
            r = answer[0]
            assert r.status_code == 200, r.text
            metrics = r.json()["results"]["parallel_1_number_5"]["metrics"]
            assert metrics["Succeed requests"] == 5 and mock.stats()["total"] == 5
            # Neither final state is in the store yet, but the API already tells it.
            assert _stored(db, blocker["id"]) == "running" and _stored(db, perf["id"]) == "queued"
            assert c.get(f"/api/v1/jobs/{perf['id']}").json()["state"] == "succeeded"
            assert c.get(f"/api/v1/jobs/{blocker['id']}").json()["state"] == "succeeded"
            h = c.get("/health")
            assert h.status_code == 200 and h.json()["status"] == "degraded"
            assert "not yet saved" in h.json()["reason"]
            assert "evalscope_jobs_unsaved_final 2" in c.get("/metrics").text
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        _until(
            lambda: _stored(db, blocker["id"]) == "succeeded" and _stored(db, perf["id"]) == "succeeded",
            what="final states stored",
        )
        stored = c.get(f"/api/v1/jobs/{perf['id']}").json()
        assert stored["result"]["results"]["parallel_1_number_5"]["metrics"]["Succeed requests"] == 5
        _until(lambda: c.get("/health").json()["status"] == "ok", what="healthy again")
