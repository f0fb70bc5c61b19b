"""Spreading one sweep point over several client processes (shards) and merging their records.

Each child runs the same hot loop (``loadgen.run_shard``) on its share of the requests. They warm
up, report ready, and start together at a common ``t0``: ``perf_counter`` is CLOCK_MONOTONIC on
Linux, shared by every process of the machine, so their timestamps merge without translation.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from evalscope.perf.loadgen import ClientStats, ShardPlan, run_async, run_shard
from evalscope.perf.records import RequestRecord

START_DELAY = 0.05  # seconds between "all ready" and t0, so every child sees t0 in the future


def _child(plan: ShardPlan, conn: Connection, live: bool = False) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def start_at() -> float:
            conn.send(("ready", None))
            msg = await loop.run_in_executor(None, conn.recv)
            return float(msg[1])

        on_records: Callable[[list[RequestRecord]], None] | None = None
        if live:  # a job's live view: compact rows of the requests just finished
            from evalscope.perf.live import live_rows

            def send_rows(recs: list[RequestRecord]) -> None:
                conn.send(("rows", live_rows(recs)))

            on_records = send_rows

        records, stats = await run_shard(plan, start_at, lambda n: conn.send(("progress", n)), on_records)
        conn.send(("done", (records, stats)))

    try:
        run_async(main())
    except BaseException:  # reported to the parent, which raises it
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
    finally:
        conn.close()


def run_processes(
    plans: list[ShardPlan],
    on_progress: Callable[[int], None] | None = None,
    ready_timeout: float = 120.0,
    on_rows: Callable[[list[Any]], None] | None = None,
) -> tuple[list[RequestRecord], ClientStats]:
    """Run each shard plan in its own process; returns all records and the merged client stats (blocking).
    ``on_rows``: the live rows (evalscope.perf.live) of the requests each shard finished, as they come."""
    ctx = mp.get_context("spawn")
    procs: list[mp.process.BaseProcess] = []
    conns: list[Connection] = []
    for plan in plans:
        parent, child = ctx.Pipe()
        p = ctx.Process(
            target=_child,
            args=(plan, child, on_rows is not None),
            name=f"evalscope-perf-{plan.shard_id}",
            daemon=True,
        )
        p.start()
        child.close()
        procs.append(p)
        conns.append(parent)
    try:
        for c in conns:
            if not c.poll(ready_timeout):
                raise RuntimeError(f"a perf shard did not get ready within {ready_timeout:.0f} s")
            kind, payload = c.recv()
            if kind == "error":
                raise RuntimeError(f"perf shard failed:\n{payload}")
        t0 = time.perf_counter() + START_DELAY
        for c in conns:
            c.send(("go", t0))
        progress = [0] * len(conns)
        records: list[RequestRecord] = []
        stats = ClientStats()
        remaining = dict(enumerate(conns))
        while remaining:
            for ready in wait(list(remaining.values()), timeout=0.5):
                w = next(i for i, conn in remaining.items() if conn is ready)
                c = conns[w]
                try:
                    kind, payload = c.recv()
                except EOFError:
                    raise RuntimeError(f"perf shard {w} exited without a result") from None
                if kind == "progress":
                    progress[w] = payload
                    if on_progress is not None:
                        on_progress(sum(progress))
                elif kind == "rows":
                    if on_rows is not None:
                        on_rows(payload)
                elif kind == "done":
                    recs, st = payload
                    records.extend(recs)
                    stats.merge(st)
                    del remaining[w]
                elif kind == "error":
                    raise RuntimeError(f"perf shard {w} failed:\n{payload}")
        return records, stats
    finally:
        for c in conns:
            c.close()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
