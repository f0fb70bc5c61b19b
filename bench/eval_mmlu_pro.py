"""Eval at scale: all of MMLU-Pro (12,032 questions, 5-shot CoT prompts) at concurrency 128, samples per
second and peak memory of `evalscope eval` (this package) against EvalScope 1.14.1 from PyPI, in one run.

    .venv/bin/python bench/eval_mmlu_pro.py                       # both tools; ours at 1/4, 1/2, all
    .venv/bin/python bench/eval_mmlu_pro.py --skip-peer           # this package only
    .venv/bin/python bench/eval_mmlu_pro.py --sizes 0.02 --peer-limit 0.02   # a quick check of the script

The model is `evalscope mock-server`, started by this script in a process of its own, answering every
request at once with the same reply (a short chain of thought ending ``ANSWER: A``), so both tools must
report the same accuracy: the share of questions whose gold letter is A, which the script computes from
the data and prints beside theirs. Each tool runs in a child process with ``eval_batch_size`` 128 (both
tools' name for the number of requests in flight). Figures per run:

- samples/s: samples / seconds inside the tool's ``run_task`` (loading, prompting, requests, scoring,
  writing results); "process s" is the whole child process, interpreter start and imports included;
- peak RSS: the kernel's high-water mark (``ru_maxrss`` from ``wait4``) of the evaluating process, and
  the largest sum of RSS over its process tree sampled every 50 ms from /proc (the two agree when the
  tool starts no processes of its own).

Memory flat in the number of samples: this package also runs at 1/4 and 1/2 of the questions
(``limit`` as a fraction, per subset). The peer is installed by the script into its own virtual
environment (default /tmp/evalscope-peer-venv, shared with bench/eval_speed.py; never a dependency of
this project) and reads the shared parquet files through symlinks in a temporary folder laid out as
its local loader expects (the Hugging Face repository layout of its dataset id). Nothing is copied.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from eval_speed import PEER_VERSION, ensure_peer  # noqa: E402  (one home for the peer's venv)
from perf_common import free_port  # noqa: E402

NAME = "mmlu_pro"
MODEL = "mock-model"
# What the mock says to every question: a little reasoning, then the answer line both tools' prompts ask for.
REPLY = "Let me think step by step about each option.\nThe first option fits best.\nANSWER: A"
PAGE = os.sysconf("SC_PAGE_SIZE")

OURS = textwrap.dedent("""
    import json, sys, time
    from evalscope.eval import TaskConfig, run_task
    url, name, data, limit, bs, work = sys.argv[1:7]
    cfg = TaskConfig(model="mock-model", api_url=url, datasets=[name],
                     dataset_args={name: {"local_path": data}}, limit=json.loads(limit), eval_batch_size=int(bs),
                     generation_config={"temperature": 0.0, "max_tokens": 2048}, work_dir=work)
    t = time.perf_counter()
    r = run_task(cfg)
    dt = time.perf_counter() - t
    rep = r["result"][name]
    print(json.dumps({"seconds": dt, "samples": sum(rep["counts"].values()), "score": rep["score"],
                      "counts": rep["counts"]}))
""")

PEER = textwrap.dedent("""
    import glob, json, logging, os, sys, time
    logging.disable(logging.WARNING)
    from evalscope import TaskConfig, run_task
    url, name, data, limit, bs, work = sys.argv[1:7]
    cfg = TaskConfig(model="mock-model", api_url=url, api_key="EMPTY", eval_type="openai_api",
                     datasets=[name], dataset_args={name: {"local_path": data}}, limit=json.loads(limit),
                     eval_batch_size=int(bs), generation_config={"temperature": 0.0, "max_tokens": 2048},
                     work_dir=work)
    t = time.perf_counter()
    run_task(cfg)
    dt = time.perf_counter() - t
    reports = glob.glob(os.path.join(work, "**", "reports", "**", name + ".json"), recursive=True)
    rep = json.load(open(reports[0]))
    m = rep["metrics"][0]  # report schema 2 keeps the score inside the metric
    print(json.dumps({"seconds": dt, "samples": m["num"], "score": rep.get("score", m["score"])}))
""")


def shared_dir() -> Path:
    env = os.environ.get("EVALSCOPE_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def gold_letters(src: Path) -> list[str]:
    """The gold letter of every test question, read from the shared files (for the expected accuracy)."""
    with (src / "test.jsonl").open(encoding="utf-8") as fh:
        return [str(json.loads(line)["answer"]).strip() for line in fh if line.strip()]


def peer_layout(src: Path, dst: Path) -> Path:
    """The shared files as EvalScope 1.14.1 loads a local copy of TIGER-Lab/MMLU-Pro, by symlink.

    A local ``local_path`` folder goes to ``datasets.load_dataset(folder, name="default", split=...)``;
    the hub repository's layout, ``data/{test,validation}-00000-of-00001.parquet``, gives that config
    both splits (the adapter splits the one config into the 14 categories itself).
    """
    (dst / "data").mkdir(parents=True, exist_ok=True)
    for split in ("test", "validation"):
        (dst / "data" / f"{split}-00000-of-00001.parquet").symlink_to(src / f"{split}-00000-of-00001.parquet")
    return dst


class TreeRss:
    """Polls the RSS of a process and all its descendants from /proc; keeps the largest sum seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        pids, i = [self.pid], 0
        while i < len(pids):
            try:
                for task in os.listdir(f"/proc/{pids[i]}/task"):
                    with open(f"/proc/{pids[i]}/task/{task}/children") as fh:
                        pids += [int(p) for p in fh.read().split()]
            except OSError:
                pass
            i += 1
        return pids

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/statm") as fh:
                        total += int(fh.read().split()[1]) * PAGE
                except (OSError, IndexError, ValueError):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_one(
    python: str, script: str, url: str, name: str, data: Path, limit: float | int | None, bs: int, env: dict
) -> dict:
    """One evaluation in a child process: the tool's figures plus wall time and peak memory."""
    work = tempfile.mkdtemp(prefix="eval-mmlu-pro-bench-")
    err_path = Path(work) / "stderr.txt"
    try:
        with open(Path(work) / "stdout.txt", "w+") as out, open(err_path, "w") as err:
            t = time.perf_counter()
            proc = subprocess.Popen(
                [python, "-I", "-c", script, url, name, str(data), json.dumps(limit), str(bs), work],
                stdout=out,
                stderr=err,
                env=env,
                cwd=work,
            )
            with TreeRss(proc.pid) as tree:
                _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - t
            out.seek(0)
            stdout = out.read()
        if proc.returncode != 0:
            tail = err_path.read_text(errors="replace").strip()[-2500:]
            raise RuntimeError(f"run failed ({proc.returncode}): {tail}")
        res = json.loads(stdout.strip().splitlines()[-1])
        res.update(process_wall_s=wall, maxrss_mib=usage.ru_maxrss / 1024, tree_peak_mib=tree.peak / 2**20)
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


class MockProcess:
    """`evalscope mock-server` of this repo in its own process, answering every request at once."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> MockProcess:
        cmd = [sys.executable, "-m", "evalscope", "mock-server", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*cmd, "--model-name", MODEL, "--default-reply", REPLY],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        )
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("evalscope mock-server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch-size", type=int, default=128, help="eval_batch_size of both tools (default 128)")
    ap.add_argument(
        "--sizes",
        default="0.25,0.5,1",
        help="fractions of the questions this package runs at, for memory against size (default 0.25,0.5,1)",
    )
    ap.add_argument("--peer-limit", default="1", help="the peer's limit: 1 = all questions, or a count")
    ap.add_argument("--peer-venv", default="/tmp/evalscope-peer-venv")
    ap.add_argument("--skip-peer", action="store_true")
    args = ap.parse_args()

    src = shared_dir() / NAME
    if not (src / "test-00000-of-00001.parquet").is_file():
        sys.exit(f"MMLU-Pro files not found in {src} (set EVALSCOPE_TEST_DATA)")
    gold = gold_letters(src)
    expected = sum(g == "A" for g in gold) / len(gold)
    sizes = [float(s) for s in args.sizes.split(",")]
    peer_limit = json.loads(args.peer_limit)
    peer_limit = None if peer_limit == 1 else peer_limit

    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALSCOPE_DATASET", "VIRTUAL_ENV"))}
    env.update(
        HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", MODELSCOPE_OFFLINE="1", TOKENIZERS_PARALLELISM="false"
    )
    peer_py, why = (None, "skipped (--skip-peer)") if args.skip_peer else ensure_peer(Path(args.peer_venv))
    tmp = Path(tempfile.mkdtemp(prefix="eval-mmlu-pro-data-"))
    rows: list[tuple[str, str, dict, tuple[float, float]]] = []
    try:
        # the peer's datasets cache (parquet -> arrow) goes here too, so every run loads cold
        env["HF_DATASETS_CACHE"] = str(tmp / "hf-datasets-cache")
        peer_data = peer_layout(src, tmp / NAME) if peer_py else None
        with MockProcess() as mock:
            # largest first for ours, then the peer at full size, then the smaller sizes of ours
            order = sorted(sizes, reverse=True)
            for i, frac in enumerate(order):
                limit = None if frac >= 1 else frac
                load0 = os.getloadavg()[0]
                res = run_one(sys.executable, OURS, mock.url, NAME, src, limit, args.batch_size, env)
                load = (load0, os.getloadavg()[0])
                rows.append(("evalscope (this repo)", "all" if limit is None else f"{frac:g}", res, load))
                print(
                    f"  ours at {frac:g}: {res['samples']} samples in {res['seconds']:.1f} s", file=sys.stderr
                )
                if i == 0 and peer_py and peer_data:
                    load0 = os.getloadavg()[0]
                    res = run_one(
                        str(peer_py),
                        PEER,
                        mock.url + "/chat/completions",
                        NAME,
                        peer_data,
                        peer_limit,
                        args.batch_size,
                        env,
                    )
                    label = "all" if peer_limit is None else str(peer_limit)
                    rows.append((f"EvalScope {PEER_VERSION}", label, res, (load0, os.getloadavg()[0])))
                    print(f"  peer: {res['samples']} samples in {res['seconds']:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"{NAME}: {len(gold):,} test questions, eval_batch_size {args.batch_size}, "
        f"evalscope mock-server answering at once with '... ANSWER: A'; expected accuracy {expected:.4f}"
    )
    head = f"{'tool':<22} {'size':>5} {'samples':>8} {'samples/s':>10} {'run_task s':>11} {'process s':>10}"
    print(head + f" {'maxrss MiB':>11} {'tree MiB':>9} {'accuracy':>9} {'load start/end':>15}")
    for tool, size, r, load in rows:
        print(
            f"{tool:<22} {size:>5} {r['samples']:>8} {r['samples'] / r['seconds']:>10.1f} "
            f"{r['seconds']:>11.2f} {r['process_wall_s']:>10.2f} {r['maxrss_mib']:>11.1f} "
            f"{r['tree_peak_mib']:>9.1f} {r['score']:>9.4f} {' / '.join(f'{x:.1f}' for x in load):>15}"
        )
    full = [r for t, s, r, _ in rows if s == "all"]
    if len(full) == 2:
        ours, peer = full
        print(
            f"ratio (this repo / EvalScope {PEER_VERSION}), all questions: "
            f"{(ours['samples'] / ours['seconds']) / (peer['samples'] / peer['seconds']):.1f}x samples/s "
            f"inside run_task, {peer['process_wall_s'] / ours['process_wall_s']:.1f}x on process wall time; "
            f"peak RSS {ours['maxrss_mib']:.0f} vs {peer['maxrss_mib']:.0f} MiB "
            f"({ours['maxrss_mib'] / peer['maxrss_mib']:.2f}x the peer's)"
        )
    elif not peer_py:
        print(f"EvalScope {PEER_VERSION} not run: {why}")
    ours_rows = sorted((r["samples"], r["maxrss_mib"]) for t, s, r, _ in rows if t.startswith("evalscope"))
    if len(ours_rows) > 1:
        (n0, m0), (n1, m1) = ours_rows[0], ours_rows[-1]
        slope = (m1 - m0) * 1024 / max(n1 - n0, 1)
        print(
            "this repo, peak RSS by size: "
            + ", ".join(f"{n:,} samples {m:.0f} MiB" for n, m in ours_rows)
            + f" (largest / smallest: {ours_rows[-1][1] / ours_rows[0][1]:.2f}; "
            f"{slope:.1f} KiB per added sample)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
