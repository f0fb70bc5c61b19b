"""What the service adds to a job: start-up latency (submit -> running) and the extra wall time of a
tiny perf job through `POST /api/v1/perf` versus calling `run_perf` directly, and versus starting a
fresh Python process per job (what the original service paid).

    .venv/bin/python bench/service_overhead.py [--jobs 30]

Prints one table; numbers are medians (and p90) over --jobs runs against a mock server in its own
process.
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
from datetime import datetime
from pathlib import Path

import httpx

from evalscope.mock import MockConfig, MockServer
from evalscope.perf import PerfArguments, run_perf


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _q(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def _row(name: str, values: list[float]) -> str:
    return f"| {name} | {statistics.median(values) * 1000:.1f} | {_q(values, 0.9) * 1000:.1f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=30)
    ap.add_argument("--cold", type=int, default=5, help="fresh-process runs (slow)")
    args = ap.parse_args()

    with (
        MockServer(MockConfig(output_tokens=8), mode="process") as mock,
        tempfile.TemporaryDirectory() as tmp,
    ):
        body = {
            "model": "m",
            "url": mock.url + "/v1/chat/completions",
            "number": 1,
            "parallel": 1,
            "prompt": "hello",
            "outputs_dir": str(Path(tmp) / "direct"),
        }

        # 1. The engine called directly, in this process.
        direct = []
        for _ in range(args.jobs):
            t0 = time.perf_counter()
            run_perf(PerfArguments(**body), progress=lambda d, t: None)
            direct.append(time.perf_counter() - t0)

        # 2. A fresh Python process per job (the original service's model).
        cold = []
        code = (
            "import json,sys; from evalscope.perf import PerfArguments, run_perf; "
            "run_perf(PerfArguments(**json.loads(sys.argv[1])), progress=lambda d, t: None)"
        )
        import json

        for _ in range(args.cold):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code, json.dumps(body)], check=True, capture_output=True)
            cold.append(time.perf_counter() - t0)

        # 3. Through the service (blocking seed route), warm workers.
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evalscope",
                "service",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--work-dir",
                str(Path(tmp) / "svc"),
                "--max-concurrent-jobs",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        try:
            with httpx.Client(base_url=url, timeout=60) as c:
                for _ in range(600):
                    try:
                        if c.get("/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.05)
                svc_body = {k: v for k, v in body.items() if k != "outputs_dir"}
                c.post("/api/v1/perf", json=svc_body).raise_for_status()  # waits for warm workers
                blocking, startup, health = [], [], []
                for _ in range(args.jobs):
                    t0 = time.perf_counter()
                    r = c.post("/api/v1/perf", json=svc_body)
                    blocking.append(time.perf_counter() - t0)
                    r.raise_for_status()
                    job = c.get(f"/api/v1/jobs/{r.json()['job_id']}").json()
                    created = datetime.fromisoformat(job["created_at"])
                    started = datetime.fromisoformat(job["started_at"])
                    startup.append((started - created).total_seconds())
                    t0 = time.perf_counter()
                    c.get("/health")
                    health.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    added = [b - statistics.median(direct) for b in blocking]
    print(f"tiny perf job (1 request, 8 output tokens, mock server), {args.jobs} runs, {os.cpu_count()} CPUs")
    print("| measure | median ms | p90 ms |")
    print("|---|---|---|")
    print(_row("run_perf() called directly", direct))
    print(_row("fresh python process per job (cold start)", cold))
    print(_row("POST /api/v1/perf (blocking, warm worker)", blocking))
    print(_row("added by the service (blocking - direct median)", added))
    print(_row("job start-up: submit -> running (store timestamps)", startup))
    print(_row("GET /health between jobs", health))


if __name__ == "__main__":
    main()
