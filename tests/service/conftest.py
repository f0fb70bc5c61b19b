"""Service fixtures: the app served by uvicorn in a thread, or `evalscope service` as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from evalscope.service.background import BackgroundService

JOBS_TESTS = Path(__file__).resolve().parent.parent / "jobs"
# The controllable test job kind lives in tests/jobs; worker processes inherit sys.path.
if str(JOBS_TESTS) not in sys.path:
    sys.path.insert(0, str(JOBS_TESTS))

TEST_KIND = {"test": "testing_kind:run"}
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "eval"
# Never reach for a dataset hub from these tests (workers inherit this environment).
os.environ.setdefault("EVALSCOPE_OFFLINE", "1")
OUTPUT_TOKENS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError("service did not start")


class ThreadService(BackgroundService):
    """create_app(settings) under uvicorn in a background thread, with the test job kind."""

    def __init__(self, **settings) -> None:
        settings.setdefault("job_kinds", TEST_KIND)
        settings.setdefault("max_concurrent_jobs", 2)
        super().__init__(start_timeout=30, stop_timeout=15, **settings)

    @property
    def manager(self):
        return self.app.state.ctx.manager


class ProcessService:
    """`evalscope service` as a real subprocess (SIGKILL-able)."""

    def __init__(self, work_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.work_dir = work_dir
        self.args = args
        self.log_path = work_dir.parent / f"service-{self.port}.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(JOBS_TESTS), os.environ.get("PYTHONPATH", "")]),
            "EVALSCOPE_JOB_KINDS": "test=testing_kind:run",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> ProcessService:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evalscope",
                "service",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--work-dir",
                str(self.work_dir),
                *self.args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=str(REPO),
        )
        wait_health(self.url, proc=self.proc)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def thread_service(tmp_path):
    started = []

    def make(**settings) -> ThreadService:
        settings.setdefault("work_dir", tmp_path / "outputs")
        svc = ThreadService(**settings).__enter__()
        started.append(svc)
        return svc

    yield make
    for svc in started:
        svc.__exit__(None, None, None)


@pytest.fixture
def process_service(tmp_path):
    started = []

    def make(*args: str, work_dir: Path | None = None, env: dict[str, str] | None = None) -> ProcessService:
        svc = ProcessService(work_dir or tmp_path / "outputs", *args, env=env).start()
        started.append(svc)
        return svc

    yield make
    for svc in started:
        svc.stop()


def wait_job(
    client: httpx.Client,
    job_id: str,
    states=("succeeded", "failed", "cancelled", "interrupted"),
    timeout: float = 60.0,
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stuck: {job}")


@pytest.fixture(scope="session")
def seed_service(tmp_path_factory):
    """One `evalscope service --debug` subprocess and one mock model server, shared by the tests
    that run the seed's examples and check secrets (starting a service costs seconds)."""
    import json

    from evalscope.mock import MockConfig, MockServer, ScriptedAnswer

    tmp = tmp_path_factory.mktemp("seed")
    ds = tmp / "datasets"
    ds.mkdir()
    for name in ("gsm8k", "iquiz"):
        (ds / name).symlink_to(FIXTURES / name)
    hc3 = ds / "AI-ModelScope" / "HC3-Chinese"
    hc3.mkdir(parents=True)
    with (hc3 / "open_qa.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(40):
            fh.write(
                json.dumps(
                    {
                        "question": f"问题{i}：天空为什么是蓝色的？",
                        "human_answers": [],
                        "chatgpt_answers": [],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    # One gsm8k fixture item has gold 7; the rest get the mock's default reply.
    mock = MockServer(
        MockConfig(
            output_tokens=OUTPUT_TOKENS,
            answers=[
                ScriptedAnswer(match="Tom has 3 apples", reply="The answer is \\boxed{7}"),
            ],
        )
    ).start()
    svc = ProcessService(
        tmp / "outputs",
        "--debug",
        "--max-concurrent-jobs",
        "2",
        "--data-dir",
        str(FIXTURES),
        env={"EVALSCOPE_DATASET_DIR": str(ds)},
    ).start()
    yield svc, mock
    svc.stop()
    mock.stop()
