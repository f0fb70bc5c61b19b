"""Fixtures for the scale-out tests: Redis and PostgreSQL on loopback (see .ci/services.sh), real
`evalscope worker` processes, and a service with the Celery executor served in a thread.

Without the servers the tests skip with the reason, except under CI=true, where they fail: a
broken install must show.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from evalscope.service.background import BackgroundService

REPO = Path(__file__).resolve().parents[2]
JOBS_TESTS = REPO / "tests" / "jobs"
if str(JOBS_TESTS) not in sys.path:
    sys.path.insert(0, str(JOBS_TESTS))
TEST_KIND = {"test": "testing_kind:run"}
PG_ADMIN_URL = os.environ.get(
    "EVALSCOPE_TEST_PG", "postgresql+psycopg://evalscope:evalscope@127.0.0.1:5432/evalscope"
)
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: worker heartbeat and the service's timeout: short, so a killed worker shows within seconds
HEARTBEAT, HEARTBEAT_TIMEOUT = 0.3, 4.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI=true: .ci/services.sh should have started it)")
    pytest.skip(f"{reason}; run .ci/services.sh to install and start Redis and PostgreSQL")


def _celery_missing() -> str | None:
    for module in ("celery", "redis", "psycopg", "alembic"):
        try:
            __import__(module)
        except ImportError:
            return f"the celery extra is not installed ({module} missing): pip install -e '.[celery]'"
    return None


@pytest.fixture(scope="session")
def redis_ok() -> None:
    missing = _celery_missing()
    if missing:
        _unavailable(missing)
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(64).startswith(b"+PONG"):
                _unavailable(f"no Redis answering on {REDIS_HOST}:{REDIS_PORT}")
    except OSError as exc:
        _unavailable(f"Redis unreachable on {REDIS_HOST}:{REDIS_PORT} ({exc})")


@pytest.fixture(scope="session")
def pg_admin() -> str:
    missing = _celery_missing()
    if missing:
        _unavailable(missing)
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means: no server
        _unavailable(f"PostgreSQL unreachable at {_hide(PG_ADMIN_URL)} ({type(exc).__name__})")
    finally:
        engine.dispose()
    return PG_ADMIN_URL


def _hide(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def make_database(admin_url: str) -> tuple[str, object]:
    """A fresh, empty PostgreSQL database: (its URL, a function that drops it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"evalscope_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        from sqlalchemy.exc import DBAPIError

        # FORCE also has to end an autovacuum worker that happens to be on the new database, which a
        # role without pg_signal_backend may not do (.ci/services.sh grants it); a few tries ride out
        # that race on a server set up otherwise.
        for attempt in range(10):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except DBAPIError:
                if attempt == 9:
                    raise
                time.sleep(0.5)
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture
def pg_database(pg_admin):
    """Factory: a fresh, empty PostgreSQL database URL (dropped at teardown)."""
    drops = []

    def make() -> str:
        url, drop = make_database(pg_admin)
        drops.append(drop)
        return url

    yield make
    for drop in drops:
        drop()


def redis_url() -> str:
    """A Redis database of its own (1-15), so that clusters of different tests, or of test sessions
    running at the same time, never share a queue: claimed atomically in database 0 for a few
    minutes (longer than a test's cluster lives), then emptied of anything a killed session left."""
    import redis

    admin = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
    for n in random.sample(range(1, 16), 15):
        if admin.set(f"evalscope:test-db:{n}", os.getpid(), nx=True, ex=240):
            redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n).flushdb()
            return f"redis://{REDIS_HOST}:{REDIS_PORT}/{n}"
    raise RuntimeError("every Redis test database (1-15) is in use by other test sessions")


class Worker:
    """A real `evalscope worker` subprocess."""

    def __init__(self, log_path: Path, broker: str, database: str, *args: str) -> None:
        self.log_path = log_path
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(JOBS_TESTS), os.environ.get("PYTHONPATH", "")]),
        }
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evalscope",
                "worker",
                "--broker-url",
                broker,
                "--database-url",
                database,
                "--heartbeat",
                str(HEARTBEAT),
                *args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(log_path.parent),
        )

    def wait_ready(self, timeout: float = 90.0) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}"
                )
            if b" ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready:\n{self.log_path.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_worker(tmp_path, redis_ok):
    """Factory: ``start_worker(broker, database, *args)`` -> a started Worker (not yet ready)."""
    workers: list[Worker] = []

    def start(broker: str, database: str, *args: str) -> Worker:
        w = Worker(tmp_path / f"worker-{len(workers)}.log", broker, database, *args)
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


class ThreadService(BackgroundService):
    """``create_app`` with the Celery executor, under uvicorn in a background thread."""

    def __init__(self, **settings) -> None:
        settings.setdefault("job_kinds", TEST_KIND)
        settings.setdefault("executor", "celery")
        settings.setdefault("heartbeat_timeout", HEARTBEAT_TIMEOUT)
        super().__init__(start_timeout=30, stop_timeout=15, **settings)


def wait_job(
    client: httpx.Client,
    job_id: str,
    states=("succeeded", "failed", "cancelled", "interrupted"),
    timeout: float = 90.0,
    pred=None,
) -> dict:
    """Poll the job API until the job is in one of ``states`` (or ``pred(job)`` holds)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if pred(job) if pred else job["state"] in states:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
