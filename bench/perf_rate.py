"""Rate accuracy: requested --rate vs the achieved send rate, against a server that answers at once.

nginx serves a fixed 16-token stream (see perf_common.Nginx). This repo's `evalscope perf --rate R`
sends ``R * seconds`` requests with Poisson arrivals; the achieved send rate is (sends - 1) / (last
send - first send), from the records. EvalScope 1.14.1 runs the same load; its records are not
comparable, so for it we print completed requests per second of its own test duration.

    .venv/bin/python bench/perf_rate.py [--rates 500 2000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from perf_common import Nginx, ensure_peer, run_ours, run_peer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", nargs="+", type=float, default=[500, 2000])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument(
        "--parallel", type=int, default=512, help="in-flight cap (high, so the rate is what binds)"
    )
    ap.add_argument("--no-peer", action="store_true")
    a = ap.parse_args()
    peer = None if a.no_peer else ensure_peer()
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"{'rate':>6} {'number':>6} | {'ours sent/s':>11} {'error':>7} {'done/s':>8} {'lag avg ms':>10} "
        f"{'lag p99 ms':>10} | {'peer done/s':>11} {'error':>7}"
    )
    with Nginx((16,)) as srv:
        url = f"{srv.url}/t16/v1/chat/completions"
        for rate in a.rates:
            n = int(rate * a.seconds)
            ours, _ = run_ours(
                url,
                a.parallel,
                n,
                16,
                Path(tempfile.mkdtemp(prefix="bench-r-")),
                ["--rate", str(rate), "--seed", "1"],
            )
            sent = ours["Achieved send rate (req/s)"]
            line = (
                f"{rate:>6.0f} {n:>6} | {sent:>11.1f} {100 * (sent - rate) / rate:>+6.2f}% "
                f"{ours['Request throughput (req/s)']:>8.1f} {ours['Average dispatch lag (s)'] * 1e3:>10.3f} "
                f"{ours['P99 dispatch lag (s)'] * 1e3:>10.3f} | "
            )
            if peer is not None:
                theirs, _ = run_peer(
                    peer,
                    url,
                    a.parallel,
                    n,
                    16,
                    Path(tempfile.mkdtemp(prefix="bench-rp-")),
                    ["--rate", str(rate)],
                )
                done = theirs.get("Req Throughput (req/s)", theirs.get("Request throughput (req/s)"))
                line += f"{done:>11.1f} {100 * (done - rate) / rate:>+6.2f}%"
            print(line, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
