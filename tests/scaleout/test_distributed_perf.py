"""Distributed perf: one load test split over two workers, merged into the metrics of one run."""

from __future__ import annotations

import json
import math
import random
import sqlite3
from array import array
from pathlib import Path

import httpx
import pytest
from conftest import ThreadService, redis_url, wait_job

from evalscope.mock import MockConfig, MockServer
from evalscope.perf import PerfArguments, run_perf
from evalscope.perf.metrics import compute_metrics as _compute_point
from evalscope.perf.records import RequestRecord as Record
from evalscope.perf.records import dump_records, load_records, rebase


def compute_metrics(*args, **kwargs):
    """(summary, percentiles) as their JSON, from the typed PointResult."""
    point = _compute_point(*args, **kwargs)
    return point.metrics.model_dump(mode="json"), point.percentiles.model_dump(mode="json")


def _records(n: int, seed: int = 1) -> list[Record]:
    rng = random.Random(seed)
    out, t = [], 100.0
    for i in range(n):
        t += rng.uniform(0.0, 0.02)
        r = Record(i, i % 7, t, t + rng.uniform(0, 0.001))
        first = r.start + rng.uniform(0.01, 0.05)
        r.out_times = array("d", [first + k * rng.uniform(0.004, 0.006) for k in range(rng.randint(1, 9))])
        r.end = r.out_times[-1] + 0.001
        r.status, r.prompt_tokens, r.completion_tokens = 200, rng.randint(5, 50), len(r.out_times)
        if i % 11 == 5:
            r.reason, r.error, r.status = "http_500", "boom", 500
        out.append(r)
    return out


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_shards_on_different_clocks_merge_into_the_metrics_of_one_run():
    single = _records(60)
    t0 = min(r.intended for r in single)
    expected = compute_metrics(single, 4, 60)
    merged = []
    for shard, clock_offset in enumerate([0.0, 12345.678]):  # another machine's monotonic clock
        part = _records(60)[shard::2]
        for r in part:
            r.intended += clock_offset
            r.start += clock_offset
            r.end += clock_offset
            r.out_times = array("d", (x + clock_offset for x in r.out_times))
        rebase(part, t0 + clock_offset)
        merged += load_records(json.loads(json.dumps(dump_records(part))))
    got = compute_metrics(merged, 4, 60)
    assert _close(got[0], expected[0]) and _close(got[1], expected[1]), (got[0], expected[0])


def _db(point_dir: Path) -> list[dict]:
    con = sqlite3.connect(point_dir / "benchmark_data.db")
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM requests ORDER BY request_index")]
    con.close()
    return rows


@pytest.mark.timeout(240)
def test_one_perf_run_split_over_two_workers_equals_a_single_run(tmp_path, pg_database, start_worker):
    db, broker = pg_database(), redis_url()
    data = tmp_path / "data"
    data.mkdir()
    prompts = data / "prompts.txt"
    prompts.write_text("\n".join(f"prompt {i} " + "word " * i for i in range(10)) + "\n")
    workers = [start_worker(broker, db, "--concurrency", "1", "--hostname", f"w{k}@test") for k in range(2)]
    mock = MockServer(MockConfig(ttft=0.02, itl=0.004, output_tokens=12), mode="process").start()
    load = {
        "model": "m",
        "url": mock.url + "/v1/chat/completions",
        "dataset": "line_by_line",
        "dataset_path": str(prompts),
        "number": 40,
        "parallel": 4,
        "max_tokens": 32,
        "sleep_interval": 0,
    }
    try:
        with (
            ThreadService(
                work_dir=tmp_path / "out", database_url=db, broker_url=broker, data_dirs=[data]
            ) as svc,
            httpx.Client(base_url=svc.url, timeout=60) as c,
        ):
            for w in workers:
                w.wait_ready()
            bad = c.post("/api/v1/jobs/perf_distributed", json={**load, "shards": 0})
            assert bad.status_code == 400 and "shards" in bad.text
            r = c.post("/api/v1/jobs/perf_distributed", json={**load, "shards": 2})
            assert r.status_code == 202, r.text
            job = wait_job(c, r.json()["id"], timeout=120)
            assert job["state"] == "succeeded", job["error"]
            assert job["progress"]["done"] == 40 and job["progress"]["total"] == 40
            ((key, point),) = job["result"]["results"].items()
            dist = point["metrics"]
            # Each worker ran one shard.
            for w in workers:
                assert "evalscope.perf_shard" in w.log_path.read_text()
            rows = _db(Path(job["result"]["output_dir"]) / key)
            assert [r["request_index"] for r in rows] == list(range(40))
            assert sorted({r["worker"] for r in rows}) == [0, 1]
            assert sum(r["worker"] == 0 for r in rows) == 20
            # Synchronised start: every shard's first request left right after the common t0.
            for shard in (0, 1):
                first = min(r["start"] for r in rows if r["worker"] == shard)
                assert 0 <= first < 0.5
            files = {f["path"] for f in c.get(f"/api/v1/jobs/{job['id']}/files").json()["files"]}
            assert any(p.endswith(f"{key}/benchmark_summary.json") for p in files)
            assert {"shards/s0/logs/run.log", "shards/s1/logs/run.log"} <= files
        single_out = run_perf(PerfArguments(**load, outputs_dir=str(tmp_path / "single"), workers=1))
        one = single_out["results"][key]["metrics"]
        for name in (
            "Total requests",
            "Succeed requests",
            "Failed requests",
            "Average input tokens per request",
            "Average output tokens per request",
        ):
            assert dist[name] == one[name], name
        # Same load, so the same timings up to noise (generous: the machine is shared).
        for name in ("Average latency (s)", "Average time to first token (s)", "Request throughput (req/s)"):
            assert 0.5 < dist[name] / one[name] < 2.0, (name, dist[name], one[name])
    finally:
        mock.stop()
