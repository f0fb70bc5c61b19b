"""Shared helpers of the perf benchmarks: a fixed-reply nginx server, the peer's venv, runners.

Not a test: run the ``bench/perf_*.py`` scripts; figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEER_VENV = Path(os.environ.get("EVALSCOPE_PEER_VENV", "/tmp/evalscope-peer-venv"))
PEER_SPEC = "evalscope[perf]==1.14.1"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sse_reply(tokens: int) -> str:
    """An OpenAI chat stream of ``tokens`` one-token chunks, with role chunk, finish and usage."""

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> str:
        obj = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            if choices
            else [],
        }
        if usage is not None:
            obj["usage"] = usage
        return "data: " + json.dumps(obj, separators=(",", ":")) + "\n\n"

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": f" tok{i}"}) for i in range(tokens)]
    out.append(chunk({}, "length"))
    out.append(
        chunk(
            {},
            usage={"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": 8 + tokens},
            choices=False,
        )
    )
    out.append("data: [DONE]\n\n")
    return "".join(out)


def ensure_nginx() -> str:
    """The nginx binary, installed from Debian's packages when missing."""
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path:
        return path
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "nginx"],
        check=True,
        env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    """nginx answering ``POST /t<N>/v1/chat/completions`` with a fixed N-token SSE stream, at once."""

    def __init__(self, token_counts: tuple[int, ...] = (16, 256), workers: int = 1) -> None:
        self.binary = ensure_nginx()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.dir.chmod(0o755)  # nginx workers run as an unprivileged user
        self.port = free_port()
        locations = []
        for n in token_counts:
            # the static module refuses POST; an error_page redirect re-issues it internally as GET
            (self.dir / f"t{n}.sse").write_text(sse_reply(n))
            locations.append(
                f"location = /t{n}/v1/chat/completions {{ error_page 405 =200 /files/t{n}.sse; return 405; }}"
            )
        locations.append(
            f"location /files/ {{ internal; alias {self.dir}/; default_type text/event-stream; }}"
        )
        conf = f"""
worker_processes {workers};
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_buffer_size 64k;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    {chr(10).join(locations)}
  }}
}}
"""
        (self.dir / "nginx.conf").write_text(conf)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Nginx:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        err = self.proc.stderr.read().decode() if self.proc.poll() is not None else "timeout"
        raise RuntimeError(f"nginx did not start: {err}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def ensure_peer() -> Path | None:
    """EvalScope 1.14.1 in its own venv (never a project dependency); None with the reason printed if impossible."""
    exe = PEER_VENV / "bin" / "evalscope"
    if exe.exists():
        return exe
    try:
        subprocess.run(
            ["python3", "-m", "venv", str(PEER_VENV)],
            check=True,
        )
        subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", PEER_SPEC], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"peer: could not install {PEER_SPEC} into {PEER_VENV}: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def prompt_file(n: int = 64) -> Path:
    """A line_by_line prompt file both tools read (no hub download needed)."""
    p = Path(tempfile.gettempdir()) / "bench-perf-prompts.txt"
    p.write_text("\n".join(f"Write a short note about topic number {i}." for i in range(n)) + "\n")
    return p


def find_summary(root: Path) -> dict:
    """The newest benchmark_summary.json under ``root``."""
    files = sorted(root.rglob("benchmark_summary.json"), key=lambda f: f.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no benchmark_summary.json under {root}")
    return json.loads(files[-1].read_text())


def load_flags(url: str, parallel: int, number: int, max_tokens: int, out: Path) -> list[str]:
    """The `evalscope perf` flags both tools take for one load (same spelling in both)."""
    return [
        "--model",
        "m",
        "--url",
        url,
        "--parallel",
        str(parallel),
        "--number",
        str(number),
        "--max-tokens",
        str(max_tokens),
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompt_file()),
        "--outputs-dir",
        str(out),
    ]


def run_ours(
    url: str,
    parallel: int,
    number: int,
    max_tokens: int,
    out: Path,
    extra: list[str] | None = None,
    timeout: float = 900,
) -> tuple[dict, float]:
    """`evalscope perf` of this repo as a user runs it; returns (summary, wall seconds)."""
    cmd = [
        PY,
        "-m",
        "evalscope",
        "perf",
        *load_flags(url, parallel, number, max_tokens, out),
        "--no-progress",
        *(extra or []),
    ]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"ours failed: {proc.stderr[-2000:]}")
    return find_summary(out), wall


def run_peer(
    exe: Path,
    url: str,
    parallel: int,
    number: int,
    max_tokens: int,
    out: Path,
    extra: list[str] | None = None,
    timeout: float = 1800,
) -> tuple[dict, float]:
    """EvalScope 1.14.1's `evalscope perf` with the same load; returns (summary, wall seconds)."""
    cmd = [
        str(exe),
        "perf",
        *load_flags(url, parallel, number, max_tokens, out),
        "--api",
        "openai",
        *(extra or []),
    ]
    t = time.perf_counter()
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tempfile.gettempdir(),
        env=os.environ | {"MODELSCOPE_OFFLINE": "1", "HF_HUB_OFFLINE": "1"},
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"peer failed (rc {proc.returncode}): {proc.stderr[-3000:]}")
    return find_summary(out), wall
