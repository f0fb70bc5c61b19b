"""HumanEval and MBPP end to end against the mock with scripted answers: the model's code runs with
the tests in the sandbox (bubblewrap); right, wrong, a syntax error, an endless loop (the time limit)
and no code at all give exact scores and states, from the Python API, the CLI and the service; a
failure of the sandbox itself is an error, never wrong; pass@k with repeats; and all 164 HumanEval
canonical solutions pass when the real data is at hand."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from evalscope.eval import TaskConfig, run_task
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"

pytestmark = pytest.mark.usefixtures("bwrap_ready")  # skips, saying why, where bwrap cannot run

RIGHT_0 = """Here is a straightforward O(n^2) implementation:

```python
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    for i, a in enumerate(numbers):
        for j, b in enumerate(numbers):
            if i != j and abs(a - b) < threshold:
                return True
    return False
```

It compares every pair of distinct elements."""
NO_CODE_1 = "I'm not able to write that function, sorry."
WRONG_2 = "```python\ndef truncate_number(number: float) -> float:\n    return number\n```"
SYNTAX_3 = "```python\ndef below_zero(operations):\n    balance = 0\n    for op in operations\n        balance += op\n```"
# an endless loop (sleeping, so the wall clock and not the CPU limit stops it: an exact reason)
LOOP_4 = "```python\nimport time\n\ndef mean_absolute_deviation(numbers):\n    while True:\n        time.sleep(0.05)\n```"


def humaneval_answers() -> list[ScriptedAnswer]:
    """One scripted answer per fixture problem, matched by its function name in the prompt."""
    return [
        ScriptedAnswer(match="def has_close_elements", reply=RIGHT_0),
        ScriptedAnswer(match="def separate_paren_groups", reply=NO_CODE_1),
        ScriptedAnswer(match="def truncate_number", reply=WRONG_2),
        ScriptedAnswer(match="def below_zero", reply=SYNTAX_3),
        ScriptedAnswer(match="def mean_absolute_deviation", reply=LOOP_4),
    ]


EXPECTED_STATES = {
    "openai_humaneval/0": "correct",
    "openai_humaneval/1": "unparsed",
    "openai_humaneval/2": "wrong",
    "openai_humaneval/3": "wrong",
    "openai_humaneval/4": "wrong",
}
EXPECTED_COUNTS = {"correct": 1, "wrong": 3, "unparsed": 1, "truncated": 0, "error": 0}


def _cfg(srv, tmp_path, **kw) -> TaskConfig:
    fields = dict(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=["humaneval"],
        dataset_args={"humaneval": {"local_path": str(FIXTURES / "humaneval"), "review_timeout": 2}},
        eval_batch_size=5,
        max_retries=0,
        sandbox_pool_size=2,
        work_dir=str(tmp_path / "out"),
    )
    fields.update(kw)
    return TaskConfig(**fields)


def _predictions(output_dir: str, bench: str = "humaneval") -> dict[str, dict]:
    path = Path(output_dir) / "predictions" / "mock-model" / f"{bench}.jsonl"
    return {(row := json.loads(line))["id"]: row for line in path.read_text().splitlines()}


def _check_humaneval_lines(lines: dict[str, dict]) -> None:
    assert {k: v["state"] for k, v in lines.items()} == EXPECTED_STATES
    right, no_code, wrong, syntax, loop = (lines[f"openai_humaneval/{i}"] for i in range(5))
    assert right["score"] == 1.0 and right["extracted"].startswith("from typing import List")
    assert right["details"]["exit_code"] == 0 and right["details"]["limit"] is None
    assert no_code["extracted"] is None and not no_code.get("details")
    assert wrong["extracted"] == "def truncate_number(number: float) -> float:\n    return number"
    assert wrong["details"]["exit_code"] == 1 and "AssertionError" in wrong["details"]["stderr"]
    assert syntax["details"]["exit_code"] == 1 and "SyntaxError" in syntax["details"]["stderr"]
    assert loop["details"]["limit"] == "time" and loop["details"]["exit_code"] is None
    assert loop["details"]["reason"] == "the program ran past the time limit (2 s wall clock)"
    assert all(r["score"] == 0.0 for r in (no_code, wrong, syntax, loop))


def test_humaneval_scripted_answers_python_api(mock_server, tmp_path):
    srv = mock_server(answers=humaneval_answers())
    out = run_task(_cfg(srv, tmp_path))
    rep = out["result"]["humaneval"]
    assert rep["score"] == 0.2 and rep["counts"] == EXPECTED_COUNTS
    assert rep["metrics"][0]["name"] == "pass@1"
    assert out["error_counts"]["failed"] == 0
    _check_humaneval_lines(_predictions(out["output_dir"]))


def test_humaneval_pass_at_k_with_repeats(mock_server, tmp_path):
    # problem 0 right in 2 of 4 answers, problem 2 in 1 of 4, the rest never (eval_batch_size 1:
    # the replies go in turn)
    answers = humaneval_answers()
    answers[0] = ScriptedAnswer(
        match="def has_close_elements", replies=[RIGHT_0, WRONG_2, RIGHT_0, NO_CODE_1]
    )
    right_2 = "```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```"
    answers[2] = ScriptedAnswer(match="def truncate_number", replies=[WRONG_2, WRONG_2, right_2, WRONG_2])
    srv = mock_server(answers=answers)
    out = run_task(
        _cfg(
            srv,
            tmp_path,
            repeats=4,
            eval_batch_size=1,
            limit=3,
            generation_config={"temperature": 0.8},
        )
    )
    rep = out["result"]["humaneval"]
    metrics = {m["name"]: m["score"] for m in rep["metrics"]}
    # per question c/n: 2/4, 0/4, 1/4 -> pass@1 = 0.25
    assert rep["score"] == 0.25 and metrics["mean_acc_pass@1"] == 0.25
    # pass@2: (1 - C(2,2)/C(4,2), 0, 1 - C(3,2)/C(4,2)) = (5/6, 0, 1/2) -> 4/9
    assert metrics["mean_acc_pass@2"] == round(4 / 9, 4)
    # pass@3: (1, 0, 1 - C(3,3)/C(4,3) = 3/4) -> 7/12; pass@4: (1, 0, 1) -> 2/3
    assert metrics["mean_acc_pass@3"] == round(7 / 12, 4) and metrics["mean_acc_pass@4"] == 0.6667


def test_humaneval_through_the_cli(mock_server, tmp_path, evalscope_cli):
    srv = mock_server(answers=humaneval_answers())
    dataset_args = {"humaneval": {"local_path": str(FIXTURES / "humaneval"), "review_timeout": 2}}
    proc = evalscope_cli(
        "eval",
        "--model", "mock-model",
        "--api-url", srv.url + "/v1",
        "--datasets", "humaneval",
        "--dataset-args", json.dumps(dataset_args),
        "--eval-batch-size", "5",
        "--sandbox-pool-size", "2",
        "--sandbox-memory-mb", "256",
        "--work-dir", tmp_path / "out",
        "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["result"]["humaneval"]["score"] == 0.2
    assert out["result"]["humaneval"]["counts"] == EXPECTED_COUNTS
    _check_humaneval_lines(_predictions(out["output_dir"]))
    config = json.loads((Path(out["output_dir"]) / "config.json").read_text())
    assert config["sandbox_type"] == "bwrap" and config["sandbox_memory_mb"] == 256


def test_without_bubblewrap_the_run_stops_before_asking_and_says_what_to_install(
    mock_server, tmp_path, evalscope_cli
):
    srv = mock_server(answers=humaneval_answers())
    env_before = os.environ.get("EVALSCOPE_BWRAP")
    os.environ["EVALSCOPE_BWRAP"] = str(tmp_path / "no-such-bwrap")
    try:
        proc = evalscope_cli(
            "eval", "--model", "mock-model", "--api-url", srv.url + "/v1", "--datasets", "humaneval",
            "--dataset-args", json.dumps({"humaneval": {"local_path": str(FIXTURES / "humaneval")}}),
            "--work-dir", tmp_path / "out",
        )  # fmt: skip
    finally:
        if env_before is None:
            os.environ.pop("EVALSCOPE_BWRAP", None)
        else:
            os.environ["EVALSCOPE_BWRAP"] = env_before
    assert proc.returncode == 1
    assert "humaneval: sandbox_type: bwrap:" in proc.stderr and "bubblewrap" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sum(srv.stats()["prompts"].values()) == 0


def test_a_sandbox_failure_is_an_error_never_wrong(mock_server, tmp_path, monkeypatch):
    from evalscope.sandbox import SandboxError, SandboxPool

    real = SandboxPool.run_python
    calls = {"n": 0}

    async def flaky(self, code, **kw):
        calls["n"] += 1
        if "truncate_number" in code:  # the sandbox breaks on this one program
            raise SandboxError("bwrap: setting up uid map: Permission denied")
        return await real(self, code, **kw)

    monkeypatch.setattr(SandboxPool, "run_python", flaky)
    srv = mock_server(answers=humaneval_answers())
    out = run_task(_cfg(srv, tmp_path))
    rep = out["result"]["humaneval"]
    assert rep["counts"] == {"correct": 1, "wrong": 2, "unparsed": 1, "truncated": 0, "error": 1}
    assert out["error_counts"]["by_reason"] == {"scorer": 1}
    line = _predictions(out["output_dir"])["openai_humaneval/2"]
    assert line["state"] == "error" and line["error_reason"] == "scorer"
    assert line["error"] == "sandbox failed: bwrap: setting up uid map: Permission denied"
    assert calls["n"] == 4  # no program for the answer without code


def test_code_that_exits_before_its_tests_does_not_pass(tmp_path):
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark
    from evalscope.eval.scoring import ScoreContext

    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:9/v1",
        datasets=["humaneval"],
        dataset_args={"humaneval": {"local_path": str(FIXTURES / "humaneval")}},
        limit=1,
    )
    bench = get_benchmark("humaneval")
    sample = load_benchmark(bench, cfg).samples[0]
    cheat = "```python\nimport sys\n\ndef has_close_elements(numbers, threshold):\n    return True\n\nsys.exit(0)\n```"
    right = f"```python\n{sample.metadata['prompt']}{sample.target}```"

    async def score_both():
        ctx = ScoreContext(cfg)
        return [await bench.scorer.score(sample, text, ctx) for text in (cheat, right)]  # type: ignore[call-arg]

    cheated, honest = asyncio.run(score_both())
    assert cheated.value == 0.0 and cheated.details["exit_code"] == 0
    assert cheated.details["reason"] == "the program exited before the tests ran to the end"
    assert honest.value == 1.0 and "reason" not in honest.details and honest.details["stdout"] == ""


MBPP_RIGHT_11 = """```python
def remove_Occ(s, ch):
    first = s.find(ch)
    if first == -1:
        return s
    s = s[:first] + s[first + 1:]
    last = s.rfind(ch)
    return s[:last] + s[last + 1:] if last != -1 else s
```"""
MBPP_WRONG_12 = "[BEGIN]\ndef sort_matrix(M):\n    return M\n[DONE]"
MBPP_RIGHT_13 = (
    "from collections import Counter\ndef count_common(words):\n"
    "    return Counter(words).most_common(4)\n\nassert count_common(['a']) == 'my own wrong guess'\n[DONE]"
)


def test_mbpp_few_shot_prompt_and_scripted_answers(mock_server, tmp_path):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match='assert remove_Occ("hello","l")', reply=MBPP_RIGHT_11),
            ScriptedAnswer(match="assert sort_matrix(", reply=MBPP_WRONG_12),
            ScriptedAnswer(match="assert count_common(", reply=MBPP_RIGHT_13),
        ]
    )
    out = run_task(
        _cfg(
            srv,
            tmp_path,
            datasets=["mbpp"],
            dataset_args={"mbpp": {"local_path": str(FIXTURES / "mbpp"), "review_timeout": 5}},
        )
    )
    rep = out["result"]["mbpp"]
    assert rep["counts"] == {"correct": 2, "wrong": 1, "unparsed": 0, "truncated": 0, "error": 0}
    assert rep["score"] == 0.6667
    lines = _predictions(out["output_dir"], "mbpp")
    assert [lines[f"full/{i}"]["state"] for i in range(3)] == ["correct", "wrong", "correct"]
    prompt = lines["full/0"]["messages"][-1]["content"]
    # EvalScope's 3-shot prompt: the paper's tasks 2-4 solved, then the task, ending in [BEGIN]
    assert prompt.startswith(
        "You are an expert Python programmer, and here is your task: Write a function to find the similar"
    )
    assert prompt.count("[DONE]") == 3 and prompt.endswith("[BEGIN]\n")
    assert "is_not_prime" in prompt and "heap_queue_largest" in prompt
    assert lines["full/1"]["details"]["exit_code"] == 1


def test_all_164_humaneval_canonical_solutions_pass_through_the_mock(mock_server, tmp_path, shared_datasets):
    data = shared_datasets / "humaneval"
    rows = [json.loads(x) for x in (data / "HumanEval.jsonl").read_text().splitlines()]
    # each problem's canonical solution (a bare body) is the model's answer to it
    answers = [ScriptedAnswer(match=r["prompt"], reply=r["canonical_solution"]) for r in rows]
    srv = mock_server(answers=answers)
    out = run_task(
        _cfg(
            srv,
            tmp_path,
            dataset_args={"humaneval": {"local_path": str(data)}},
            eval_batch_size=8,
        )
    )
    rep = out["result"]["humaneval"]
    assert rep["counts"] == {"correct": 164, "wrong": 0, "unparsed": 0, "truncated": 0, "error": 0}
    assert rep["score"] == 1.0


def test_the_unsafe_backend_is_only_an_explicit_choice():
    base = dict(model="m", api_url="http://127.0.0.1:9/v1", datasets=["humaneval"])
    assert TaskConfig(**base).sandbox_type == "bwrap"
    assert TaskConfig(**base, sandbox_type="docker").sandbox_type == "bwrap"
    assert TaskConfig(**base, use_sandbox=False).sandbox_type == "bwrap"  # never a silent fallback
    assert TaskConfig(**base, sandbox_type="unsafe_no_isolation").sandbox_type == "unsafe_no_isolation"
    with pytest.raises(ValueError, match="sandbox_type"):
        TaskConfig(**base, sandbox_type="none")
    with pytest.raises(ValueError, match="sandbox: manager_config not supported yet"):
        TaskConfig(**base, sandbox={"manager_config": {"base_url": "tcp://docker:2375"}})


def test_check_names_the_setting_and_what_to_install(monkeypatch, tmp_path):
    from evalscope.eval.benchmarks import get_benchmark

    monkeypatch.setenv("EVALSCOPE_BWRAP", str(tmp_path / "missing"))
    cfg = TaskConfig(model="m", api_url="http://127.0.0.1:9/v1", datasets=["mbpp"])
    with pytest.raises(ValueError, match=r"^sandbox_type: bwrap: the code sandbox needs bubblewrap") as info:
        get_benchmark("mbpp").scorer.check(cfg)  # type: ignore[union-attr]
    assert "unsafe_no_isolation" in str(info.value)  # the opt-out is named


def test_the_unsafe_backend_scores_the_same_and_says_so_in_the_log(mock_server, tmp_path):
    # the scripted programs are ours (trusted): the explicit opt-in runs them as plain subprocesses
    srv = mock_server(answers=humaneval_answers())
    out = run_task(_cfg(srv, tmp_path, sandbox_type="unsafe_no_isolation"))
    rep = out["result"]["humaneval"]
    assert rep["score"] == 0.2 and rep["counts"] == EXPECTED_COUNTS
    _check_humaneval_lines(_predictions(out["output_dir"]))
    log = (Path(out["output_dir"]) / "logs" / "run.log").read_text()
    assert "SANDBOX DISABLED (sandbox_type unsafe_no_isolation)" in log


def test_mbpp_real_data_splits_few_shot_and_canonical_solutions(shared_datasets):
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark
    from evalscope.eval.scoring import ScoreContext

    cfg = TaskConfig(
        model="m", api_url="http://127.0.0.1:9/v1", datasets=["mbpp"], dataset_dir=str(shared_datasets)
    )
    bench = get_benchmark("mbpp")
    samples = load_benchmark(bench, cfg).samples
    assert len(samples) == 500  # task ids 11-510 of the one-file layout
    assert [samples[0].metadata["task_id"], samples[-1].metadata["task_id"]] == [11, 510]
    prompt = samples[0].messages[-1]["content"]  # type: ignore[index]
    assert prompt.count("[DONE]") == 3 and "similar_elements" in prompt and "min_cost" not in prompt
    # canonical solutions as answers: a spread of tasks, and the two with setup code (367: a Node tree)
    chosen = [s for s in samples if s.metadata["task_id"] in (11, 100, 200, 300, 367, 400, 500)]

    async def score_all():
        ctx = ScoreContext(cfg)
        return [await bench.scorer.score(s, s.target, ctx) for s in chosen]  # type: ignore[call-arg]

    assert [r.value for r in asyncio.run(score_all())] == [1.0] * len(chosen)
