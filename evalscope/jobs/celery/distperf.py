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
   the same code as a single-process run, then writes the usual sweep points into the job's folder.

Everything else is the perf engine's public API (``plan_shards``, ``run_shard``, ``dump_records`` /
``load_records``, ``point_result``, ``write_point``); this module keeps only the barrier and the
transport through Redis.

Clock alignment across machines is as good as their wall clocks (NTP: about a millisecond).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from evalscope.jobs.executor import Dispatch

#: seconds between the last shard reaching the barrier and the common start
START_DELAY = 0.3
BARRIER_TIMEOUT = 120.0
KEY_TTL = 24 * 3600
_PRIVATE = ("shards", "_shard", "_shards", "_redis", "_key")


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _key(task: Dispatch) -> str:
    return f"evalscope:dperf:{task.job_id}:{task.attempt}"


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
    raise RuntimeError(
        f"only {got} of {n} perf shards started within {timeout:.0f} s: a distributed perf run "
        f"needs {n} free worker slots at once (workers x --concurrency)"
    )


def perf_args(config: dict[str, Any]) -> Any:
    """The ``PerfArguments`` of a distributed job (its config without the sharding keys)."""
    from evalscope.perf import PerfArguments

    return PerfArguments.model_validate({k: v for k, v in config.items() if k not in _PRIVATE})


def shard_job(config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Job function of one shard (runs in a warm worker process): send this shard's share of every point."""
    from evalscope.perf.loadgen import run_async, run_shard
    from evalscope.perf.prompts import Tokenizer, load_prompts
    from evalscope.perf.records import dump_records, rebase
    from evalscope.perf.runner import build_bodies, plan_shards

    k, n, key = int(config["_shard"]), int(config["_shards"]), config["_key"]
    client = _redis(config["_redis"])
    args = perf_args(config)
    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    sessions = None  # multi-turn: every shard holds the conversations and runs its share of sessions
    if args.multi_turn:
        from evalscope.perf.conversations import load_conversations

        sessions = load_conversations(args, tokenizer)
        bodies: list[bytes] = []
    else:
        bodies = build_bodies(args, load_prompts(args, tokenizer))
    # Progress counts this shard's requests; the task sums the shards' counts for the job.
    total = sum(len(range(k, number, n)) for _, number in args.pairs)
    finished = 0
    for p, (parallel, number) in enumerate(args.pairs):
        if p and args.sleep_interval:
            time.sleep(args.sleep_interval)
        plan = plan_shards(args, bodies, parallel, number, n, sessions)[k] if k < number else None
        local_t0: list[float] = []

        async def start_at(point: int = p, box: list[float] = local_t0) -> float:
            t0_wall = barrier(client, f"{key}:p{point}", n)
            box.append(time.perf_counter() + (t0_wall - time.time()))
            return box[0]

        def on_progress(done: int, base: int = finished) -> None:
            ctx.progress(base + done, total)

        if plan is None:  # fewer requests than shards: this shard only keeps the barrier
            t0_wall = barrier(client, f"{key}:p{p}", n)
            records, stats = [], None
            local_t0.append(time.perf_counter() + (t0_wall - time.time()))
        else:
            records, stats = run_async(run_shard(plan, start_at, on_progress))
        rebase(records, local_t0[0])
        payload = {
            "shard": k,
            "records": dump_records(records),
            "stats": None
            if stats is None
            else {
                "loop_lag": stats.loop_lag,
                "cpu_seconds": stats.cpu_seconds,
                "wall_seconds": stats.wall_seconds,
            },
        }
        client.rpush(f"{key}:p{p}:records", json.dumps(payload))
        client.expire(f"{key}:p{p}:records", KEY_TTL)
        finished += len(plan.indices) if plan is not None else 0
        ctx.progress(finished, total)
    return {"shard": k, "points": len(args.pairs)}


def merge(config: dict[str, Any], key: str, client: Any, out_dir: Path, n: int) -> dict[str, Any]:
    """Merge the shards' records of every point, compute the metrics, write the run into ``out_dir``
    (the job's folder, exactly: ``<job>/parallel_*``)."""
    from evalscope.perf.loadgen import ClientStats
    from evalscope.perf.output import point_name, write_point
    from evalscope.perf.prompts import Tokenizer
    from evalscope.perf.records import load_records
    from evalscope.perf.results import PerfRun
    from evalscope.perf.runner import check_run, open_run_dir, point_args, point_result

    args = perf_args(config)
    tokenizer = Tokenizer(args.tokenizer_path) if args.tokenizer_path else None
    run_dir = open_run_dir(args, out_dir)
    results = {}
    for p, (parallel, number) in enumerate(args.pairs):
        records, stats = [], ClientStats()
        for raw in client.lrange(f"{key}:p{p}:records", 0, -1):
            part = json.loads(raw)
            records += load_records(part["records"])
            if part["stats"]:
                stats.merge(ClientStats(**part["stats"]))
        result = point_result(
            args, records, stats, parallel, number, tokenizer=tokenizer, processes=n, distributed_shards=n
        )
        name = point_name(parallel, number)
        write_point(run_dir.root / name, result, records, point_args(args, parallel, number, shards=n))
        results[name] = result
    # the same rule as a local run: warnings + error counts; RunFailed when every request failed
    return check_run(args, PerfRun.collect(str(run_dir), results)).as_json()


def run_shard(runtime: Any, payload: dict[str, Any], shard: int, shards: int) -> dict[str, Any]:
    """Celery task body of shard ``shard`` of ``shards``."""
    from evalscope.jobs.models import JobState

    task = Dispatch(**payload)
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

    shard_task = {
        **payload,
        "target": f"{__name__}:shard_job",
        "config": {**task.config, "_shard": shard, "_shards": shards, "_redis": url, "_key": key},
    }
    return runtime.run_dispatch(
        shard_task,
        start=start,
        finish=finish,
        key=f"{task.job_id}.s{shard}",
        progress=progress,
        local_dir=local / "shards" / f"s{shard}",
        job_dir=local,
    )
