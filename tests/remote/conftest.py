"""Fixtures of the remote client's tests: `evalscope service` as a real subprocess (with a bearer token,
restartable on the same port), the mock model, small data files, and the remote CLI run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from evalscope.mock import MockConfig, MockServer, ScriptedAnswer

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "eval"
TOKEN = "tok-remote-7f3a9c1e5b"  # a value that cannot appear in any output by chance
#: gsm8k's fixture has 6 questions; these 3 get their gold answer, the others the mock's filler: 0.5
RIGHT = {"Tom has 3 apples": "7", "Lena reads 5 pages": "30", "Sam walks 2 km": "28"}
GSM8K_SCORE = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`evalscope service` in a subprocess; ``kill()`` then ``start()`` restarts it on the same port
    with the same work dir (so the same job store)."""

    def __init__(self, root: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = root
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / f"service-{self.port}.log"
        datasets = root / "datasets"
        if not datasets.exists():
            datasets.mkdir(parents=True)
            (datasets / "gsm8k").symlink_to(FIXTURES / "gsm8k")
            hc3 = datasets / "AI-ModelScope" / "HC3-Chinese"  # perf's openqa prompts
            hc3.mkdir(parents=True)
            rows = (
                json.dumps({"question": f"问题{i}：天空为什么是蓝色的？"}, ensure_ascii=False)
                for i in range(40)
            )
            (hc3 / "open_qa.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        self.data = root / "data"
        self.data.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "EVALSCOPE_DATASET_DIR": str(datasets),
            "EVALSCOPE_OFFLINE": "1",
            "EVALSCOPE_AUTH_TOKEN": TOKEN,
        }

    def start(self) -> Service:
        log = open(self.log_path, "ab")
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
                str(self.root / "outputs"),
                "--data-dir",
                str(self.data),
                *self.args,
            ],  # fmt: skip
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=str(REPO),
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("service did not start")

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

    def http(self) -> httpx.Client:
        """A plain HTTP client with the token (for checks beside the CLI)."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def remote_argv(*args: object) -> list[str]:
    return [sys.executable, "-m", "evalscope", "remote", *map(str, args)]


def client_env(token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    """The CLI's environment: the token in $EVALSCOPE_AUTH_TOKEN (or none at all)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("EVALSCOPE_AUTH_TOKEN", "EVALSCOPE_SERVICE_TOKEN")
    }
    if token is not None:
        env["EVALSCOPE_AUTH_TOKEN"] = token
    env.update(extra)
    return env


def run_remote(
    *args: object, env: dict[str, str] | None = None, timeout: float = 180, cwd: Path | None = None
):
    """``evalscope remote ...`` in a subprocess; returns the CompletedProcess (text)."""
    return subprocess.run(
        remote_argv(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=client_env() if env is None else env,
        cwd=str(cwd) if cwd else None,
    )


def mock_config(**kw) -> MockConfig:
    answers = [ScriptedAnswer(match=q, reply=f"The answer is \\boxed{{{a}}}") for q, a in RIGHT.items()]
    return MockConfig(output_tokens=8, answers=answers, **kw)


@dataclass
class Stack:
    service: Service
    mock: MockServer
    prompts: Path  # a line_by_line prompts file inside the service's --data-dir

    @property
    def api_url(self) -> str:
        return self.mock.url + "/v1"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One service (token on) and one mock model shared by the tests that need no restart."""
    root = tmp_path_factory.mktemp("remote")
    mock = MockServer(mock_config(ttft=0.05)).start()
    svc = Service(root, "--max-concurrent-jobs", "2")
    prompts = svc.data / "prompts.txt"
    prompts.write_text("".join(f"question number {i}: why is the sky blue?\n" for i in range(20)))
    svc.start()
    yield Stack(svc, mock, prompts)
    svc.stop()
    mock.stop()
