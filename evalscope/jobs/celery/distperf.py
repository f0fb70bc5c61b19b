"""Distributed perf: one load test split across N Celery workers, merged into one result.

A ``perf_distributed`` job (the perf arguments plus ``shards``: N) becomes N shard messages.
Shard ``k`` sends the requests a single run would have given its ``k``-th client process (the
same prompts, the same interleaved request indices, ``parallel / N`` concurrency, the same arrival
offsets under a rate), so the N shards together are the load of one run.  Per sweep point:

1. every shard warms up, then joins a barrier in Redis; the last one to arrive sets the start time
   ``t0`` (wall clock, a short delay ahead) and each shard converts it to its own monotonic clock;
2. each shard sends its share, rebases its records to ``t0`` (monotonic clocks of different
   machines are not comparable; times relative to the common start are) and pushes them to Redis;
3. the shard that finishes last merges every shard's records and computes the metrics once, with
   the same code as a single-process run, then writes the usual output folder.

Clock alignment across machines is as good as their wall clocks (NTP: about a millisecond).
"""

from __future__ import annotations

import json
import time
from array import array
from pathlib import Path
from typing import Any

from evalscope.jobs.worker import Task

#: seconds between the last shard reaching the barrier and the common start
START_DELAY = 0.3
BARRIER_TIMEOUT = 120.0
KEY_TTL = 24 * 3600
_PRIVATE = ("shards", "_shard", "_shards", "_redis", "_key")


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _key(task: Task) -> str:
    return f"evalscope:dperf:{task.job_id}:{task.attempt}"


# -- records over the wire (JSON, never pickle: nothing read from Redis can run code) -----------
def dump_records(records: list[Any]) -> list[list[Any]]:
    out = []
    for r in records:
        state = list(r.__getstate__())
        state[r.__slots__.index("out_times")] = list(r.out_times)
        out.append(state)
    return out


def load_records(rows: list[list[Any]]) -> list[Any]:
    from evalscope.perf.records import Record

    i_times = Record.__slots__.index("out_times")
    records = []
    for row in rows:
        rec = Record.__new__(Record)
        row[i_times] = array("d", row[i_times])
        rec.__setstate__(tuple(row))
        records.append(rec)
    return records


def rebase(records: list[Any], t0: float) -> None:
    """Make every timestamp relative to the common start ``t0`` (in place)."""
    for r in records:
        r.intended -= t0
        r.start -= t0
        r.end -= t0
        r.out_times = array("d", (t - t0 for t in r.out_times))


def barrier(client: Any, key: str, n: int, timeout: float = BARRIER_TIMEOUT) -> float:
    """Wait until ``n`` parties reached ``key``; returns the common start time (``time.time()`` scale)."""
    arrived = client.incr(f"{key}:ready")
    client.expire(f"{key}:ready", KEY_TTL)
    if arrived == n:
        t0 = time.time() + START_DELAY
        client.set(f"{key}:t0", repr(t0), ex=KEY_TTL)
        return t0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = client.get(f"{key}:t0")
        if value is not None:
            return float(value)
        time.sleep(0.002)
    got = int(client.get(f"{key}:ready") or 0)
    raise RuntimeError(f"only {got} of {n} perf shards started within {timeout:.0f} s: a distributed perf run "
                       f"needs {n} free worker slots at once (workers x --concurrency)")


def perf_args(config: dict[str, Any]) -> Any:
    """The ``PerfArguments`` of a distributed job (its config without the sharding keys)."""
    from evalscope.perf import PerfArguments

    return PerfArguments.model_validate({k: v for k, v in config.items() if k not in _PRIVATE})


def shard_job(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Job function of one shard (runs in a warm worker process): send this shard's share of every point."""
    from evalscope.perf.engine import run_async, run_worker
    from evalscope.perf.prompts import Tokenizer, load_prompts
    from evalscope.perf.runner import _specs, build_bodies

    k, n, key = int(config["_shard"]), int(config["_shards"]), config["_key"]
    client = _redis(config["_redis"])
    args = perf_args(config)
    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    bodies = build_bodies(args, load_prompts(args, tokenizer))
    # Progress counts this shard's requests; the task sums the shards' counts for the job.
    total = sum(len(range(k, number, n)) for _, number in args.pairs)
    finished = 0
    for p, (parallel, number) in enumerate(args.pairs):
        if p and args.sleep_interval:
            time.sleep(args.sleep_interval)
        spec = _specs(args, bodies, parallel, number, n)[k] if k < number else None
        if spec is not None:
            spec.worker_id = k
        local_t0: list[float] = []

        async def start_at(point: int = p, box: list[float] = local_t0) -> float:
            t0_wall = barrier(client, f"{key}:p{point}", n)
            box.append(time.perf_counter() + (t0_wall - time.time()))
            return box[0]

        def on_progress(done: int, base: int = finished) -> None:
            ctx.progress(base + done, total)

        if spec is None:  # fewer requests than shards: this shard only keeps the barrier
            t0_wall = barrier(client, f"{key}:p{p}", n)
            records, stats = [], None
            local_t0.append(time.perf_counter() + (t0_wall - time.time()))
        else:
            records, stats = run_async(run_worker(spec, start_at, on_progress))
        rebase(records, local_t0[0])
        payload = {"shard": k, "records": dump_records(records),
                   "stats": None if stats is None else {"loop_lag": stats.loop_lag, "cpu_seconds": stats.cpu_seconds,
                                                        "wall_seconds": stats.wall_seconds}}
        client.rpush(f"{key}:p{p}:records", json.dumps(payload))
        client.expire(f"{key}:p{p}:records", KEY_TTL)
        finished += len(spec.indices) if spec is not None else 0
        ctx.progress(finished, total)
    return {"shard": k, "points": len(args.pairs)}


def merge(config: dict[str, Any], key: str, client: Any, out_dir: Path, n: int) -> dict[str, Any]:
    """Merge the shards' records of every point, compute the metrics, write the output folder."""
    from evalscope.perf.engine import ClientStats
    from evalscope.perf.metrics import compute_metrics
    from evalscope.perf.output import make_run_dir, safe_name, write_json, write_records
    from evalscope.perf.prompts import Tokenizer

    args = perf_args(config)
    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    run_dir = make_run_dir(str(out_dir), args.name or safe_name(args.model))
    results: dict[str, Any] = {}
    for p, (parallel, number) in enumerate(args.pairs):
        records, stats = [], ClientStats()
        for raw in client.lrange(f"{key}:p{p}:records", 0, -1):
            part = json.loads(raw)
            records += load_records(part["records"])
            if part["stats"]:
                stats.merge(ClientStats(**part["stats"]))
        summary, percentiles, warnings = compute_metrics(
            records, parallel, number, rate=args.rate, slo=args.slo, tokenizer=tokenizer, client=stats)
        summary["Client processes"] = n
        summary["Distributed shards"] = n
        if warnings:
            summary["Warnings"] = warnings
        name = f"parallel_{parallel}_number_{number}"
        point_dir = run_dir / name
        point_dir.mkdir()
        write_json(point_dir / "benchmark_args.json", args.public_dict() | {"parallel": parallel, "number": number,
                                                                            "shards": n})
        write_json(point_dir / "benchmark_summary.json", summary)
        write_json(point_dir / "benchmark_percentile.json", percentiles)
        write_records(point_dir / "benchmark_data.db", records)
        results[name] = {"metrics": summary, "percentiles": percentiles}
    from evalscope.perf.runner import perf_outcome

    # the same rule as a local run: warnings + error counts; RunFailed when every request failed
    return perf_outcome(args, str(run_dir), results)


def run_shard(runtime: Any, payload: dict[str, Any], shard: int, shards: int) -> dict[str, Any]:
    """Celery task body of shard ``shard`` of ``shards``."""
    from evalscope.jobs.models import JobState

    task = Task(**payload)
    key = _key(task)
    url = runtime.settings.broker_url
    client = _redis(url)
    local = runtime.settings.files.local_dir(task.output_dir)
    store = runtime.store

    def start() -> bool:
        if store.mark_started(task.job_id, None) is not None:
            return True
        job = store.get(task.job_id)
        return job is not None and job.state == JobState.running and job.attempts == task.attempt

    def progress(done: int, total: int | None) -> None:
        client.hset(f"{key}:progress", str(shard), done)
        client.expire(f"{key}:progress", KEY_TTL)
        done_all = sum(int(v) for v in client.hvals(f"{key}:progress"))
        store.set_progress(task.job_id, done_all, sum(n for _, n in perf_args(task.config).pairs))

    def finish(result: dict[str, Any] | None) -> dict[str, Any] | None:
        if client.incr(f"{key}:done") < shards:
            client.expire(f"{key}:done", KEY_TTL)
            return None
        merged = merge(task.config, key, client, local, shards)
        client.delete(*client.keys(f"{key}:*"))
        return merged

    shard_task = {**payload, "target": f"{__name__}:shard_job",
                  "config": {**task.config, "_shard": shard, "_shards": shards, "_redis": url, "_key": key}}
    return runtime.run_task(shard_task, start=start, finish=finish, key=f"{task.job_id}.s{shard}",
                            progress=progress, local_dir=local / "shards" / f"s{shard}", job_dir=local)
