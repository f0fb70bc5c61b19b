"""The sandbox's overhead: seconds to run all 164 HumanEval canonical solutions (prompt + solution + test +
``check(entry_point)``) in the bwrap sandbox pool, against plain subprocesses with the same parallelism.

    .venv/bin/python bench/sandbox_overhead.py                 # pool size = usable CPUs, 3 rounds
    .venv/bin/python bench/sandbox_overhead.py --size 4 --rounds 5

Three ways, each round in turn (so a noisy neighbour hurts all three alike); the median and the best round
are reported (on a shared machine the best is the one least disturbed):

- ``plain``: ``python -s main.py`` in a temporary folder, an asyncio subprocess per problem, at most
  ``size`` at once (no limits, no isolation: the baseline);
- ``unsafe``: ``SandboxPool(backend="unsafe_no_isolation")``: the same, plus the launcher that sets the
  rlimits (one more interpreter start per run);
- ``bwrap``: ``SandboxPool()``: namespaces, mounts, a tmpfs, the uid drop and the rlimits.

Every program must pass in every way (the script stops otherwise). Data: ../shared/datasets/humaneval or
``--data``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from evalscope._cpus import usable_cpus
from evalscope.sandbox import Limits, SandboxPool, check_available
from evalscope.sandbox.bwrap import sandbox_python

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "humaneval" / "HumanEval.jsonl"
LIMITS = Limits(wall_s=60, cpu_s=30)


def programs(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        f"{r['prompt']}{r['canonical_solution']}\n\n{r['test']}\n\ncheck({r['entry_point']})\n" for r in rows
    ]


async def plain(codes: list[str], size: int) -> float:
    python = sandbox_python()
    slots = asyncio.Semaphore(size)

    async def one(code: str) -> int:
        async with slots:
            with tempfile.TemporaryDirectory() as work:
                Path(work, "main.py").write_text(code, encoding="utf-8")
                proc = await asyncio.create_subprocess_exec(
                    python, "-s", "main.py", cwd=work,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                await proc.communicate()
                return proc.returncode or 0

    start = time.perf_counter()
    codes_back = await asyncio.gather(*(one(c) for c in codes))
    took = time.perf_counter() - start
    if any(codes_back):
        sys.exit(f"plain: {sum(1 for c in codes_back if c)} programs failed")
    return took


async def pooled(codes: list[str], size: int, backend: str) -> float:
    pool = SandboxPool(size, backend=backend, limits=LIMITS)
    start = time.perf_counter()
    results = await asyncio.gather(*(pool.run_python(c) for c in codes))
    took = time.perf_counter() - start
    bad = [r for r in results if not r.ok]
    if bad:
        sys.exit(f"{backend}: {len(bad)} programs failed, first: {bad[0].stderr[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="HumanEval.jsonl")
    parser.add_argument(
        "--size", type=int, default=usable_cpus(), help="programs at once (default: usable CPUs)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"HumanEval data not found at {args.data} (see ../shared/datasets/SOURCES.md)")
    logging.getLogger("evalscope.sandbox").setLevel(logging.ERROR)  # the unsafe backend's per-run warning
    check_available("bwrap")
    codes = programs(args.data)
    times: dict[str, list[float]] = {"plain": [], "unsafe": [], "bwrap": []}
    for n in range(args.rounds):
        times["plain"].append(asyncio.run(plain(codes, args.size)))
        times["unsafe"].append(asyncio.run(pooled(codes, args.size, "unsafe_no_isolation")))
        times["bwrap"].append(asyncio.run(pooled(codes, args.size, "bwrap")))
        print(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    print(
        f"{len(codes)} HumanEval programs, {args.size} at once, {os.cpu_count()} CPUs, {args.rounds} rounds:"
    )
    for how, pick in (("median", statistics.median), ("best", min)):
        t = {k: pick(v) for k, v in times.items()}
        print(
            f"  {how:6}: plain {t['plain']:.2f} s ({len(codes) / t['plain']:.1f}/s), "
            f"unsafe {t['unsafe']:.2f} s, bwrap {t['bwrap']:.2f} s ({len(codes) / t['bwrap']:.1f}/s); "
            f"bwrap/plain {t['bwrap'] / t['plain']:.2f}x, unsafe/plain {t['unsafe'] / t['plain']:.2f}x"
        )


if __name__ == "__main__":
    main()
