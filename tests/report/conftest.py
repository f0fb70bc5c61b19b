"""Runs the report tests build on: a small perf sweep and a small eval, both against the mock."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evalscope.mock import MockConfig, MockServer, ScriptedAnswer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
XSS = "<img src=x onerror=alert('pwned')></script><script>alert('x')</script>&amp;"

# ceval fixture rows -> 3 correct, 1 wrong, 1 unparsed, 1 error; law 2/3, logic 1/2 answered
CEVAL_ANSWERS = [
    ScriptedAnswer(match="根本大法", reply="解析：宪法是根本大法。\n答案：C"),
    ScriptedAnswer(match="强制性由", reply="答案：(A)"),
    ScriptedAnswer(match="民事行为能力", reply="答案：C"),
    ScriptedAnswer(match="苏格拉底是人", reply="三段论。\n答案：A"),
    ScriptedAnswer(match="逆否命题", reply=XSS),
    ScriptedAnswer(match="属于演绎推理", status=500, retry_after=0),
]


def island(html: str, element_id: str):
    """The JSON of ``<script type="application/json" id=...>`` in a report, parsed back."""
    m = re.search(rf'<script type="application/json" id="{re.escape(element_id)}">(.*?)</script>', html, re.S)
    assert m, f"no JSON island {element_id!r}"
    return json.loads(m.group(1))


def run_perf_sweep(url: str, out: Path, **extra):
    from evalscope.perf import PerfArguments, run_perf

    args = dict(
        model="mock-model",
        url=url + "/v1/chat/completions",
        parallel=[1, 3],
        number=[5, 12],
        prompt="hello there",
        max_tokens=8,
        sleep_interval=0,
        outputs_dir=str(out),
    )
    args.update(extra)
    return run_perf(PerfArguments(**args))


@pytest.fixture(scope="session")
def perf_runs(tmp_path_factory):
    """Two perf runs (the second slower, with injected failures) -> (result A, result B)."""
    out = tmp_path_factory.mktemp("perf")
    with MockServer(MockConfig(ttft=0.005, itl=0.001, output_tokens=8), mode="thread") as srv:
        a = run_perf_sweep(srv.url, out, name="fast")
    with MockServer(
        MockConfig(ttft=0.02, itl=0.002, output_tokens=8, error_rate=0.3, error_codes=[503, 429], seed=7),
        mode="thread",
    ) as srv:
        b = run_perf_sweep(srv.url, out, name="slow")
    return a, b


def run_ceval(url: str, out: Path):
    from evalscope.eval import TaskConfig, run_task

    cfg = TaskConfig(
        model="mock-model",
        api_url=url + "/v1",
        datasets=["ceval"],
        max_retries=0,
        timeout=30,
        dataset_args={"ceval": {"local_path": str(FIXTURES / "ceval"), "subset_list": ["law", "logic"]}},
        eval_batch_size=3,
        work_dir=str(out),
    )
    # in a thread of its own: a sync Playwright session keeps an event loop on the main thread
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run_task, cfg).result()


@pytest.fixture(scope="session")
def eval_runs(tmp_path_factory):
    """Two ceval runs: the scripted mix, then a model that answers C to everything."""
    out = tmp_path_factory.mktemp("eval")
    with MockServer(MockConfig(answers=CEVAL_ANSWERS, default_reply="UNMATCHED"), mode="thread") as srv:
        a = run_ceval(srv.url, out)
    with MockServer(MockConfig(default_reply="答案：C"), mode="thread") as srv:
        b = run_ceval(srv.url, out)
    return a, b


def _conversations(path: Path, turns: list[int]) -> Path:
    """A custom_multi_turn file: conversation i has turns[i] user turns."""
    lines = []
    for i, n in enumerate(turns):
        msgs: list[dict[str, str]] = []
        for t in range(1, n + 1):
            msgs.append({"role": "user", "content": f"conversation {i} question {t}"})
            if t < n:
                msgs.append({"role": "assistant", "content": "a boundary, never sent"})
        lines.append(json.dumps(msgs))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _custom_trace(path: Path, n: int = 30) -> Path:
    """A custom trace: ``n`` rows 15 ms apart (in the trace's time), messages and output lengths."""
    rows = [
        {"timestamp": 15 * i, "messages": [{"role": "user", "content": f"trace row {i}"}], "output_length": 3}
        for i in range(n)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def shape_runs(tmp_path_factory):
    """Runs of the load shapes, each against the mock: ``{"multi_turn": result, "trace": result,
    "ramp": result}`` (run_perf's answers; their folders hold report.html)."""
    from evalscope.perf import PerfArguments, run_perf

    out = tmp_path_factory.mktemp("shapes")
    convs = _conversations(out / "convs.jsonl", [3, 1, 4, 2, 3])
    trace = _custom_trace(out / "trace.jsonl")

    def runs(url: str) -> dict:
        base = dict(model="mock-model", url=url + "/v1/chat/completions", outputs_dir=str(out))
        return {
            "multi_turn": run_perf(
                PerfArguments(
                    **base, name="mt", multi_turn=True, dataset="custom_multi_turn", dataset_path=str(convs),
                    number=5, parallel=2, think_time=[0.001, 0.005],
                )
            ),
            "trace": run_perf(
                PerfArguments(
                    **base, name="trace", dataset="workload_trace", dataset_path=str(trace), trace_speedup=2
                )
            ),
        }  # fmt: skip

    def ramp(url: str) -> dict:
        return run_perf(
            PerfArguments(
                model="mock-model", url=url + "/v1/chat/completions", outputs_dir=str(out), name="ramp",
                prompt="hello", number=30, parallel=3, ramp_up=0.3, max_tokens=4,
            )
        )  # fmt: skip

    # in a thread of its own: a sync Playwright session keeps an event loop on the main thread
    with ThreadPoolExecutor(1) as pool:
        with MockServer(MockConfig(ttft=0.005, itl=0.001, output_tokens=6), mode="thread") as srv:
            got = pool.submit(runs, srv.url).result()
        # slow replies: the ramp's 0.3 s holds a few requests, the measured part the rest
        with MockServer(MockConfig(ttft=0.04, itl=0.002, output_tokens=4), mode="thread") as srv:
            got["ramp"] = pool.submit(ramp, srv.url).result()
    return got


@pytest.fixture(scope="session")
def search_run(tmp_path_factory):
    """An SLO search (``--search concurrency``, ``ttft_p99:40ms``) against the mock's capacity model
    (4 slots: past 4 concurrent requests they queue): run_perf's answer, its folder holds
    slo_search.json and report.html."""
    from evalscope.perf import PerfArguments, run_perf

    out = tmp_path_factory.mktemp("search")
    args = PerfArguments(
        model="mock-model", prompt="hello", max_tokens=8, outputs_dir=str(out), name="search",
        slo="ttft_p99:40ms", search="concurrency", search_requests=40, search_max_rounds=2, search_max=16,
        url="http://127.0.0.1:1/v1/chat/completions",
    )  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        # a slot is held ~40 ms (10 ms + 7 gaps of 4 ms): from c=5 a queued request waits that long
        cfg = MockConfig(ttft=0.01, itl=0.004, output_tokens=8, max_num_seqs=4)
        with MockServer(cfg, mode="thread") as srv:
            args = args.model_copy(update={"url": srv.url + "/v1/chat/completions"})
            return pool.submit(run_perf, args).result()
