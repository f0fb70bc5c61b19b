"""The perf engine's typed, public results: JSON keys kept exactly, the run folder read back, shards planned."""

from __future__ import annotations

import json
import pickle
import random
from array import array
from pathlib import Path

import pytest

from evalscope.perf import (
    PerfArguments,
    plan_shards,
    read_perf_run,
    read_point,
    read_records,
    run_perf,
    write_point,
)
from evalscope.perf.loadgen import ClientStats
from evalscope.perf.metrics import compute_metrics, request_values
from evalscope.perf.records import RequestRecord, dump_records, load_records
from evalscope.perf.results import PointMetrics, PointResult
from evalscope.perf.runner import arrival_offsets

#: every key benchmark_summary.json can hold, in the order the engine has always written them
SUMMARY_KEYS = [
    "Time taken for tests (s)",
    "Number of concurrency",
    "Total requests",
    "Succeed requests",
    "Failed requests",
    "Output token throughput (tok/s)",
    "Total token throughput (tok/s)",
    "Request throughput (req/s)",
    "Average latency (s)",
    "Average time to first token (s)",
    "Average time per output token (s)",
    "Average inter-token latency (s)",
    "Average input tokens per request",
    "Average output tokens per request",
    "Requested number",
    "Failures by reason",
    "Failure examples",
    "Requests with unknown output tokens",
    "ITL basis",
    "Target request rate (req/s)",
    "Achieved send rate (req/s)",
    "Average dispatch lag (s)",
    "P99 dispatch lag (s)",
    "Max dispatch lag (s)",
    "SLO (ms)",
    "Goodput (req/s)",
    "Requests meeting SLO",
    "Client event-loop lag p99 (ms)",
    "Client CPU (fraction of one core)",
    "Client distorted",
    "Client distortion",
    "Client processes",
    "Distributed shards",
    "Warnings",
]
#: a closed-loop point without failures, SLOs or client measurements has only these
PLAIN_KEYS = SUMMARY_KEYS[:16] + ["Requests with unknown output tokens", "ITL basis"]
PERCENTILE_KEYS = [
    "Percentiles",
    "TTFT (s)",
    "ITL (s)",
    "TPOT (s)",
    "Latency (s)",
    "Input tokens",
    "Output tokens",
    "Output (tok/s)",
    "Total (tok/s)",
]


def _records(n: int, seed: int = 3, fail_every: int = 0) -> list[RequestRecord]:
    rng = random.Random(seed)
    out, t = [], 50.0
    for i in range(n):
        t += rng.uniform(0.0, 0.02)
        r = RequestRecord(i, i % 5, t, t + rng.uniform(0, 0.001))
        first = r.start + rng.uniform(0.01, 0.05)
        r.out_times = array("d", [first + k * rng.uniform(0.004, 0.006) for k in range(rng.randint(2, 9))])
        r.end = r.out_times[-1] + 0.001
        r.status, r.prompt_tokens, r.completion_tokens, r.text = (
            200,
            rng.randint(5, 50),
            len(r.out_times),
            "x",
        )
        if fail_every and i % fail_every == 1:
            r.reason, r.error, r.status, r.out_times = "http_500", "boom", 500, array("d")
        out.append(r)
    return out


def _full_point() -> tuple[PointResult, list[RequestRecord]]:
    """A point with every optional group: rate, SLO, a distorted client, failures, shards."""
    records = _records(40, fail_every=7)
    result = compute_metrics(
        records,
        4,
        40,
        rate=50.0,
        slo={"ttft": 40.0, "e2el": 90.0},
        client=ClientStats(loop_lag=[0.0001, 0.01], cpu_seconds=0.5, wall_seconds=1.0),
    )
    result.metrics.client_processes = 2
    result.metrics.distributed_shards = 2
    return result, records


def test_a_point_dumps_exactly_the_summary_and_percentile_keys(tmp_path):
    result, records = _full_point()
    write_point(
        tmp_path / "parallel_4_number_40", result, records, {"model": "m", "parallel": 4, "number": 40}
    )
    summary = json.loads((tmp_path / "parallel_4_number_40" / "benchmark_summary.json").read_text())
    percentiles = json.loads((tmp_path / "parallel_4_number_40" / "benchmark_percentile.json").read_text())
    assert list(summary) == SUMMARY_KEYS
    assert list(percentiles) == PERCENTILE_KEYS
    assert summary["Succeed requests"] + summary["Failed requests"] == 40
    assert (
        summary["Failures by reason"] == {"http_500": summary["Failed requests"]}
        and summary["Failed requests"] > 0
    )
    assert summary["Client distorted"] is True and summary["Distributed shards"] == 2
    assert percentiles["Percentiles"] == [
        "10%",
        "25%",
        "50%",
        "66%",
        "75%",
        "80%",
        "90%",
        "95%",
        "98%",
        "99%",
    ]

    plain = compute_metrics(_records(10), 1, 10)
    assert list(plain.metrics.model_dump(mode="json")) == PLAIN_KEYS
    assert list(plain.percentiles.model_dump(mode="json")) == PERCENTILE_KEYS


def test_write_point_then_read_point_round_trips_key_for_key(tmp_path):
    result, records = _full_point()
    folder = tmp_path / "parallel_4_number_40"
    write_point(folder, result, records, {"model": "m"})
    back = read_point(folder)
    on_disk = json.loads((folder / "benchmark_summary.json").read_text())
    assert back.metrics.model_dump(mode="json") == on_disk
    assert list(back.metrics.model_dump(mode="json")) == list(on_disk)
    assert back.percentiles.model_dump(mode="json") == json.loads(
        (folder / "benchmark_percentile.json").read_text()
    )
    assert back.model_dump(mode="json") == result.model_dump(mode="json")
    # typed access to what readers used to look up by display string
    assert back.metrics.succeed_requests == on_disk["Succeed requests"]
    assert back.metrics.failures_by_reason == on_disk["Failures by reason"]
    table = json.loads((folder / "benchmark_percentile.json").read_text())
    assert back.percentiles.at("latency", "99%") == table["Latency (s)"][-1] is not None
    # a key from a newer version (or another tool) is kept, not dropped
    on_disk["Something new"] = 1
    assert PointMetrics.model_validate(on_disk).model_dump(mode="json") == on_disk


def test_records_read_back_give_the_engines_per_request_values(tmp_path):
    records = _records(30, fail_every=9)
    db = tmp_path / "benchmark_data.db"
    from evalscope.perf.output import write_records

    write_records(db, records)
    back = read_records(db)
    assert [r.index for r in back] == sorted(r.index for r in records)
    assert [r.ok for r in back] == [r.ok for r in sorted(records, key=lambda r: r.intended)]
    a, b = request_values(records), request_values(back)
    for name in ("latency", "ttft", "tpot", "itl"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), abs=2e-6), name
    assert b.output_tokens == a.output_tokens


def test_request_records_pickle_and_travel_by_field_name():
    (r,) = _records(1)
    r.reason, r.worker, r.out_parts = "timeout", 3, ["a", "b"]
    again = pickle.loads(pickle.dumps(r))
    state = r.__getstate__()
    assert isinstance(state, dict) and state["worker"] == 3 and state["out_times"] is r.out_times
    assert again.__getstate__() == state
    columns = json.loads(json.dumps(dump_records([r])))
    assert columns["reason"] == ["timeout"] and columns["out_times"] == [list(r.out_times)]
    (wire,) = load_records(columns)
    assert wire.__getstate__() == state and isinstance(wire.out_times, array)


@pytest.mark.parametrize(("number", "shards"), [(1, 1), (10, 3), (7, 7), (100, 8), (5, 4)])
def test_plan_shards_covers_every_index_exactly_once(number, shards):
    args = PerfArguments(
        model="m", url="http://h", number=[number], parallel=[6], prompt="x", rate=25.0, seed=4, warmup_num=5
    )
    plans = plan_shards(args, [b"{}"], 6, number, shards)
    assert [p.shard_id for p in plans] == list(range(shards))
    sent = sorted(i for p in plans for i in p.indices)
    assert sent == list(range(number))
    assert sum(p.warmup for p in plans) == 5
    assert all(p.parallel >= 1 for p in plans) and sum(p.parallel for p in plans) == max(6, shards)
    # under a rate, each index keeps the arrival time a single client would have given it
    offsets = arrival_offsets(number, 25.0, 1.0, 4)
    for p in plans:
        assert list(p.offsets) == pytest.approx([offsets[i] for i in p.indices])


def test_run_perf_writes_exactly_into_run_dir_and_reads_back(mock_server, tmp_path):
    srv = mock_server(ttft=0.002, itl=0.001, output_tokens=4)
    job = tmp_path / "job"
    args = PerfArguments(
        model="m",
        url=srv.url,
        number=[3, 4],
        parallel=[1, 2],
        prompt="hi",
        max_tokens=4,
        sleep_interval=0,
        outputs_dir=str(tmp_path / "unused"),
    )
    result = run_perf(args, run_dir=job)
    assert Path(result["output_dir"]) == job.resolve()
    assert sorted(p.name for p in job.iterdir() if p.is_dir()) == [
        "parallel_1_number_3",
        "parallel_2_number_4",
    ]
    assert (job / "report.html").is_file() and json.loads((job / "config.json").read_text())["model"] == "m"
    assert not (tmp_path / "unused").exists()
    again = read_perf_run(job)
    assert again.as_json() == result
    assert list(again.results) == ["parallel_1_number_3", "parallel_2_number_4"]
    assert again.results["parallel_2_number_4"].metrics.succeed_requests == 4
