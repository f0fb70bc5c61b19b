"""Scale-out figures: jobs per minute with one and with two `evalscope worker`s (Celery over Redis,
job store in PostgreSQL), and the latency the service adds per job under the Celery executor
versus the local executor.

    .ci/services.sh   # Redis + PostgreSQL on loopback
    .venv/bin/python bench/scaleout_jobs.py [--jobs 16] [--latency-jobs 20]

Throughput job: a perf run (40 requests, parallel 4) against the mock server (in its own process,
ttft 50 ms, 20 tokens at 5 ms). Each worker runs one job at a time (--concurrency 1), so two
workers should double the rate while the machine has cores to spare.
Latency job: a no-op job kind; "added latency" is the store's finished_at - created_at (queueing,
dispatch, start, result write), median and p90 over sequential jobs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from evalscope.mock import MockConfig, MockServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PG = os.environ.get("EVALSCOPE_TEST_PG", "postgresql+psycopg://evalscope:evalscope@127.0.0.1:5432/evalscope")
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    "EVALSCOPE_JOB_KINDS": "noop=scaleout_noop:run",
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _q(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


class Database:
    def __init__(self) -> None:
        self.admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        self.name = f"evalscope_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(PG).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evalscope", *args],
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        env=ENV,
        cwd=str(log.parent),
    )


def _wait_log(log: Path, marker: bytes, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while marker not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.1)


class Cluster:
    """`evalscope service` (+ `evalscope worker`s for the celery executor) as subprocesses."""

    def __init__(self, tmp: Path, executor: str, workers: int) -> None:
        self.db = Database()
        self.procs: list[subprocess.Popen] = []
        port = _port()
        self.url = f"http://127.0.0.1:{port}"
        broker = f"redis://127.0.0.1:6379/{14 if workers == 1 else 15}"
        args = [
            "service",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--work-dir",
            str(tmp / "out"),
            "--database-url",
            self.db.url,
        ]
        if executor == "celery":
            args += ["--executor", "celery", "--broker-url", broker]
            for k in range(workers):
                log = tmp / f"worker{k}.log"
                p = _spawn(
                    [
                        "worker",
                        "--broker-url",
                        broker,
                        "--database-url",
                        self.db.url,
                        "--concurrency",
                        "1",
                        "--heartbeat",
                        "2",
                        "--hostname",
                        f"bench{k}@%h",
                    ],
                    log,
                )
                self.procs.append(p)
                _wait_log(log, b" ready.", p)
        else:
            args += ["--max-concurrent-jobs", str(workers)]
        log = tmp / "service.log"
        p = _spawn(args, log)
        self.procs.append(p)
        _wait_log(log, b"Application startup complete", p)
        time.sleep(1.0)  # local executor: let its worker processes warm up

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.db.drop()


def _wait(c: httpx.Client, ids: list[str]) -> list[dict]:
    out = []
    for job_id in ids:
        while True:
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            if job["state"] in ("succeeded", "failed", "cancelled", "interrupted"):
                assert job["state"] == "succeeded", job
                out.append(job)
                break
            time.sleep(0.02)
    return out


def throughput(tmp: Path, workers: int, jobs: int, mock_url: str) -> float:
    cluster = Cluster(tmp, "celery", workers)
    body = {
        "model": "m",
        "url": mock_url + "/v1/chat/completions",
        "dataset": "speed_benchmark",
        "number": 40,
        "parallel": 4,
        "max_tokens": 20,
    }
    try:
        with httpx.Client(base_url=cluster.url, timeout=60) as c:
            _wait(c, [c.post("/api/v1/jobs/perf", json=body).json()["id"]])  # warm-up
            t0 = time.perf_counter()
            ids = [c.post("/api/v1/jobs/perf", json=body).json()["id"] for _ in range(jobs)]
            _wait(c, ids)
            return jobs / (time.perf_counter() - t0) * 60
    finally:
        cluster.close()


def latency(tmp: Path, executor: str, jobs: int) -> list[float]:
    cluster = Cluster(tmp, executor, 1)
    try:
        with httpx.Client(base_url=cluster.url, timeout=60) as c:
            _wait(c, [c.post("/api/v1/jobs/noop", json={}).json()["id"]])
            out = []
            for _ in range(jobs):
                job = _wait(c, [c.post("/api/v1/jobs/noop", json={}).json()["id"]])[0]
                created = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
                finished = datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
                out.append((finished - created).total_seconds())
            return out
    finally:
        cluster.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--latency-jobs", type=int, default=20)
    a = ap.parse_args()
    mock = MockServer(MockConfig(ttft=0.05, itl=0.005, output_tokens=20), mode="process").start()
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            rates = {}
            for n in (1, 2):
                (tmp / f"t{n}").mkdir()
                rates[n] = throughput(tmp / f"t{n}", n, a.jobs, mock.url)
            lat = {}
            for executor in ("local", "celery"):
                (tmp / executor).mkdir()
                lat[executor] = latency(tmp / executor, executor, a.latency_jobs)
    finally:
        mock.stop()
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"perf jobs (40 requests each), {a.jobs} jobs per run, one job per worker at a time:")
    print(f"  1 worker : {rates[1]:6.1f} jobs/min")
    print(f"  2 workers: {rates[2]:6.1f} jobs/min   ratio {rates[2] / rates[1]:.2f}x")
    print(f"no-op job, submit -> succeeded in the store (created_at -> finished_at), {a.latency_jobs} jobs:")
    for executor, values in lat.items():
        print(
            f"  {executor:6s} executor: median {statistics.median(values) * 1000:7.1f} ms   "
            f"p90 {_q(values, 0.9) * 1000:7.1f} ms"
        )
    print(
        f"  added by celery (median): {(statistics.median(lat['celery']) - statistics.median(lat['local'])) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
