"""Multi-turn sessions: requests/s at 256 concurrent sessions against nginx's fixed reply, ours vs peers.

nginx (bench/perf_common.py) answers every POST at once with the same 16-token chat stream, so the
client is what is measured. The workload is one custom_multi_turn file (512 conversations of 4 user
turns; each later turn carries the history and the real replies), 256 sessions at once, --number
sessions in all (EvalScope's meaning), max_tokens 16. Tools, each as its users run it:

- ours: ``evalscope perf --multi-turn --dataset custom_multi_turn ...`` (this repo);
- EvalScope 1.14.1: the same command line (its own venv, made here if absent: perf_common.ensure_peer);
- guidellm 0.8.1: ``guidellm run`` with synthetic multi-turn data (``turns``), concurrent profile of
  256 streams, in its own venv made here (it imports torch: the CPU-only wheel is installed first).

    .venv/bin/python bench/perf_multiturn.py                 # 2048 sessions (8192 requests)
    .venv/bin/python bench/perf_multiturn.py --sessions 512 --no-guidellm
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf_common import PY, REPO, Nginx, ensure_peer, find_summary

GUIDELLM_VENV = Path(os.environ.get("EVALSCOPE_GUIDELLM_VENV", "/tmp/guidellm-peer-venv"))
GUIDELLM_SPEC = "guidellm[perf]==0.8.1"
#: CPU-only torch: the PyTorch index when reachable, else a +cpu build from the configured index
TORCH_CANDIDATES = (
    ["torch", "--index-url", "https://download.pytorch.org/whl/cpu"],
    ["torch==2.13.0+cpu"],
)
TURNS = 4
TOKENS = 16


def conversations(n: int = 512, turns: int = TURNS) -> Path:
    """A custom_multi_turn file both evalscopes read: n conversations of ``turns`` user turns."""
    p = Path(tempfile.gettempdir()) / "bench-multiturn.jsonl"
    lines = []
    for i in range(n):
        msgs: list[dict[str, str]] = []
        for t in range(turns):
            msgs.append({"role": "user", "content": f"Conversation {i}, question {t}: tell me more."})
            if t < turns - 1:
                msgs.append({"role": "assistant", "content": "reference"})
        lines.append(json.dumps(msgs))
    p.write_text("\n".join(lines) + "\n")
    return p


def flags(url: str, parallel: int, sessions: int, data: Path, out: Path) -> list[str]:
    return [
        "perf", "--model", "m", "--url", url, "--parallel", str(parallel), "--number", str(sessions),
        "--max-tokens", str(TOKENS), "--multi-turn", "--dataset", "custom_multi_turn",
        "--dataset-path", str(data), "--outputs-dir", str(out),
    ]  # fmt: skip


def run_ours(url: str, parallel: int, sessions: int, data: Path) -> tuple[float, int, float]:
    out = Path(tempfile.mkdtemp(prefix="bench-mt-o-"))
    t = time.perf_counter()
    proc = subprocess.run(
        [PY, "-m", "evalscope", *flags(url, parallel, sessions, data, out), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"ours failed: {proc.stderr[-2000:]}")
    s = find_summary(out)
    return s["Request throughput (req/s)"], s["Succeed requests"], wall


def run_evalscope(exe: Path, url: str, parallel: int, sessions: int, data: Path) -> tuple[float, int, float]:
    out = Path(tempfile.mkdtemp(prefix="bench-mt-p-"))
    t = time.perf_counter()
    proc = subprocess.run(
        [str(exe), *flags(url, parallel, sessions, data, out), "--api", "openai"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        timeout=3600,
        env=os.environ | {"MODELSCOPE_OFFLINE": "1", "HF_HUB_OFFLINE": "1"},
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"EvalScope 1.14.1 failed (rc {proc.returncode}): {proc.stderr[-3000:]}")
    s = find_summary(out)
    rps = s.get("Req Throughput (req/s)", s.get("Request throughput (req/s)"))
    ok = s.get("Success Requests", s.get("Succeed requests"))
    return float(rps), int(ok), wall


def ensure_guidellm() -> Path | None:
    """guidellm 0.8.1 in its own venv (CPU-only torch first); None with the reason printed if impossible."""
    exe = GUIDELLM_VENV / "bin" / "guidellm"
    if exe.exists():
        return exe
    pip = GUIDELLM_VENV / "bin" / "pip"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(GUIDELLM_VENV)], check=True)
        for cand in TORCH_CANDIDATES:
            if subprocess.run([str(pip), "install", "-q", *cand]).returncode == 0:
                break
        else:
            print("guidellm: no CPU-only torch wheel could be installed", file=sys.stderr)
            return None
        subprocess.run([str(pip), "install", "-q", GUIDELLM_SPEC], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"guidellm: could not install {GUIDELLM_SPEC} into {GUIDELLM_VENV}: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def word_tokenizer() -> Path:
    """A local Hugging Face tokenizer folder (word level) for guidellm's synthetic data, made offline."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    d = Path(tempfile.gettempdir()) / "bench-word-tokenizer"
    d.mkdir(exist_ok=True)
    vocab = {"[UNK]": 0, **{f"w{i}": i + 1 for i in range(2000)}}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(
        json.dumps(
            {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "model_max_length": 1 << 20}
        )
    )
    return d


def run_guidellm(exe: Path, base_url: str, parallel: int, sessions: int) -> tuple[float, int, float]:
    """guidellm's own multi-turn workload of the same shape: ``turns`` per conversation, 256 streams,
    16 output tokens; stopped after sessions x turns requests."""
    out = Path(tempfile.mkdtemp(prefix="bench-mt-g-"))
    tok = word_tokenizer()
    cmd = [
        str(exe), "run",
        "--backend",
        f"kind=openai_http,target={base_url},model=m,validate_backend=false,request_format=/v1/chat/completions",
        "--profile", f"kind=concurrent,streams={parallel}",
        "--data", f"kind=synthetic_text,prompt_tokens=12,output_tokens={TOKENS},turns={TURNS}",
        "--tokenizer", f"kind=huggingface_auto,model={tok}",
        "--constraint", f"kind=max_requests,count={sessions * TURNS}",
        "--output", f"kind=json,path={out / 'report.json'}",
        "--disable-console-interactive",
    ]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=3600, env=os.environ | {"HF_HUB_OFFLINE": "1"}
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"guidellm failed (rc {proc.returncode}): {(proc.stderr or proc.stdout)[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    bench = report["benchmarks"][0]
    metrics = bench["metrics"]
    rps = metrics["requests_per_second"]["successful"]["mean"]
    ok = bench["request_totals"]["successful"] if "request_totals" in bench else sessions * TURNS
    return float(rps), int(ok), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parallel", type=int, default=256, help="concurrent sessions")
    ap.add_argument("--sessions", type=int, default=2048, help="sessions (--number)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of ours (median reported)")
    ap.add_argument("--no-evalscope", action="store_true")
    ap.add_argument("--no-guidellm", action="store_true")
    a = ap.parse_args()
    data = conversations()
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"workload: {a.sessions} sessions x {TURNS} turns, {a.parallel} at once, {TOKENS}-token replies")
    with Nginx((TOKENS,)) as srv:
        url = f"{srv.url}/t{TOKENS}/v1/chat/completions"
        runs = sorted(run_ours(url, a.parallel, a.sessions, data) for _ in range(a.repeat))
        rps, ok, wall = runs[len(runs) // 2]
        print(
            f"ours        {rps:>9.1f} req/s  ok {ok:>6}  wall {wall:6.1f} s  [{', '.join(f'{r[0]:.0f}' for r in runs)}]"
        )
        peers: dict[str, float] = {}
        if not a.no_evalscope:
            exe = ensure_peer()
            if (
                exe is not None
                and subprocess.run([str(exe.parent / "python"), "-c", "import uvicorn"]).returncode
            ):
                # a venv made without the perf extra cannot run `evalscope perf`
                subprocess.run(
                    [str(exe.parent / "pip"), "install", "-q", "evalscope[perf]==1.14.1"], check=False
                )
            if exe is None:
                print("EvalScope 1.14.1: could not be installed")
            else:
                try:
                    p_rps, p_ok, p_wall = run_evalscope(exe, url, a.parallel, a.sessions, data)
                    peers["EvalScope 1.14.1"] = p_rps
                    print(f"EvalScope   {p_rps:>9.1f} req/s  ok {p_ok:>6}  wall {p_wall:6.1f} s")
                except (RuntimeError, subprocess.TimeoutExpired, KeyError) as exc:
                    print(f"EvalScope 1.14.1: did not run: {exc}")
        if not a.no_guidellm:
            exe = ensure_guidellm()
            if exe is None:
                print("guidellm 0.8.1: could not be installed")
            else:
                try:
                    g_rps, g_ok, g_wall = run_guidellm(exe, f"{srv.url}/t{TOKENS}", a.parallel, a.sessions)
                    peers["guidellm 0.8.1"] = g_rps
                    print(f"guidellm    {g_rps:>9.1f} req/s  ok {g_ok:>6}  wall {g_wall:6.1f} s")
                except (RuntimeError, subprocess.TimeoutExpired, KeyError, FileNotFoundError) as exc:
                    print(f"guidellm 0.8.1: did not run: {exc}")
        if peers:
            name, best = max(peers.items(), key=lambda kv: kv[1])
            print(f"ours / fastest peer ({name}): {rps / best:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
