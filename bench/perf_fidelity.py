"""Fidelity: the client's TTFT and TPOT against the server's own timestamps.

The reference is ``bench/stamping_server.py`` in its own process: it stamps each request with the
kernel's arrival time of its bytes (``SO_TIMESTAMPNS``, so its own accept/parse queue is on the
server's side of the ledger) and each chunk right after its ``send``. We run ``run_perf`` against
it with an injected TTFT and inter-token delay at parallel 1, 64 and 256 and report
mean(client) - mean(server) for TTFT and TPOT, with the same formulas on both sides: TTFT = first
content chunk - request sent (server: - request arrived); TPOT = (last chunk - first chunk) /
(chunks - 1). ``parallel`` warm-up requests open the connections first and are left out on both
sides. With ``--pin`` (default on a machine with 2+ cores) the server runs on the last core and the
client on the others, so neither steals the other's CPU. EvalScope 1.14.1 (its own venv, made by
``perf_common.ensure_peer``) then runs the same load against a fresh server (``--no-peer`` skips it).

    .venv/bin/python bench/perf_fidelity.py [--parallel 1 64 256] [--ttft 0.05] [--itl 0.01] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from evalscope.perf import PerfArguments, run_perf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf_common import ensure_peer, free_port, run_peer  # noqa: E402

SERVER = Path(__file__).resolve().parent / "stamping_server.py"


class StampingServer:
    """``bench/stamping_server.py`` as a subprocess (optionally pinned to one core)."""

    def __init__(self, ttft: float, itl: float, cpu: int | None) -> None:
        self.port = free_port()
        cmd = [sys.executable, str(SERVER), "--port", str(self.port), "--ttft", str(ttft), "--itl", str(itl)]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        self.proc = subprocess.Popen(cmd)
        self.url = f"http://127.0.0.1:{self.port}/v1/chat/completions"
        deadline = time.time() + 10
        while True:
            try:
                self.timings()
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def timings(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/timings", timeout=10) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def server_means(got: dict, parallel: int) -> tuple[list[dict], float, float]:
    """The measured requests (the first ``parallel`` arrivals are the warm-up, which opened the
    connections) and the server's mean TTFT and TPOT over them, in seconds."""
    timings = sorted(got["records"], key=lambda t: t["received"])[parallel:]
    s_ttft = statistics.mean(t["chunks"][0] - t["received"] for t in timings)
    s_tpot = statistics.mean((t["end"] - t["chunks"][0]) / (len(t["chunks"]) - 1) for t in timings)
    return timings, s_ttft, s_tpot


def one(parallel: int, ttft: float, itl: float, tokens: int, rounds: int, server_cpu: int | None) -> dict:
    srv = StampingServer(ttft, itl, server_cpu)
    try:
        number = max(40, parallel * rounds)
        args = PerfArguments(
            model="m",
            url=srv.url,
            number=[number],
            parallel=[parallel],
            prompt="Tell me about the weather.",
            max_tokens=tokens,
            outputs_dir=tempfile.mkdtemp(prefix="bench-fid-"),
            workers=1,
            warmup_num=parallel,
        )
        clock = time.time() - time.perf_counter()  # realtime - monotonic, to put both sides on one clock
        result = run_perf(args, show_progress=False, show_summary=False)
        m = next(iter(result["results"].values()))["metrics"]
        got = srv.timings()
        db = next(Path(result["output_dir"]).rglob("benchmark_data.db"))
        with sqlite3.connect(db) as con:
            rows = con.execute("SELECT start, first_output FROM requests WHERE success = 1").fetchall()
    finally:
        srv.close()
    timings, s_ttft, s_tpot = server_means(got, parallel)
    s_queue = statistics.mean(t["handled"] - t["received"] for t in timings)
    # the error splits into the request's trip (client stamp -> kernel arrival) and the first
    # chunk's trip (server send -> client stamp); means need no request-by-request matching
    send_ms = (
        statistics.mean(t["received"] for t in timings) - statistics.mean(r[0] for r in rows) - clock
    ) * 1e3
    recv_ms = (
        statistics.mean(r[1] for r in rows) + clock - statistics.mean(t["chunks"][0] for t in timings)
    ) * 1e3
    c_ttft = m["Average time to first token (s)"]
    c_tpot = m["Average time per output token (s)"]
    return {
        "parallel": parallel,
        "requests": len(timings),
        "client_requests": m["Succeed requests"],
        "server_ttft_ms": s_ttft * 1e3,
        "client_ttft_ms": c_ttft * 1e3,
        "ttft_err_ms": (c_ttft - s_ttft) * 1e3,
        "server_tpot_ms": s_tpot * 1e3,
        "client_tpot_ms": c_tpot * 1e3,
        "tpot_err_ms": (c_tpot - s_tpot) * 1e3,
        "server_queue_ms": s_queue * 1e3,
        "send_ms": send_ms,
        "recv_ms": recv_ms,
        "kernel_stamps": got["kernel_stamps"],
        "fallback_stamps": got["fallback_stamps"],
        "loop_lag_p99_ms": m["Client event-loop lag p99 (ms)"],
        "distorted": m["Client distorted"],
    }


def one_peer(
    peer: Path, parallel: int, ttft: float, itl: float, tokens: int, rounds: int, server_cpu: int | None
) -> dict:
    """EvalScope 1.14.1 against the same server and load; its summary is in ms, 2 decimals."""
    srv = StampingServer(ttft, itl, server_cpu)
    try:
        number = max(40, parallel * rounds)
        summary, _ = run_peer(
            peer,
            srv.url,
            parallel,
            number,
            tokens,
            Path(tempfile.mkdtemp(prefix="bench-fidp-")),
            ["--warmup-num", str(parallel)],
        )
        got = srv.timings()
    finally:
        srv.close()
    timings, s_ttft, s_tpot = server_means(got, parallel)
    c_ttft, c_tpot = summary["Avg TTFT (ms)"], summary["Avg TPOT (ms)"]
    return {
        "parallel": parallel,
        "requests": len(timings),
        "server_ttft_ms": s_ttft * 1e3,
        "client_ttft_ms": c_ttft,
        "ttft_err_ms": c_ttft - s_ttft * 1e3,
        "server_tpot_ms": s_tpot * 1e3,
        "client_tpot_ms": c_tpot,
        "tpot_err_ms": c_tpot - s_tpot * 1e3,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parallel", nargs="+", type=int, default=[1, 64, 256])
    ap.add_argument("--ttft", type=float, default=0.05)
    ap.add_argument("--itl", type=float, default=0.01)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2, help="requests per connection")
    ap.add_argument("--repeat", type=int, default=1, help="runs per parallel level (a fresh server each)")
    ap.add_argument("--no-peer", action="store_true", help="measure this repo only")
    ap.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="server on the last core, client on the others",
    )
    a = ap.parse_args()
    peer = None if a.no_peer else ensure_peer()
    server_cpu = None
    if a.pin and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        server_cpu = cpus[-1]
        os.sched_setaffinity(0, set(cpus[:-1]))
    print(
        f"injected ttft {a.ttft * 1e3:.0f} ms, itl {a.itl * 1e3:.0f} ms, {a.tokens} tokens, "
        f"server cpu {server_cpu if server_cpu is not None else 'any'}"
    )
    print(
        f"{'parallel':>8} {'reqs':>6} {'srv TTFT':>9} {'cli TTFT':>9} {'err':>7} {'srv TPOT':>9} {'cli TPOT':>9} "
        f"{'err':>7} {'send':>6} {'recv':>6} {'srv queue':>9} {'lag p99':>8}  distorted  kernel/fallback stamps"
    )
    for p in [p for p in a.parallel for _ in range(a.repeat)]:
        r = one(p, a.ttft, a.itl, a.tokens, a.rounds, server_cpu)
        print(
            f"{r['parallel']:>8} {r['requests']:>6} {r['server_ttft_ms']:>9.3f} {r['client_ttft_ms']:>9.3f} "
            f"{r['ttft_err_ms']:>+7.3f} {r['server_tpot_ms']:>9.3f} {r['client_tpot_ms']:>9.3f} "
            f"{r['tpot_err_ms']:>+7.3f} {r['send_ms']:>6.3f} {r['recv_ms']:>6.3f} {r['server_queue_ms']:>9.3f} {r['loop_lag_p99_ms']:>8.3f}  "
            f"{r['distorted']!s:9}  {r['kernel_stamps']}/{r['fallback_stamps']}",
            flush=True,
        )
    if peer is None:
        return
    print("EvalScope 1.14.1, same server and load (its summary: ms, 2 decimals)")
    for p in [p for p in a.parallel for _ in range(a.repeat)]:
        r = one_peer(peer, p, a.ttft, a.itl, a.tokens, a.rounds, server_cpu)
        print(
            f"{r['parallel']:>8} {r['requests']:>6} {r['server_ttft_ms']:>9.3f} {r['client_ttft_ms']:>9.3f} "
            f"{r['ttft_err_ms']:>+7.3f} {r['server_tpot_ms']:>9.3f} {r['client_tpot_ms']:>9.3f} "
            f"{r['tpot_err_ms']:>+7.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
