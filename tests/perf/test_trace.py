"""Trace replay (workload_trace), prefix groups, cache busting and ramp-up, through the CLI against the mock."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from evalscope.mock.tokenizer import count_tokens
from evalscope.perf.arguments import PerfArguments
from evalscope.perf.prompts import Tokenizer
from evalscope.perf.runner import ramped_offsets
from evalscope.perf.trace import load_trace

BLOCK = 512


def _trace_rows() -> list[dict]:
    """40 Mooncake-style requests over ~0.8 s: four families sharing 1-2 leading blocks, lengths not
    multiples of the block, one row past its hash blocks."""
    rows = []
    for i in range(40):
        family = i % 4
        n_blocks = 1 + i % 3
        length = BLOCK * (n_blocks - 1) + 37 + 11 * i
        ids = [1000 * family, *[100_000 + i * 10 + b for b in range(1, n_blocks)]]
        if i == 7:
            length += BLOCK  # more tokens than its hash blocks cover: the rest is unique
        rows.append(
            {
                "timestamp": 20 * i + (i % 3),
                "input_length": length,
                "output_length": 2 + i % 5,
                "hash_ids": ids,
            }
        )
    rows.reverse()  # out of order on purpose: the replay sorts by time
    return rows


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    p = tmp_path / "trace.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in _trace_rows()) + "\n", encoding="utf-8")
    return p


def _point(out: Path) -> Path:
    (point,) = list(out.glob("*/*/parallel_*"))
    return point


def _db_rows(point: Path) -> list[dict]:
    con = sqlite3.connect(point / "benchmark_data.db")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM requests ORDER BY request_index")]
    finally:
        con.close()


def test_trace_replay_times_and_exact_lengths(
    mock_server, evalscope_cli, trace_file, word_tokenizer, tmp_path
):
    srv = mock_server(echo=False)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--dataset", "workload_trace",
        "--dataset-path", trace_file, "--tokenizer-path", word_tokenizer, "--trace-speedup", 2,
        "--outputs-dir", out, "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    point = _point(out)
    summary = json.loads((point / "benchmark_summary.json").read_text())
    assert summary["Total requests"] == 40 and summary["Succeed requests"] == 40
    assert summary["Trace speed-up"] == 2
    # the issue asks for a millisecond; generous margins for a shared, noisy machine
    assert summary["Send-time error p50 (ms)"] < 1
    assert summary["Send-time error max (ms)"] < 20
    assert 0 <= summary["Send-time error p50 (ms)"] <= summary["Send-time error p99 (ms)"]
    assert "Send-time error p99 (ms)" in proc.stdout  # the console shows it
    rows = sorted(_trace_rows(), key=lambda r: r["timestamp"])
    db = _db_rows(point)
    t0 = db[0]["intended_start"]
    for want, got in zip(rows, db, strict=True):
        # sent at the trace's time / speed-up, with exactly the lengths asked (the mock's usage)
        assert got["intended_start"] - t0 == pytest.approx(want["timestamp"] / 1000 / 2, abs=1e-9)
        assert got["prompt_tokens"] == want["input_length"]
        assert got["completion_tokens"] == want["output_length"]
    # the prompts as the mock saw them: exact lengths for the real tokenizer too; equal leading hash ids
    # give byte-identical leading blocks, and different ones differ
    tok = Tokenizer(str(word_tokenizer))
    texts = list(srv.stats()["prompts"])
    assert len(texts) == 40
    by_len = {count_tokens(t): t for t in texts}
    for r in rows:
        assert tok.count(by_len[r["input_length"]]) == r["input_length"]
    families: dict[int, list[list[str]]] = {}
    for r in rows:
        families.setdefault(r["hash_ids"][0], []).append(by_len[r["input_length"]].split(" "))
    heads = []
    for prompts in families.values():
        n = min(BLOCK, *(len(w) for w in prompts))  # the shared first block (or as much as the shortest has)
        assert len({" ".join(w[:n]) for w in prompts}) == 1  # a family's requests start with the same bytes
        longer = [" ".join(w[: BLOCK + 8]) for w in prompts if len(w) >= BLOCK + 8]
        assert len(set(longer)) == len(longer) > 0  # past the shared block each request is its own
        heads.append(" ".join(prompts[0][:20]))
    assert len(set(heads)) == 4  # the families differ


def test_trace_number_keeps_first_requests_and_offsets(trace_file, word_tokenizer):
    args = PerfArguments(
        model="m", url="http://127.0.0.1:1", dataset="workload_trace", dataset_path=str(trace_file),
        tokenizer_path=str(word_tokenizer), number=[5], trace_speedup=10,
    )  # fmt: skip
    assert args.parallel == [100_000]  # open loop: no cap on requests in flight unless asked
    trace = load_trace(args, Tokenizer(str(word_tokenizer)))
    assert len(trace.items) == 5
    assert trace.offsets.tolist() == pytest.approx([0, 0.0021, 0.0042, 0.0060, 0.0081])
    assert [i.output_tokens for i in trace.items] == [2, 3, 4, 5, 6]


def test_trace_custom_rows_and_evalscope_body_rows(mock_server, evalscope_cli, tmp_path):
    srv = mock_server()
    custom = tmp_path / "custom.jsonl"
    custom.write_text(
        json.dumps({"timestamp": 0, "messages": [{"role": "user", "content": "alpha beta"}], "output_length": 4})
        + "\n"
        + json.dumps({"timestamp": 30, "prompt": "gamma", "output_length": 7})
        + "\n"
        + json.dumps({"timestamp": 0.05, "body": {"messages": [{"role": "user", "content": "delta"}],
                                                   "max_tokens": 3}})
        + "\n",
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--dataset", "workload_trace", "--dataset-path", custom,
        "--outputs-dir", out, "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    db = _db_rows(_point(out))
    # EvalScope's body row is in seconds (50 ms), the others in ms: order 0, 30 ms, 50 ms
    assert [r["completion_tokens"] for r in db] == [4, 7, 3]
    assert [round(r["intended_start"] - db[0]["intended_start"], 3) for r in db] == [0, 0.03, 0.05]
    assert set(srv.stats()["prompts"]) == {"alpha beta", "gamma", "delta"}


def test_trace_errors_name_the_flag(evalscope_cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"timestamp": 0, "input_length": 5}\n{"input_length": 3}\n', encoding="utf-8")
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", "http://127.0.0.1:9", "--dataset", "workload_trace",
        "--dataset-path", bad, "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode != 0
    assert "--dataset-path: line 2: timestamp: missing" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", "http://127.0.0.1:9", "--dataset", "workload_trace",
        "--dataset-path", bad, "--rate", 5,
    )  # fmt: skip
    assert proc.returncode == 2 and "--rate" in proc.stderr


def _stats(srv) -> dict:
    return srv.stats()["prefix_cache"]


def test_prefix_groups_share_prefixes_and_show_the_cache_in_ttft(
    mock_server, evalscope_cli, word_tokenizer, tmp_path
):
    # 64-token prefixes in 16-token blocks; prefill 5 ms per uncached token: a miss waits ~360 ms for
    # its 72 tokens, a hit ~40 ms for its 8 own tokens
    srv = mock_server(prefix_cache=True, prefix_block_tokens=16, prefill_per_token=0.005)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--dataset", "random", "--tokenizer-path", word_tokenizer,
        "--prefix-length", 64, "--prefix-count", 2, "--min-prompt-length", 8, "--max-prompt-length", 8,
        "--number", 8, "--parallel", 1, "--max-tokens", 4, "--outputs-dir", out, "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    texts = list(srv.stats()["prompts"])
    assert len(texts) == 8
    prefixes = {" ".join(t.split(" ")[:64]) for t in texts}
    assert len(prefixes) == 2  # two groups, each with byte-identical 64-token prefixes
    cache = _stats(srv)
    assert cache["requests"] == 8 and cache["hit_requests"] == 6  # only each group's first one misses
    db = _db_rows(_point(out))
    misses, hits = db[:2], db[2:]
    assert all(r["prompt_tokens"] == 72 for r in db)
    assert min(r["ttft"] for r in misses) > max(r["ttft"] for r in hits)

    # --cache-bust: the same workload, every prompt unique from its first token: no hit at all
    srv.reset_stats()
    out2 = tmp_path / "out2"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--dataset", "random", "--tokenizer-path", word_tokenizer,
        "--prefix-length", 64, "--prefix-count", 2, "--min-prompt-length", 8, "--max-prompt-length", 8,
        "--number", 8, "--parallel", 1, "--max-tokens", 4, "--outputs-dir", out2, "--no-test-connection",
        "--cache-bust", "--warmup-num", 2,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    texts = list(srv.stats()["prompts"])
    assert len(texts) == 10 and all(t.startswith("[rid:") for t in texts)
    assert _stats(srv)["hit_requests"] == 0


def test_prefix_count_needs_random_and_a_prefix(evalscope_cli):
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", "http://127.0.0.1:9", "--dataset", "openqa", "--prefix-count", 3,
    )  # fmt: skip
    assert proc.returncode == 2 and "--prefix-count" in proc.stderr


def test_ramp_up_closed_loop_grows_concurrency(mock_server, evalscope_cli, tmp_path):
    srv = mock_server(ttft=0.1)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--prompt", "hello", "--number", 40, "--parallel", 4,
        "--ramp-up", 0.8, "--outputs-dir", out, "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    point = _point(out)
    summary = json.loads((point / "benchmark_summary.json").read_text())
    db = _db_rows(point)
    t0 = min(r["start"] for r in db)
    ramp = [r for r in db if r["ramp"]]
    assert ramp and all(r["start"] - t0 < 0.8 for r in ramp)
    assert all(r["start"] - t0 >= 0.8 - 1e-3 for r in db if not r["ramp"])
    # the measured part leaves the ramp out, and says how many requests it was
    assert summary["Ramp-up (s)"] == 0.8
    assert summary["Ramp-up requests (not measured)"] == len(ramp)
    assert summary["Total requests"] == 40 - len(ramp)

    def in_flight(t: float) -> int:
        return sum(1 for r in db if r["start"] <= t < r["end_time"])

    # sender k joins at 0.2 s * k: one request in flight at first, four after the ramp
    assert max(in_flight(r["start"]) for r in db if r["start"] - t0 < 0.15) == 1
    assert max(in_flight(r["start"]) for r in db if r["start"] - t0 > 0.8) == 4
    assert srv.stats()["max_in_flight"] == 4


def test_ramped_offsets_grow_the_rate_linearly():
    steady = np.arange(0, 100) / 10.0  # 10 req/s
    out = ramped_offsets(steady, 4.0)  # rate 0 -> 10 req/s over 4 s: 20 arrivals in the ramp
    assert np.all(np.diff(out) > 0)
    assert int(np.sum(out < 4.0)) == 20
    assert out[-1] == pytest.approx(steady[-1] + 2.0)  # afterwards the steady rate, 2 s later
    gaps = np.diff(out[out < 4.0])
    assert np.all(np.diff(gaps) < 0)  # gaps shrink as the rate grows


def test_mooncake_trace_real_data(shared_datasets, mock_server, evalscope_cli, word_tokenizer, tmp_path):
    src = shared_datasets / "mooncake_traces" / "synthetic_trace.jsonl"
    if not src.is_file():
        pytest.skip(f"{src} is not here")
    srv = mock_server(prefix_cache=True, prefix_block_tokens=BLOCK)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--dataset", "workload_trace", "--dataset-path", src,
        "--tokenizer-path", word_tokenizer, "--number", 60, "--trace-speedup", 20, "--outputs-dir", out,
        "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    point = _point(out)
    summary = json.loads((point / "benchmark_summary.json").read_text())
    assert summary["Succeed requests"] == 60
    assert summary["Send-time error p50 (ms)"] < 1 and summary["Send-time error max (ms)"] < 20
    rows = [json.loads(line) for line in src.read_text().splitlines()[:60]]
    rows.sort(key=lambda r: r["timestamp"])
    db = _db_rows(point)
    assert [r["prompt_tokens"] for r in db] == [r["input_length"] for r in rows]
    assert [r["completion_tokens"] for r in db] == [r["output_length"] for r in rows]
    # the mock's cache saw the trace's shared blocks: hits in blocks where hash ids repeat
    seen: set[int] = set()
    want_hits = 0
    for r in rows:
        for h in r["hash_ids"][: r["input_length"] // BLOCK]:
            if h not in seen:
                break
            want_hits += 1
        seen.update(r["hash_ids"][: r["input_length"] // BLOCK])
    assert srv.stats()["prefix_cache"]["hit_blocks"] == want_hits > 0
