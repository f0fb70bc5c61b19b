"""Fidelity: the client's TTFT and TPOT against the server's own timestamps.

The mock server (its own process, ``record_timings``) stamps when each request arrived, when each
content chunk was written and when the response ended (``GET /mock/timings``). We run
``run_perf`` against it with an injected TTFT and inter-token delay, at parallel 1, 64 and 256, and
report mean(client) - mean(server) for TTFT and TPOT. ``parallel`` warm-up requests open the
connections first (and are left out on both sides), so connection setup is not in the comparison. Server TTFT = first content chunk written -
request received; server TPOT = (end - first chunk) / (chunks - 1), the same formula the client uses.

    .venv/bin/python bench/perf_fidelity.py [--parallel 1 64 256] [--ttft 0.05] [--itl 0.01]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from evalscope.mock import MockConfig, MockServer
from evalscope.perf import PerfArguments, run_perf


def one(parallel: int, ttft: float, itl: float, tokens: int, rounds: int) -> dict:
    cfg = MockConfig(ttft=ttft, itl=itl, output_tokens=tokens, record_timings=True)
    with MockServer(cfg, mode="process") as srv:
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
        result = run_perf(args, show_progress=False, show_summary=False)
        m = next(iter(result["results"].values()))["metrics"]
        # the warm-up requests (which open the connections) are the first ``parallel`` arrivals
        timings = [t for k, t in sorted(srv.timings().items(), key=lambda kv: kv[1]["received"])][parallel:]
        timings = [t for t in timings if t.get("status") == 200 and len(t["chunks"]) > 1]
    s_ttft = statistics.mean(t["first_chunk"] - t["received"] for t in timings)
    s_tpot = statistics.mean((t["end"] - t["first_chunk"]) / (len(t["chunks"]) - 1) for t in timings)
    c_ttft = m["Average time to first token (s)"]
    c_tpot = m["Average time per output token (s)"]
    return {
        "parallel": parallel,
        "requests": number,
        "server_ttft_ms": s_ttft * 1e3,
        "client_ttft_ms": c_ttft * 1e3,
        "ttft_err_ms": (c_ttft - s_ttft) * 1e3,
        "server_tpot_ms": s_tpot * 1e3,
        "client_tpot_ms": c_tpot * 1e3,
        "tpot_err_ms": (c_tpot - s_tpot) * 1e3,
        "loop_lag_p99_ms": m["Client event-loop lag p99 (ms)"],
        "distorted": m["Client distorted"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parallel", nargs="+", type=int, default=[1, 64, 256])
    ap.add_argument("--ttft", type=float, default=0.05)
    ap.add_argument("--itl", type=float, default=0.01)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2, help="requests per connection")
    a = ap.parse_args()
    print(f"injected ttft {a.ttft * 1e3:.0f} ms, itl {a.itl * 1e3:.0f} ms, {a.tokens} tokens")
    print(
        f"{'parallel':>8} {'reqs':>6} {'srv TTFT':>9} {'cli TTFT':>9} {'err':>7} {'srv TPOT':>9} {'cli TPOT':>9} "
        f"{'err':>7} {'lag p99':>8}  distorted"
    )
    for p in a.parallel:
        r = one(p, a.ttft, a.itl, a.tokens, a.rounds)
        print(
            f"{r['parallel']:>8} {r['requests']:>6} {r['server_ttft_ms']:>9.3f} {r['client_ttft_ms']:>9.3f} "
            f"{r['ttft_err_ms']:>+7.3f} {r['server_tpot_ms']:>9.3f} {r['client_tpot_ms']:>9.3f} "
            f"{r['tpot_err_ms']:>+7.3f} {r['loop_lag_p99_ms']:>8.3f}  {r['distorted']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
