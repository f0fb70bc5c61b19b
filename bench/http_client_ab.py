"""HTTP client A/B inside the same perf engine: the hand-written client vs aiohttp.

``evalscope perf`` sends through ``evalscope/perf/http.py`` (``raw``, the default) or through aiohttp
(``EVALSCOPE_PERF_HTTP=aiohttp``); everything else (scheduling, stream accumulator, records,
metrics) is the same code. Two measures, runs alternating between the clients (the order flips
every round), one client process (``--workers 1``) so the client is what saturates:

1. Requests/s at saturation: the public ``evalscope perf`` CLI in a subprocess, closed loop at
   ``--parallel`` against a server answering every POST at once with a fixed 16-token OpenAI stream
   (role, 16 content, finish and usage events, ``[DONE]``), twice: nginx (``perf_common.Nginx``: a
   static file, so a ``Content-Length`` body and no chunked parsing), and a minimal uvloop server
   here (``--serve-chunked``) that writes the same events as ``Transfer-Encoding: chunked``, one
   chunk per event as LLM servers send them, the whole reply in one write.
2. Timestamp error: ``run_perf`` against ``bench/stamping_server.py`` (kernel receive stamps, a
   chunk every ``--itl``), mean client TTFT / TPOT minus the server's (``perf_fidelity.one``, server
   and client pinned to different cores with ``--pin``).

``--variant httptools`` adds a third client: the hand-written one with httptools' C parser in its
``data_received`` (the prototype in ``bench/http_httptools.py``, swapped in for the run only).

    .venv/bin/python bench/http_client_ab.py                          # raw vs aiohttp, 3 rounds
    .venv/bin/python bench/http_client_ab.py --variant httptools --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from perf_common import PY, REPO, Nginx, find_summary, free_port, load_flags, sse_reply  # noqa: E402
from perf_fidelity import one as fidelity_one  # noqa: E402

# the child for the httptools variant: patch the connection class, then the ordinary CLI
_PATCHED_CLI = (
    "import sys; sys.path.insert(0, {here!r}); import http_httptools; http_httptools.use_httptools(); "
    "from evalscope.cli import main; sys.exit(main(sys.argv[1:]))"
)


class _FixedChunked(asyncio.Protocol):
    """Answers every request (Content-Length bodies, keep-alive) with ``REPLY`` in one write."""

    reply = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            self.transport.write(self.reply)  # type: ignore[attr-defined]


def serve_chunked(port: int) -> None:
    """The fixed chunked-reply server (runs until killed)."""
    events = sse_reply(16).encode().split(b"\n\n")[:-1]
    _FixedChunked.reply = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\n\n\r\n" % (len(e) + 2, e) for e in events)
        + b"0\r\n\r\n"
    )

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(
            _FixedChunked, "127.0.0.1", port, backlog=4096
        )
        await server.serve_forever()

    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


class ChunkedServer:
    """``serve_chunked`` in a subprocess."""

    def __enter__(self) -> ChunkedServer:
        self.port = free_port()
        self.proc = subprocess.Popen([PY, __file__, "--serve-chunked", str(self.port)])
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the chunked server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


def _cli(client: str) -> tuple[list[str], dict[str, str]]:
    """The command prefix and environment that make ``evalscope perf`` use ``client``."""
    env = dict(os.environ)
    env["EVALSCOPE_PERF_HTTP"] = "aiohttp" if client == "aiohttp" else "raw"
    if client == "httptools":
        return [PY, "-c", _PATCHED_CLI.format(here=str(HERE))], env
    return [PY, "-m", "evalscope"], env


def throughput(client: str, url: str, parallel: int, number: int) -> dict:
    """One closed-loop run of ``evalscope perf`` with ``client``; its summary plus the load average."""
    out = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    prefix, env = _cli(client)
    cmd = [
        *prefix,
        "perf",
        *load_flags(url, parallel, number, 16, out),
        "--no-progress",
        "--workers",
        "1",
        "--warmup-num",
        str(parallel),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{client} failed: {proc.stderr[-2000:]}")
    s = find_summary(out)
    # the client's own CPU per request: on a shared machine req/s is what the scheduler allowed,
    # CPU time is what the client spent
    cpu_us = (
        s["Client CPU (fraction of one core)"] * s["Time taken for tests (s)"] / s["Succeed requests"] * 1e6
    )
    return {
        "rps": s["Request throughput (req/s)"],
        "cpu_us": cpu_us,
        "ok": s["Succeed requests"],
        "load": os.getloadavg()[0],
    }


def fidelity(
    client: str, parallel: int, ttft: float, itl: float, tokens: int, rounds: int, server_cpu: int | None
) -> dict:
    """One ``run_perf`` against the stamping server with ``client``; the errors in ms."""
    from evalscope.perf import http

    os.environ["EVALSCOPE_PERF_HTTP"] = "aiohttp" if client == "aiohttp" else "raw"
    saved = http.Connection
    if client == "httptools":
        import http_httptools

        http_httptools.use_httptools()
    try:
        r = fidelity_one(parallel, ttft, itl, tokens, rounds, server_cpu)
    finally:
        http.Connection = saved  # type: ignore[misc]
        os.environ.pop("EVALSCOPE_PERF_HTTP", None)
    r["load"] = os.getloadavg()[0]
    return r


def _order(clients: list[str], r: int) -> list[str]:
    return clients if r % 2 == 0 else clients[::-1]


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="rounds; each round runs every client once")
    ap.add_argument(
        "--variant", nargs="*", default=[], choices=["httptools"], help="extra clients to compare"
    )
    ap.add_argument("--parallel", type=int, default=64, help="throughput: concurrent requests")
    ap.add_argument("--number", type=int, default=3000, help="throughput: requests per run")
    ap.add_argument("--fidelity-parallel", nargs="*", type=int, default=[64, 256])
    ap.add_argument("--ttft", type=float, default=0.05)
    ap.add_argument("--itl", type=float, default=0.01)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2, help="fidelity: requests per connection")
    ap.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="fidelity: stamping server on the last core, client on the others",
    )
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--serve-chunked", type=int, metavar="PORT", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_chunked:
        serve_chunked(a.serve_chunked)
        return
    clients = ["raw", "aiohttp", *a.variant]
    print(
        f"cpus {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"clients {clients}, {a.repeat} rounds, alternating",
        flush=True,
    )

    rps: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    servers = [] if a.skip_throughput else ["nginx (Content-Length)", "chunked, 1 event per chunk"]
    for name in servers:
        print(
            f"\nrequests/s: evalscope perf --workers 1 --parallel {a.parallel} --number {a.number}, "
            f"fixed 16-token stream from {name}"
        )
        with Nginx((16,)) if name.startswith("nginx") else ChunkedServer() as srv:
            url = f"{srv.url}/t16/v1/chat/completions" if name.startswith("nginx") else srv.url
            for r in range(a.repeat):
                for c in _order(clients, r):
                    got = throughput(c, url, a.parallel, a.number)
                    rps.setdefault((name, c), []).append(got["rps"])
                    cpu.setdefault((name, c), []).append(got["cpu_us"])
                    print(
                        f"  round {r + 1} {c:>9}: {got['rps']:8.1f} req/s  {got['cpu_us']:6.1f} us CPU/request  "
                        f"ok {got['ok']}  load {got['load']:.2f}",
                        flush=True,
                    )

    server_cpu = None
    if a.pin and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        server_cpu = cpus[-1]
        os.sched_setaffinity(0, set(cpus[:-1]) or set(cpus))
    fid: dict[tuple[str, int], list[dict]] = {}
    for p in a.fidelity_parallel:
        print(
            f"\ntimestamp error at parallel {p}: ttft {a.ttft * 1e3:.0f} ms, itl {a.itl * 1e3:.0f} ms, "
            f"{a.tokens} tokens ({p / a.itl:,.0f} chunks/s), server cpu {server_cpu}"
        )
        for r in range(a.repeat):
            for c in _order(clients, r):
                got = fidelity(c, p, a.ttft, a.itl, a.tokens, a.rounds, server_cpu)
                fid.setdefault((c, p), []).append(got)
                print(
                    f"  round {r + 1} {c:>9}: TTFT err {got['ttft_err_ms']:+8.3f} ms  TPOT err "
                    f"{got['tpot_err_ms']:+7.3f} ms  lag p99 {got['loop_lag_p99_ms']:7.2f} ms  "
                    f"requests {got['requests']}  load {got['load']:.2f}",
                    flush=True,
                )

    print("\nsummary (medians)")
    for name in servers:
        base, base_cpu = _med(rps[(name, "raw")]), _med(cpu[(name, "raw")])
        for c in clients:
            xs, cs = rps[(name, c)], cpu[(name, c)]
            runs = ", ".join(f"{x:.0f}" for x in xs)
            print(
                f"  {name:>26} {c:>9}: {_med(xs):8.1f} req/s [{runs}] raw/{c} = {base / _med(xs):.2f}x;  "
                f"CPU {_med(cs):6.1f} us/request [{', '.join(f'{x:.0f}' for x in cs)}] "
                f"{c}/raw = {_med(cs) / base_cpu:.2f}x"
            )
    for p in a.fidelity_parallel:
        base = fid[("raw", p)]
        b_ttft = _med([abs(x["ttft_err_ms"]) for x in base])
        b_tpot = _med([abs(x["tpot_err_ms"]) for x in base])
        for c in clients:
            xs = fid[(c, p)]
            ttft = _med([abs(x["ttft_err_ms"]) for x in xs])
            tpot = _med([abs(x["tpot_err_ms"]) for x in xs])
            print(
                f"  parallel {p:>4} {c:>9}: |TTFT err| {ttft:8.3f} ms ({ttft / b_ttft:5.1f}x raw)  "
                f"|TPOT err| {tpot:7.3f} ms ({tpot / b_tpot:5.1f}x raw)"
            )
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
