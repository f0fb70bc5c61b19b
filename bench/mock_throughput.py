"""How many streamed chat requests per second one mock server process serves.

The server runs in its own process (``MockServer(mode="process")``); the load comes from a
separate client process (aiohttp, uvloop when installed) holding ``--concurrency`` requests in
flight. Each request is a streamed chat completion with ``stream_options.include_usage`` and a
fixed reply length (``--output-tokens``), and the client reads every SSE line and checks that the
usage chunk reports that length, so a broken response cannot count as served.

    .venv/bin/python bench/mock_throughput.py                       # both event loops
    .venv/bin/python bench/mock_throughput.py --loops uvloop --requests 5000
    .venv/bin/python bench/mock_throughput.py --client wrk --seconds 10  # C client (apt-get install wrk)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time

from evalscope.mock import MockConfig, MockServer


async def _client(url: str, n: int, concurrency: int, output_tokens: int) -> dict:
    import aiohttp

    body = json.dumps(_BODY).encode()
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    remaining = n

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            t0 = time.perf_counter()
            ok = False
            async with session.post(url, data=body, headers=headers) as resp:
                usage = None
                async for line in resp.content:
                    if line.startswith(b'data: {"id"') and b'"usage":{' in line:
                        usage = json.loads(line[6:])["usage"]
                    elif line.startswith(b"data: [DONE]"):
                        ok = resp.status == 200 and usage is not None
                ok = ok and usage["completion_tokens"] == output_tokens
            if ok:
                latencies.append(time.perf_counter() - t0)
            else:
                failures += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(min(3 * concurrency, 200))))  # warm-up
        latencies.clear()
        remaining = n
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {"elapsed": elapsed, "ok": len(latencies), "failures": failures, "latencies": latencies}


def _client_process(url: str, n: int, concurrency: int, output_tokens: int, queue: mp.Queue) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(_client(url, n, concurrency, output_tokens)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report server cost per request."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def measure(loop: str, requests: int, concurrency: int, output_tokens: int) -> dict:
    """Start a process-mode mock with the given event loop and drive it from a client process."""
    cfg = MockConfig(output_tokens=output_tokens)
    with MockServer(cfg, mode="process", uvloop=(loop == "uvloop")) as srv:
        queue: mp.Queue = mp.get_context("spawn").Queue()
        proc = mp.get_context("spawn").Process(
            target=_client_process,
            args=(srv.url + "/v1/chat/completions", requests, concurrency, output_tokens, queue),
        )
        proc.start()
        # the client warms up before timing; server CPU is sampled around the whole run, warm-up included
        cpu0 = _cpu_seconds(srv._proc.pid)
        result = queue.get()
        cpu1 = _cpu_seconds(srv._proc.pid)
        proc.join()
        served = srv.stats()["by_status"].get("200", 0)
    lat = sorted(result["latencies"])
    return {
        "loop": loop,
        "requests": result["ok"],
        "failures": result["failures"],
        "req_per_s": result["ok"] / result["elapsed"],
        "tokens_per_s": result["ok"] * output_tokens / result["elapsed"],
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))] if lat else float("nan"),
        "server_200s": served,
        "server_cpu_us_per_req": 1e6 * (cpu1 - cpu0) / served if served else float("nan"),
    }


_BODY = {
    "model": "mock-model",
    "messages": [{"role": "user", "content": "Tell me about the mock server."}],
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": 1024,
}


def measure_wrk(loop: str, seconds: float, concurrency: int, output_tokens: int) -> dict:
    """The same requests from ``wrk`` (a C load generator: the client costs far less CPU than the server).

    wrk does not parse SSE, so the check is on the server side: every request must have got a 200,
    and one response fetched beforehand must be a complete 16-token stream.
    """
    cfg = MockConfig(output_tokens=output_tokens)
    with MockServer(cfg, mode="process", uvloop=(loop == "uvloop")) as srv:
        import urllib.request

        sample = urllib.request.urlopen(
            urllib.request.Request(
                srv.url + "/v1/chat/completions",
                data=json.dumps(_BODY).encode(),
                headers={"Content-Type": "application/json"},
            )
        ).read()
        events = [line for line in sample.splitlines() if line.startswith(b"data: ")]
        usage = json.loads(events[-2][6:])["usage"]
        assert events[-1] == b"data: [DONE]" and usage["completion_tokens"] == output_tokens, sample
        srv.reset_stats()
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {json.dumps(json.dumps(_BODY))}\n"
            )
            script = f.name
        cpu0 = _cpu_seconds(srv._proc.pid)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{seconds:g}s",
                "--latency",
                "-s",
                script,
                srv.url + "/v1/chat/completions",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu1 = _cpu_seconds(srv._proc.pid)
        os.unlink(script)
        stats = srv.stats()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    served = stats["by_status"].get("200", 0)
    return {
        "loop": loop,
        "requests": served,
        # 499 = requests wrk still had in flight when it stopped and hung up: not failures
        "failures": stats["total"] - served - stats["by_status"].get("499", 0),
        "req_per_s": rps,
        "tokens_per_s": rps * output_tokens,
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)],
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)],
        "server_cpu_us_per_req": 1e6 * (cpu1 - cpu0) / served if served else float("nan"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--output-tokens", type=int, default=16)
    p.add_argument("--loops", nargs="+", default=["asyncio", "uvloop"], choices=["asyncio", "uvloop"])
    p.add_argument("--repeat", type=int, default=1, help="runs per loop; the best is reported")
    p.add_argument(
        "--client",
        choices=["aiohttp", "wrk"],
        default="aiohttp",
        help="load generator: a Python aiohttp process, or wrk (apt-get install wrk)",
    )
    p.add_argument("--seconds", type=float, default=10, help="wrk: length of each run")
    args = p.parse_args()
    print(
        f"mock throughput: {args.requests} streamed chat requests, concurrency {args.concurrency}, "
        f"{args.output_tokens}-token replies (1 token per chunk), client ({args.client}) in a separate process"
    )
    if args.client == "wrk" and not shutil.which("wrk"):
        p.error("--client wrk: wrk is not installed (apt-get install wrk)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    # loops alternate run by run, so a change in background load hits both alike
    runs: dict[str, list[dict]] = {loop: [] for loop in args.loops}
    for _ in range(args.repeat):
        for loop in args.loops:
            if args.client == "wrk":
                runs[loop].append(measure_wrk(loop, args.seconds, args.concurrency, args.output_tokens))
            else:
                runs[loop].append(measure(loop, args.requests, args.concurrency, args.output_tokens))
    for results in runs.values():
        best = max(results, key=lambda r: r["req_per_s"])
        print(
            f"server loop {best['loop']:>7}: {best['req_per_s']:8.0f} req/s  {best['tokens_per_s']:9.0f} tok/s  "
            f"p50 {best['p50_ms']:6.1f} ms  p99 {best['p99_ms']:6.1f} ms  "
            f"server CPU {best['server_cpu_us_per_req']:5.0f} us/req  ok {best['requests']}  failed {best['failures']}"
            + (
                f"  (all runs: {', '.join(str(round(r['req_per_s'])) for r in results)} req/s)"
                if args.repeat > 1
                else ""
            )
        )
    print(f"load average after the runs: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
