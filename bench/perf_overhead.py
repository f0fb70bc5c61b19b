"""Client overhead: sustained requests/s and tokens/s against a server that answers at once.

nginx (installed from Debian's packages if missing) serves a fixed OpenAI chat stream of 16 or 256
one-token chunks (role chunk, finish chunk and usage chunk included) to every POST, so the server
costs almost nothing and the client is what is measured. For each configuration this repo's
``evalscope perf`` and EvalScope 1.14.1's (from PyPI, in its own venv made by this script; never a
dependency of the project) run back to back as users run them, and the ratio is printed.

    .venv/bin/python bench/perf_overhead.py --repeat 3            # the full grid, median of 3 runs of ours
    .venv/bin/python bench/perf_overhead.py --parallel 64 --tokens 16 --number 2000
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from perf_common import Nginx, ensure_peer, run_ours, run_peer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parallel", nargs="+", type=int, default=[64, 256])
    ap.add_argument("--tokens", nargs="+", type=int, default=[16, 256])
    ap.add_argument("--number", nargs="+", type=int, default=[2000, 20000])
    ap.add_argument("--no-peer", action="store_true", help="measure this repo only")
    ap.add_argument("--workers", type=int, default=None, help="pass --workers to ours (default: automatic)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of ours per cell; the median is reported, with the range (the peer runs once)",
    )
    a = ap.parse_args()
    peer = None if a.no_peer else ensure_peer()
    if not a.no_peer and peer is None:
        print("peer: EvalScope 1.14.1 could not be installed; measuring this repo only")
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    hdr = (
        f"{'tokens':>6} {'par':>4} {'number':>6} | {'ours req/s':>10} {'ours tok/s':>11} {'ok':>6} | "
        f"{'peer req/s':>10} {'peer tok/s':>11} {'ok':>6} | {'x req/s':>7} {'x tok/s':>7}"
    )
    print(hdr)
    extra = ["--workers", str(a.workers)] if a.workers else []
    with Nginx(tuple(a.tokens)) as srv:
        for tokens in a.tokens:
            for parallel in a.parallel:
                for number in a.number:
                    url = f"{srv.url}/t{tokens}/v1/chat/completions"
                    runs = [
                        run_ours(
                            url, parallel, number, tokens, Path(tempfile.mkdtemp(prefix="bench-o-")), extra
                        )[0]
                        for _ in range(a.repeat)
                    ]
                    runs.sort(key=lambda r: r["Request throughput (req/s)"])
                    ours = runs[len(runs) // 2]
                    o_rps, o_tps = ours["Request throughput (req/s)"], ours["Output token throughput (tok/s)"]
                    line = (
                        f"{tokens:>6} {parallel:>4} {number:>6} | {o_rps:>10.1f} {o_tps:>11.0f} "
                        f"{min(r['Succeed requests'] for r in runs):>6} | "
                    )
                    spread = (
                        f"   [ours req/s over {a.repeat} runs: "
                        + ", ".join(f"{r['Request throughput (req/s)']:.0f}" for r in runs)
                        + "]"
                        if a.repeat > 1
                        else ""
                    )
                    if peer is not None:
                        theirs, _ = run_peer(
                            peer, url, parallel, number, tokens, Path(tempfile.mkdtemp(prefix="bench-p-"))
                        )
                        # 1.14.1 renamed the summary keys ("Req Throughput (req/s)", ...)
                        p_rps = theirs.get("Req Throughput (req/s)", theirs.get("Request throughput (req/s)"))
                        p_tps = theirs.get(
                            "Output Throughput (tok/s)", theirs.get("Output token throughput (tok/s)")
                        )
                        p_ok = theirs.get("Success Requests", theirs.get("Succeed requests"))
                        line += (
                            f"{p_rps:>10.1f} {p_tps:>11.0f} {p_ok:>6} | "
                            f"{o_rps / p_rps:>7.2f} {o_tps / p_tps:>7.2f}"
                        )
                    print(line + spread, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
