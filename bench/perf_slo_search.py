"""Capacity search against the mock's capacity model: ours vs EvalScope 1.14.1 and guidellm 0.8.1.

The mock (``evalscope mock-server``) has ``--max-num-seqs N`` slots and answers in one chunk after
``--ttft S`` seconds, so a closed loop of C clients sees p99 TTFT = S for C <= N and 2 S (a whole
service time of queueing) for N < C <= 2N: the largest concurrency with p99 TTFT <= 1.5 S is exactly
N (``evalscope.mock.capacity.expected_capacity``). Each tool searches that SLO on its own:

- ours: ``evalscope perf --slo ttft_p99:<ms> --search concurrency`` (defaults: 200 requests per
  round, 95% order-statistic intervals, rounds until clear);
- EvalScope 1.14.1: ``evalscope perf --sla-auto-tune --sla-variable parallel --sla-params
  '[{"p99_ttft": "<=<ms>"}]'`` (its defaults: 3 runs per value, 2 x parallel requests each);
  its own venv (``EVALSCOPE_PEER_VENV``, default /tmp/evalscope-peer-venv, made when missing);
- guidellm 0.8.1: ``guidellm run --profile kind=goodput,target_attainment=0.99`` (its SLO search:
  doubling then bisecting concurrency on the share of requests meeting ``ttft_ms``), 400 requests per
  probe; its own venv (``EVALSCOPE_GUIDELLM_VENV``, default /tmp/guidellm-peer-venv).

For each: the capacity it reports, the true one, the requests it sent and its wall time.

    .venv/bin/python bench/perf_slo_search.py [--slots 8] [--ttft 0.05] [--no-ours] [--no-evalscope] [--no-guidellm]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf_common import PY, ensure_peer, free_port, prompt_file  # noqa: E402
from perf_multiturn import ensure_guidellm, word_tokenizer  # noqa: E402


def start_mock(slots: int, ttft: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [PY, "-m", "evalscope", "mock-server", "--port", str(port), "--ttft", str(ttft),
         "--max-num-seqs", str(slots), "--output-tokens", "4", "--tokens-per-chunk", "4"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            httpx.get(url + "/mock/stats", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the mock did not start")


def total_requests(root: Path) -> int:
    n = 0
    for f in root.rglob("benchmark_summary.json"):
        s = json.loads(f.read_text())
        n += int(s.get("Total requests", s.get("Total Requests", 0)) or 0)
    return n


def run_ours(url: str, slo_ms: float) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-slo-ours-"))
    cmd = [PY, "-m", "evalscope", "perf", "--model", "m", "--url", url, "--max-tokens", "4",
           "--dataset", "line_by_line", "--dataset-path", str(prompt_file()), "--workers", "1",
           "--slo", f"ttft_p99:{slo_ms:g}ms", "--search", "concurrency", "--outputs-dir", str(out)]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    data = json.loads(next(out.rglob("slo_search.json")).read_text())
    return {"capacity": data["capacity"]["value"], "requests": data["requests"], "wall": wall,
            "points": len(data["points"])}  # fmt: skip


def run_evalscope(exe: Path, url: str, slo_ms: float) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-slo-es-"))
    cmd = [str(exe), "perf", "--model", "m", "--url", url + "/v1/chat/completions", "--api", "openai",
           "--max-tokens", "4", "--dataset", "line_by_line", "--dataset-path", str(prompt_file()),
           "--sla-auto-tune", "--sla-variable", "parallel", "--sla-params", json.dumps([{"p99_ttft": f"<={slo_ms:g}"}]),
           "--sla-upper-bound", "256", "--outputs-dir", str(out), "--no-test-connection"]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout)[-3000:])
    log = proc.stdout + proc.stderr
    found = re.findall(r"Best observed parallel: (\d+)", log)
    cap = int(found[-1]) if found else None
    return {"capacity": cap, "requests": total_requests(out), "wall": wall,
            "points": len({p.name.rsplit("_run_", 1)[0] for p in out.rglob("sla_parallel_*_run_*")})}  # fmt: skip


def run_guidellm(exe: Path, url: str, slo_ms: float, per_probe: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-slo-g-"))
    tok = word_tokenizer()
    cmd = [
        str(exe), "run",
        "--backend", f"kind=openai_http,target={url},model=m,validate_backend=false,request_format=/v1/chat/completions",
        "--profile", "kind=goodput,target_attainment=0.99,initial_streams=1,max_streams=256",
        "--metrics", json.dumps({"kind": "generative", "slo": {"ttft_ms": slo_ms}}),
        "--data", "kind=synthetic_text,prompt_tokens=12,output_tokens=4",
        "--tokenizer", f"kind=huggingface_auto,model={tok}",
        "--constraint", f"kind=max_requests,count={per_probe}",
        "--output", f"kind=json,path={out / 'report.json'}",
        "--disable-console-interactive",
    ]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=3600, env=os.environ | {"HF_HUB_OFFLINE": "1"}
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout)[-3000:])
    text = (out / "report.json").read_text()
    report = json.loads(text)
    cap, probes = None, 0

    def walk(o: object) -> None:
        nonlocal cap, probes
        if isinstance(o, dict):
            if "best_passing_streams" in o and "probes" in o:
                cap, probes = o["best_passing_streams"], len(o["probes"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(report)
    reqs = sum(int(b["scheduler_state"]["processed_requests"]) for b in report.get("benchmarks", []))
    return {"capacity": cap, "requests": reqs, "wall": wall, "points": probes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--ttft", type=float, default=0.05)
    ap.add_argument("--guidellm-requests", type=int, default=400, help="requests per guidellm probe")
    ap.add_argument("--no-ours", action="store_true")
    ap.add_argument("--no-evalscope", action="store_true")
    ap.add_argument("--no-guidellm", action="store_true")
    a = ap.parse_args()
    from evalscope.mock import MockConfig
    from evalscope.mock.capacity import expected_capacity

    slo_ms = 1.5 * a.ttft * 1000
    cfg = MockConfig(max_num_seqs=a.slots, ttft=a.ttft, output_tokens=4, tokens_per_chunk=4)
    truth = expected_capacity(cfg, output_tokens=4, slo={"ttft": slo_ms / 1000}).max_concurrency
    print(f"mock: {a.slots} slots, {a.ttft * 1000:g} ms per request; SLO p99 TTFT <= {slo_ms:g} ms; "
          f"true capacity {truth} concurrent requests")  # fmt: skip
    rows = {}
    proc, url = start_mock(a.slots, a.ttft)
    try:
        tools = [] if a.no_ours else [("ours", lambda: run_ours(url, slo_ms))]
        if not a.no_evalscope:
            exe = ensure_peer()
            if exe:
                tools.append(("EvalScope 1.14.1 --sla-auto-tune", lambda: run_evalscope(exe, url, slo_ms)))
        if not a.no_guidellm:
            gexe = ensure_guidellm()
            if gexe:
                tools.append(
                    ("guidellm 0.8.1 goodput", lambda: run_guidellm(gexe, url, slo_ms, a.guidellm_requests))
                )
        for name, fn in tools:
            try:
                rows[name] = fn()
            except Exception as exc:  # a peer that cannot run is reported, not fatal
                rows[name] = {"error": str(exc)[-500:]}
            r = rows[name]
            if "error" in r:
                print(f"{name:<36} did not run: {r['error']}")
            else:
                print(f"{name:<36} capacity {r['capacity']!s:>5} (true {truth})  points {r['points']:>3}  "
                      f"requests {r['requests']:>6}  wall {r['wall']:7.1f} s")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()
    print(json.dumps({"truth": truth, "slo_ms": slo_ms, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
