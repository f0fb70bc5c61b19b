"""Trace replay accuracy: a Mooncake trace sent at 10x speed-up against nginx's fixed reply.

Runs ``evalscope perf --dataset workload_trace`` (this repo) with the first ``--number`` requests of
a Mooncake trace (``../shared/datasets/mooncake_traces``), prompts built to the trace's exact input
lengths by a word-level tokenizer made here (nginx ignores the prompt; the client's work to send
~15k-token bodies is real). Prints the send-time error (actual send minus the trace's time) p50, p99
and max as the run reports it, and recomputed from ``benchmark_data.db``.

    python bench/perf_trace.py [--trace PATH] [--number 1000] [--speedup 10]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from perf_common import PY, REPO, Nginx

DEFAULT_TRACE = REPO.parent / "shared" / "datasets" / "mooncake_traces" / "synthetic_trace.jsonl"


def word_tokenizer(folder: Path, words: int = 2000) -> Path:
    """A word-level tokenizer (``w0`` .. ``w1999``, whitespace-split): every word one token."""
    from tokenizers import Tokenizer, decoders
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, **{f"w{i}": i + 1 for i in range(words)}}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.add_special_tokens(["[UNK]"])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    ap.add_argument("--number", type=int, default=1000)
    ap.add_argument("--speedup", type=float, default=10.0)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    tok = word_tokenizer(tmp / "tok")
    with Nginx(token_counts=(16,)) as nginx:
        cmd = [
            PY, "-m", "evalscope", "perf", "--model", "m", "--url", f"{nginx.url}/t16/v1/chat/completions",
            "--dataset", "workload_trace", "--dataset-path", str(a.trace), "--tokenizer-path", str(tok),
            "--number", str(a.number), "--trace-speedup", str(a.speedup), "--outputs-dir", str(tmp / "out"),
            "--no-test-connection",
        ]  # fmt: skip
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=3600)
        wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"run failed:\n{proc.stderr[-3000:]}")
    point = next((tmp / "out").glob("*/*/parallel_*"))
    summary = json.loads((point / "benchmark_summary.json").read_text())
    con = sqlite3.connect(point / "benchmark_data.db")
    lag = np.array([r[0] for r in con.execute("SELECT start - intended_start FROM requests")]) * 1e3
    span = con.execute("SELECT max(intended_start) - min(intended_start) FROM requests").fetchone()[0]
    con.close()
    print(f"trace {a.trace.name}: first {a.number} requests at {a.speedup:g}x ({span:.1f} s of sends), "
          f"wall {wall:.1f} s, {summary['Succeed requests']} ok, client processes {summary['Client processes']}")  # fmt: skip
    print(
        "send-time error (ms), summary: p50 {} p99 {} max {}".format(
            summary["Send-time error p50 (ms)"],
            summary["Send-time error p99 (ms)"],
            summary["Send-time error max (ms)"],
        )
    )
    print(
        f"send-time error (ms), from the db: p50 {np.percentile(lag, 50):.4f} p90 {np.percentile(lag, 90):.4f} "
        f"p99 {np.percentile(lag, 99):.4f} max {lag.max():.4f}; event-loop lag p99 "
        f"{summary.get('Client event-loop lag p99 (ms)')} ms, client CPU {summary.get('Client CPU (fraction of one core)')}"
    )


if __name__ == "__main__":
    main()
