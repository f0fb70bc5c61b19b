"""Eval throughput: samples per second of `evalscope eval` (this package) against EvalScope 1.14.1
from PyPI, on gsm8k (300 samples, eval_batch_size 32, 4-shot), both against the same mock server
that answers at once with the same scripted answers (a known mix of right and wrong ones).

    .venv/bin/python bench/eval_speed.py                    # both tools, 3 rounds each
    .venv/bin/python bench/eval_speed.py --skip-peer        # this package only

The peer is installed by this script into its own virtual environment (default
/tmp/evalscope-peer-venv; never a dependency of this project) and reads a copy of the gsm8k files laid
out as its local loader expects (a Hugging Face style folder: README.md declaring the ``main`` config,
``main/{train,test}-*.jsonl``). Each tool runs in its own process; the figure is samples / seconds
spent inside its ``run_task`` (dataset loading, prompting, requests, scoring, writing results),
without interpreter start-up and imports, which are reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PEER_VERSION = "1.14.1"
MODEL = "mock-model"

OURS = textwrap.dedent("""
    import json, sys, time
    from evalscope.eval import TaskConfig, run_task
    url, data, n, bs, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    cfg = TaskConfig(model="mock-model", api_url=url, datasets=["gsm8k"],
                     dataset_args={"gsm8k": {"local_path": data}}, limit=n, eval_batch_size=bs,
                     generation_config={"temperature": 0.0, "max_tokens": 512}, work_dir=work)
    t = time.perf_counter()
    r = run_task(cfg)
    dt = time.perf_counter() - t
    rep = r["result"]["gsm8k"]
    print(json.dumps({"seconds": dt, "samples": sum(rep["counts"].values()), "score": rep["score"],
                      "counts": rep["counts"]}))
""")

PEER = textwrap.dedent("""
    import glob, json, logging, os, sys, time
    logging.disable(logging.WARNING)
    from evalscope import TaskConfig, run_task
    url, data, n, bs, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    cfg = TaskConfig(model="mock-model", api_url=url, api_key="EMPTY", eval_type="openai_api",
                     datasets=["gsm8k"], dataset_args={"gsm8k": {"local_path": data}}, limit=n,
                     eval_batch_size=bs, generation_config={"temperature": 0.0, "max_tokens": 512},
                     work_dir=work)
    t = time.perf_counter()
    run_task(cfg)
    dt = time.perf_counter() - t
    reports = glob.glob(os.path.join(work, "**", "reports", "**", "gsm8k.json"), recursive=True)
    rep = json.load(open(reports[0]))
    m = rep["metrics"][0]  # report schema 2 keeps the score inside the metric
    print(json.dumps({"seconds": dt, "samples": m["num"], "score": rep.get("score", m["score"])}))
""")


def gsm8k_dir() -> Path:
    env = os.environ.get("EVALSCOPE_TEST_DATA")
    base = Path(env) if env else REPO.parent / "shared" / "datasets"
    path = base / "gsm8k"
    if not (path / "test.jsonl").is_file():
        sys.exit(f"gsm8k files not found in {path} (set EVALSCOPE_TEST_DATA)")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scripted_answers(rows: list[dict], n: int) -> tuple[list[dict], float]:
    """One scripted answer per question (matched on the full question text): 3 of 4 right, in the
    formats models use; the expected accuracy is returned with them."""
    answers, right = [], 0
    for i, row in enumerate(rows[:n]):
        gold = row["answer"].split("####")[-1].strip().replace(",", "")
        if i % 4 == 3:
            reply = f"Let me compute step by step.\nSo the result is \\boxed{{{int(float(gold)) + 1}}}."
        elif i % 4 == 1:
            reply = f"Working it out gives {gold}.\nThe answer is \\boxed{{{gold}}}"
        else:
            reply = f"Step by step: the total comes to {gold}.\n\\boxed{{{gold}}}"
        right += i % 4 != 3
        answers.append({"match": row["question"], "reply": reply})
    return answers, right / min(n, len(rows))


def peer_layout(src: Path, dst: Path) -> Path:
    """gsm8k as EvalScope's local loader reads it: a Hugging Face dataset folder with a ``main`` config."""
    (dst / "main").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "train.jsonl", dst / "main" / "train-00000-of-00001.jsonl")
    shutil.copyfile(src / "test.jsonl", dst / "main" / "test-00000-of-00001.jsonl")
    (dst / "README.md").write_text(
        textwrap.dedent("""\
        ---
        configs:
        - config_name: main
          data_files:
          - split: train
            path: main/train-*
          - split: test
            path: main/test-*
        ---
        gsm8k (openai/grade-school-math), local copy for the benchmark.
        """),
        encoding="utf-8",
    )
    return dst


def ensure_peer(venv_dir: Path) -> tuple[Path | None, str]:
    """The peer's python, installing EvalScope into its own venv when needed; (None, why) if impossible."""
    py = venv_dir / "bin" / "python"
    # -I: without it, running from this repo's root would import this repo's evalscope package
    check = [str(py), "-I", "-c", "import evalscope, sys; sys.stdout.write(evalscope.__version__)"]
    if py.exists():
        got = subprocess.run(check, capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == PEER_VERSION:
            return py, ""
    else:
        made = subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], capture_output=True, text=True)
        if made.returncode != 0:
            return None, f"python -m venv failed: {made.stderr.strip()[-500:]}"
    print(f"installing evalscope=={PEER_VERSION} into {venv_dir} ...", file=sys.stderr)
    inst = subprocess.run(
        [str(py), "-I", "-m", "pip", "install", "-q", f"evalscope=={PEER_VERSION}"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    if inst.returncode != 0:
        return None, f"pip install evalscope=={PEER_VERSION} failed: {inst.stderr.strip()[-800:]}"
    got = subprocess.run(check, capture_output=True, text=True)
    if got.returncode != 0:
        return None, f"evalscope {PEER_VERSION} installed but does not import: {got.stderr.strip()[-800:]}"
    return py, ""


def run_one(python: str, script: str, url: str, data: Path, n: int, bs: int, env: dict) -> dict:
    work = tempfile.mkdtemp(prefix="eval-bench-")
    try:
        t = time.perf_counter()
        proc = subprocess.run(
            [python, "-I", "-c", script, url, str(data), str(n), str(bs), work],
            capture_output=True,
            text=True,
            env=env,
            cwd=work,
            timeout=1800,
        )
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"run failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["process_wall_s"] = wall
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peer-venv", default="/tmp/evalscope-peer-venv")
    ap.add_argument("--skip-peer", action="store_true")
    args = ap.parse_args()

    from evalscope.mock import MockConfig, MockServer

    src = gsm8k_dir()
    rows = read_jsonl(src / "test.jsonl")
    answers, expected = scripted_answers(rows, args.samples)
    tmp = Path(tempfile.mkdtemp(prefix="eval-bench-data-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALSCOPE_DATASET", "VIRTUAL_ENV"))}
    env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

    results: dict[str, list[dict]] = {"evalscope (this repo)": []}
    peer_py, why = (None, "skipped (--skip-peer)") if args.skip_peer else ensure_peer(Path(args.peer_venv))
    peer_data = peer_layout(src, tmp / "gsm8k-hf") if peer_py else None
    if peer_py:
        results[f"EvalScope {PEER_VERSION}"] = []

    with MockServer(MockConfig(answers=answers), mode="process") as srv:
        url = srv.url + "/v1"
        for _ in range(args.rounds):
            results["evalscope (this repo)"].append(
                run_one(sys.executable, OURS, url, src, args.samples, args.batch_size, env)
            )
            if peer_py:
                results[f"EvalScope {PEER_VERSION}"].append(
                    run_one(
                        str(peer_py),
                        PEER,
                        url + "/chat/completions",
                        peer_data,
                        args.samples,
                        args.batch_size,
                        env,
                    )
                )
    shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"gsm8k, {args.samples} samples, eval_batch_size {args.batch_size}, mock answering at once; "
        f"median of {args.rounds} rounds; expected accuracy {expected:.4f}"
    )
    print(f"{'tool':<24} {'samples/s':>10} {'run_task s':>11} {'process s':>10} {'accuracy':>9}")
    medians, walls = {}, {}
    for tool, runs in results.items():
        sps = statistics.median(r["samples"] / r["seconds"] for r in runs)
        medians[tool] = sps
        walls[tool] = statistics.median(r["process_wall_s"] for r in runs)
        print(
            f"{tool:<24} {sps:>10.1f} {statistics.median(r['seconds'] for r in runs):>11.2f} "
            f"{walls[tool]:>10.2f} {runs[-1]['score']:>9.4f}"
        )
    if len(medians) == 2:
        (ours, peer), (w_ours, w_peer) = medians.values(), walls.values()
        print(
            f"ratio (this repo / EvalScope {PEER_VERSION}): {ours / peer:.1f}x samples/s inside run_task, "
            f"{w_peer / w_ours:.1f}x on whole-process wall time"
        )
    else:
        print(f"EvalScope {PEER_VERSION} not run: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
