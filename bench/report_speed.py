"""Time to write a perf report.html, and its size, for runs of growing size.

The run folders are built with the perf engine's own writers (``compute_metrics``, ``write_point``)
from synthetic request records (K output chunks each, a fixed TTFT/ITL with jitter, 2 % failures), so
the files are exactly what ``run_perf`` writes; only the sending is skipped.

    .venv/bin/python bench/report_speed.py            # --requests 1000 10000 50000 --chunks 128
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from array import array
from pathlib import Path

from evalscope.perf.metrics import compute_metrics
from evalscope.perf.output import write_point
from evalscope.perf.records import RequestRecord
from evalscope.report import write_report


def synthetic_records(n: int, chunks: int, parallel: int, rng: random.Random) -> list[RequestRecord]:
    records = []
    t = 1000.0
    for i in range(n):
        start = t + (i // parallel) * 0.5 + rng.random() * 0.01
        r = RequestRecord(i, i % 100, start, start)
        if rng.random() < 0.02:
            r.reason, r.status, r.error = "http_503", 503, "injected"
            r.end = start + 0.01
        else:
            first = start + 0.05 * (0.5 + rng.random())
            r.out_times = array("d", [first + k * 0.01 * (0.5 + rng.random()) for k in range(chunks)])
            r.end = r.out_times[-1]
            r.prompt_tokens, r.completion_tokens, r.status, r.finish_reason = 50, chunks, 200, "stop"
        records.append(r)
    return records


def build_run(root: Path, n: int, chunks: int, parallel: int) -> Path:
    run = root / "20250101_000000" / f"run_{n}"
    point = run / f"parallel_{parallel}_number_{n}"
    records = synthetic_records(n, chunks, parallel, random.Random(n))
    write_point(
        point,
        compute_metrics(records, parallel, n),
        records,
        {"model": "synthetic", "parallel": parallel, "number": n, "rate": -1},
        keep_text=False,
    )
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--chunks", type=int, default=128, help="output chunks per request")
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    write_report  # noqa: B018 - imported before timing
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'requests':>9} {'chunks':>7} {'write_report s (median)':>24} {'report MB':>10} {'db MB':>7}")
        for n in args.requests:
            run = build_run(Path(tmp), n, args.chunks, args.parallel)
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                path = write_report(run)
                times.append(time.perf_counter() - t0)
            db = next(run.rglob("benchmark_data.db")).stat().st_size / 1e6
            print(
                f"{n:>9} {args.chunks:>7} {statistics.median(times):>24.2f} {path.stat().st_size / 1e6:>10.2f} {db:>7.1f}"
            )


if __name__ == "__main__":
    main()
