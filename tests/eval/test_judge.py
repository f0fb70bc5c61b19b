"""LLM-as-judge (issue 15.3): two mock servers, the model under test and the judge, with scripted
verdicts (right, wrong, not attempted, garbage, HTTP 500, refused). Exact states, simple_qa's
metrics and F-score, llm / llm_recall / auto on general_qa, resume without asking the judge twice,
and the judge's key kept out of every file the run writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalscope.errors import RunFailed
from evalscope.eval import TaskConfig, run_task
from evalscope.eval.judge import SIMPLE_QA, VerdictError, generic_template
from evalscope.eval.runner import EvalError
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
JUDGE_KEY = "sk-judge-7f3a9c21e5b4d8"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"

# the model's answer to each fixture question
ANSWERS = {
    "Red Planet": "Mars",
    "element gold": "Ag",
    "Moby-Dick": "I don't know.",
    "Berlin Wall": "<think>East Germany opened it in November.</think>1989",
    "Australia": "Sydney",
    "moons does Mars": "Two",
}


def verdict(label: str, why: str = "compared with the gold target") -> str:
    return json.dumps({"reasoning": why, "verdict": label})


def judge_answers(garbage_then_ok: bool = False, fail_500: int | None = None) -> list[ScriptedAnswer]:
    """Verdicts by the predicted answer the judge is shown (the answer after "Predicted answer: ")."""
    sydney = (
        ScriptedAnswer(match="Predicted answer: Sydney\n", replies=["I think it is wrong.", verdict("B")])
        if garbage_then_ok
        else ScriptedAnswer(match="Predicted answer: Sydney\n", reply="I think it is wrong.")
    )
    two = ScriptedAnswer(match="Predicted answer: Two\n", reply=verdict("A"), status=500)
    if fail_500 is not None:
        two = ScriptedAnswer(
            match="Predicted answer: Two\n", reply=verdict("A"), status=500, fail_times=fail_500
        )
    return [
        ScriptedAnswer(match="Predicted answer: Mars\n", reply=verdict("A", "Mars is the Red Planet")),
        ScriptedAnswer(
            match="Predicted answer: Ag\n", reply="```json\n" + verdict("B", "Ag is silver") + "\n```"
        ),
        ScriptedAnswer(match="Predicted answer: I don't know.\n", reply=verdict("C")),
        ScriptedAnswer(match="Predicted answer: 1989\n", reply="<think>matches</think>" + verdict("A")),
        sydney,
        two,
    ]


def _model(mock_server):
    return mock_server(answers=[ScriptedAnswer(match=k, reply=v) for k, v in ANSWERS.items()])


def _cfg(model, judge_url: str, tmp_path, **kw) -> TaskConfig:
    fields = dict(
        model="mock-model",
        api_url=model.url + "/v1",
        datasets=["simple_qa"],
        dataset_args={"simple_qa": {"local_path": str(FIXTURES / "simpleqa")}},
        eval_batch_size=3,
        max_retries=0,
        work_dir=str(tmp_path / "out"),
        judge_model_args={
            "model_id": "judge-model",
            "api_url": judge_url,
            "api_key": JUDGE_KEY,
            "max_retries": 0,
        },
    )
    fields.update(kw)
    return TaskConfig(**fields)


def _lines(run_dir: Path, bench: str = "simple_qa") -> dict[str, dict]:
    path = run_dir / "predictions" / "mock-model" / f"{bench}.jsonl"
    return {x["target"]: x for x in map(json.loads, path.read_text().splitlines())}


def _asked(srv) -> int:
    return sum(srv.stats()["prompts"].values())


def _no_key_in(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            assert JUDGE_KEY not in f.read_text(errors="replace"), f


def test_simple_qa_states_metrics_f_score_and_resume(mock_server, tmp_path):
    model = _model(mock_server)
    judge = mock_server(
        api_key=JUDGE_KEY, record_requests=True, answers=judge_answers(garbage_then_ok=True, fail_500=1)
    )
    out = run_task(_cfg(model, judge.url + "/v1", tmp_path))
    rep = out["result"]["simple_qa"]
    assert rep["counts"] == {"correct": 2, "wrong": 2, "unparsed": 0, "truncated": 0, "error": 2}
    metrics = {m["name"]: m["score"] for m in rep["metrics"]}
    # 4 answered: 2 correct, 1 incorrect, 1 not attempted; F = 2 * (2/3) * (1/2) / (2/3 + 1/2) = 4/7
    assert metrics == {
        "is_correct": 0.5,
        "is_incorrect": 0.25,
        "is_not_attempted": 0.25,
        "correct_given_attempted": 0.6667,
        "f1": 0.5714,
    }
    assert rep["score"] == 0.5 and rep["coverage"] == round(4 / 6, 4)
    assert out["error_counts"]["by_reason"] == {"scorer": 2}

    run_dir = Path(out["output_dir"])
    lines = _lines(run_dir)
    mars = lines["Mars"]
    assert mars["state"] == "correct" and mars["extracted"] == "Mars"
    assert mars["details"]["verdict"] == "A" and mars["details"]["grade"] == "CORRECT"
    assert (
        mars["details"]["reasoning"] == "Mars is the Red Planet"
        and mars["details"]["judge_model"] == "judge-model"
    )
    assert (
        mars["details"]["judge_usage"]["prompt_tokens"] > 0
        and mars["details"]["judge_usage"]["completion_tokens"] > 0
    )
    assert lines["Au"]["state"] == "wrong" and lines["Au"]["details"]["grade"] == "INCORRECT"
    assert (
        lines["Herman Melville"]["state"] == "wrong"
        and lines["Herman Melville"]["details"]["grade"] == "NOT_ATTEMPTED"
    )
    assert lines["Herman Melville"]["metrics"] == {
        "is_correct": 0.0,
        "is_incorrect": 0.0,
        "is_not_attempted": 1.0,
    }
    assert (
        lines["1989"]["state"] == "correct"
    )  # the model's <think> is not shown to the judge, the judge's is skipped
    garbage = lines["Canberra"]
    assert garbage["state"] == "error" and garbage["error_reason"] == "scorer"
    assert garbage["error"].startswith("judge verdict unparsable: no JSON object in the reply")
    assert garbage["details"]["judge_output"] == "I think it is wrong." and garbage["output"] == "Sydney"
    failed = lines["2"]
    assert failed["state"] == "error" and failed["error"].startswith("judge request failed (http_500)")
    assert failed["details"]["judge_error_reason"] == "http_500"

    # the judge's work in the report: 6 verdicts asked, 2 failed, its tokens summed from the samples
    j = rep["judge"]
    tokens = [x["details"].get("judge_usage", {}) for x in lines.values()]
    assert j["models"] == ["judge-model"] and j["requests"] == 6 and j["failed"] == 2
    assert j["prompt_tokens"] == sum(t.get("prompt_tokens", 0) for t in tokens) > 0
    assert j["total_tokens"] == j["prompt_tokens"] + j["completion_tokens"]
    assert rep["usage"]["prompt_tokens"] > 0  # the model's own usage stays apart

    # the judge saw the SimpleQA grader, the question, the gold target and the reply contract
    seen = {r["messages"][-1]["content"] for r in judge.requests()}
    mars_prompt = next(p for p in seen if "Predicted answer: Mars\n" in p)
    assert (
        "Question: Which planet of the Solar System is known as the Red Planet?\nGold target: Mars\n"
        in mars_prompt
    )
    assert mars_prompt.startswith("Your job is to look at a question, a gold target, and a predicted answer")
    assert mars_prompt.endswith('- "reasoning": a string\n- "verdict": exactly one of "A" or "B" or "C"')
    assert any("Predicted answer: 1989\n" in p for p in seen)

    # resume: the model is not asked again; the judge only for the two failed verdicts
    # (the judge's counters are not reset: that would also restart its scripted failures)
    model.reset_stats()
    before = _asked(judge)
    again = run_task(_cfg(model, judge.url + "/v1", tmp_path, use_cache=str(run_dir)))
    assert _asked(model) == 0 and _asked(judge) - before == 2
    rep2 = again["result"]["simple_qa"]
    assert rep2["counts"] == {"correct": 3, "wrong": 3, "unparsed": 0, "truncated": 0, "error": 0}
    m2 = {m["name"]: m["score"] for m in rep2["metrics"]}
    # 3 correct, 2 incorrect, 1 not attempted: given attempted 3/5, F = 2 * .6 * .5 / 1.1
    assert (
        m2["is_correct"] == 0.5 and m2["correct_given_attempted"] == 0.6 and m2["f1"] == round(0.6 / 1.1, 4)
    )
    assert rep2["judge"]["requests"] == 6 and rep2["judge"]["failed"] == 0
    # a third run asks nobody: every verdict is cached with the run
    before = _asked(judge)
    run_task(_cfg(model, judge.url + "/v1", tmp_path, use_cache=str(run_dir)))
    assert _asked(judge) == before and _asked(model) == 0

    # the sample browser of report.html carries each sample's details (verdict, reasoning, tokens)
    import re

    html = (run_dir / "report.html").read_text(encoding="utf-8")
    island = re.search(r'<script type="application/json" id="samples">(.*?)</script>', html, re.S)
    assert island is not None
    shown = {x["gold"]: x["details"] for x in json.loads(island.group(1))}
    assert shown["Mars"]["reasoning"] == "Mars is the Red Planet" and shown["Mars"]["grade"] == "CORRECT"
    assert shown["Mars"]["judge_usage"] == mars["details"]["judge_usage"]
    assert shown["Canberra"]["verdict"] == "B" and "judge_output" not in shown["Canberra"]  # resumed: judged

    # the judge's key is in no file of the run (config.json redacts it; logs, predictions, reports)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["judge_model_args"]["api_key"] == "***" and config["judge_strategy"] == "auto"
    _no_key_in(run_dir)

    # another judge model on resume grades every answer again (its verdicts are not the old judge's);
    # the model is still not asked
    before = _asked(judge)
    other = _cfg(model, judge.url + "/v1", tmp_path, use_cache=str(run_dir))
    other.judge_model_args = other.judge_model_args.model_copy(update={"model_id": "judge-model-2"})
    regraded = run_task(other)
    assert _asked(judge) - before == 6 and _asked(model) == 0
    assert {x["details"]["judge_model"] for x in _lines(run_dir).values()} == {"judge-model-2"}
    assert regraded["result"]["simple_qa"]["counts"]["correct"] == 3


def test_a_judge_that_cannot_be_reached_fails_the_run_before_the_model_is_asked(
    mock_server, dead_port, tmp_path
):
    model = _model(mock_server)
    with pytest.raises(RunFailed) as info:
        run_task(_cfg(model, f"http://127.0.0.1:{dead_port}/v1", tmp_path))
    message = str(info.value)
    assert message.startswith(
        "simple_qa: judge model judge-model: cannot reach the model at http://127.0.0.1:"
    )
    assert message.endswith("connection refused")
    assert _asked(model) == 0  # the connection test spared the model's tokens


def test_a_judge_that_refuses_connections_makes_every_sample_an_error(mock_server, dead_port, tmp_path):
    model = _model(mock_server)
    with pytest.raises(RunFailed) as info:  # the judge's connection test off: each sample finds out
        run_task(_cfg(model, f"http://127.0.0.1:{dead_port}/v1", tmp_path, no_test_connection=True))
    message = str(info.value)
    assert message.startswith("no sample could be scored: the scorer failed on all 6 answers (scorer x6)")
    assert "judge request failed (connection)" in message
    run_dir = Path(info.value.output_dir or "")
    lines = _lines(run_dir)
    assert {x["state"] for x in lines.values()} == {"error"}
    assert {x["details"]["judge_error_reason"] for x in lines.values()} == {"connection"}
    assert all(x["output"] for x in lines.values())  # the model's answers are kept for a resume
    _no_key_in(run_dir)


def test_a_judge_without_judge_model_args_is_refused_before_any_request():
    from pydantic import ValidationError

    base = dict(model="m", api_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValidationError, match="judge_model_args: required: simple_qa is graded by a judge"):
        TaskConfig(**base, datasets=["simple_qa"])
    with pytest.raises(ValidationError, match="judge_model_args: required: gsm8k is graded by a judge"):
        TaskConfig(**base, datasets=["gsm8k"], judge_strategy="llm")
    for strategy in ("rule", "llm_recall"):
        with pytest.raises(
            ValidationError, match=f"judge_strategy: simple_qa has no rule-based scoring, so '{strategy}'"
        ):
            TaskConfig(
                **base,
                datasets=["simple_qa"],
                judge_strategy=strategy,
                judge_model_args={"model_id": "j", "api_url": "http://127.0.0.1:9/v1"},
            )
    # EvalScope's empty default means no judge; rule benchmarks need none
    assert TaskConfig(**base, datasets=["gsm8k"], judge_model_args={}).judge_model_args is None
    with pytest.raises(ValidationError, match="prompt_template"):
        TaskConfig(
            **base,
            datasets=["general_qa"],
            judge_model_args={"model_id": "j", "api_url": "http://h/v1", "prompt_template": "no placeholder"},
        )
    with pytest.raises(ValidationError, match="score_pattern"):
        TaskConfig(
            **base,
            datasets=["general_qa"],
            judge_model_args={"model_id": "j", "api_url": "http://h/v1", "score_pattern": "x"},
        )
    with pytest.raises(ValidationError, match="api_url"):
        TaskConfig(
            **base,
            datasets=["general_qa"],
            judge_model_args={"model_id": "j", "api_url": "file:///etc/passwd"},
        )
    # EvalScope's spelling and ours
    cfg = TaskConfig(
        **base,
        datasets=["simple_qa"],
        judge_worker_num=4,
        judge_model_args={"model": "j", "api_url": "http://h/v1"},
    )
    assert cfg.judge_model_args is not None and cfg.judge_model_args.model_id == "j"
    assert cfg.judge_model_args.generation_config.max_tokens == 4096


QA = {
    "中国的首都是哪里": "北京",  # rule: recall of "中国的首都是北京" < 1 -> the judge under llm_recall
    "最高的山": "是珠穆朗玛峰",  # rule: every reference unit in order -> correct, judge not asked
    "color is the sky": "Blue, of course.",  # rule: "the sky is blue" recall 1/4 ... -> judge
}


def _qa_run(mock_server, tmp_path, strategy: str, judge_answers: list[ScriptedAnswer], **kw):
    model = mock_server(answers=[ScriptedAnswer(match=k, reply=v) for k, v in QA.items()])
    judge = mock_server(record_requests=True, answers=judge_answers)
    cfg = TaskConfig(
        model="mock-model",
        api_url=model.url + "/v1",
        datasets=["general_qa"],
        dataset_args={"general_qa": {"local_path": str(FIXTURES / "general_qa")}},
        max_retries=0,
        work_dir=str(tmp_path / strategy),
        judge_strategy=strategy,
        judge_model_args={"model_id": "judge-model", "api_url": judge.url + "/v1", "max_retries": 0, **kw},
    )
    out = run_task(cfg)
    return out, judge, _lines(Path(out["output_dir"]), "general_qa")


GENERIC = [
    ScriptedAnswer(match="[Predicted Answer]\n北京", reply=verdict("A")),
    ScriptedAnswer(match="[Predicted Answer]\nBlue, of course.", reply=verdict("B")),
    ScriptedAnswer(match="[Predicted Answer]\n是珠穆朗玛峰", reply=verdict("A")),
]


def test_general_qa_llm_recall_asks_the_judge_only_for_the_rule_misses(mock_server, tmp_path):
    out, judge, lines = _qa_run(mock_server, tmp_path, "llm_recall", GENERIC)
    asked = [r["messages"][-1]["content"] for r in judge.requests()]
    assert len(asked) == 2 and not any("珠穆朗玛峰" in a for a in asked)
    rep = out["result"]["general_qa"]
    assert rep["metrics"][0]["name"] == "Rouge-L-R"  # the rule's metric; the judge can only raise it
    assert lines["中国的首都是北京"]["state"] == "correct" and lines["中国的首都是北京"]["score"] == 1.0
    assert lines["中国的首都是北京"]["details"]["verdict"] == "A"
    assert "Rouge-L-P" in lines["中国的首都是北京"]["metrics"]  # the rule's metrics are kept
    sky = lines["The sky is blue"]
    assert sky["state"] == "wrong" and sky["score"] == 0.25 and sky["details"]["grade"] == "INCORRECT"
    mountain = lines["是珠穆朗玛峰"]
    assert mountain["state"] == "correct" and "details" not in mountain  # the rule was enough
    assert rep["judge"]["requests"] == 2
    # the generic grader: EvalScope's prompt with question, reference and answer
    first = next(a for a in asked if "北京\n" in a)
    assert first.startswith("Your job is to look at a question, a gold target, and a predicted answer")
    assert (
        "[Question]\n中国的首都是哪里？\n\n[Reference Answer]\n中国的首都是北京\n\n[Predicted Answer]\n北京\n"
        in first
    )
    assert first.endswith('- "verdict": exactly one of "A" or "B"')


def test_general_qa_llm_grades_every_answer_and_auto_stays_rule(mock_server, tmp_path):
    out, judge, lines = _qa_run(
        mock_server, tmp_path, "llm", GENERIC, system_prompt="You are a strict grader."
    )
    assert len(judge.requests()) == 3
    assert all(
        r["messages"][0] == {"role": "system", "content": "You are a strict grader."}
        for r in judge.requests()
    )
    rep = out["result"]["general_qa"]
    assert [m["name"] for m in rep["metrics"]] == ["AverageAccuracy"]
    assert rep["score"] == round(2 / 3, 4) and rep["counts"]["correct"] == 2 and rep["counts"]["wrong"] == 1
    assert lines["中国的首都是北京"]["metrics"] == {}  # no ROUGE under the judge alone

    # auto: general_qa is a rule benchmark; a judge model given does not turn judging on (EvalScope)
    out, judge, lines = _qa_run(mock_server, tmp_path, "auto", GENERIC)
    assert judge.requests() == [] and "judge" not in out["result"]["general_qa"]
    assert out["result"]["general_qa"]["metrics"][0]["name"] == "Rouge-L-R"


def test_score_mapping_and_prompt_template_shape_the_generic_grader(mock_server, tmp_path):
    out, judge, lines = _qa_run(
        mock_server,
        tmp_path,
        "llm",
        [ScriptedAnswer(match="", reply=verdict("PARTIAL"))],
        prompt_template="Grade {pred} against {gold}. Labels: FULL, PARTIAL, NONE.",
        score_mapping={"FULL": 1.0, "PARTIAL": 0.5, "NONE": 0.0},
    )
    assert {x["score"] for x in lines.values()} == {0.5} and out["result"]["general_qa"]["score"] == 0.5
    prompt = judge.requests()[0]["messages"][-1]["content"]
    assert prompt.startswith("Grade ") and 'exactly one of "FULL" or "NONE" or "PARTIAL"' in prompt


def test_prompt_template_from_a_file(mock_server, tmp_path):
    tpl = tmp_path / "grader.txt"
    tpl.write_text("From a file: grade {pred}.", encoding="utf-8")
    _, judge, _ = _qa_run(
        mock_server,
        tmp_path,
        "llm",
        [ScriptedAnswer(match="", reply=verdict("A"))],
        prompt_template=f"@{tpl}",
    )
    assert judge.requests()[0]["messages"][-1]["content"].startswith("From a file: grade ")
    # a file without {pred}, or none at all, stops the run before any request, naming the field
    tpl.write_text("no placeholder", encoding="utf-8")
    for value in (f"@{tpl}", f"@{tmp_path / 'missing.txt'}"):
        with pytest.raises(EvalError, match="judge_model_args.prompt_template"):
            _qa_run(mock_server, tmp_path, "llm", [], prompt_template=value)


@pytest.mark.parametrize(
    "reply, why",
    [
        ('{"reasoning": "ok", "verdict": "A"}', None),
        ('Sure.\n```json\n{"reasoning": "ok", "verdict": "C"}\n```', None),
        ('<think>{"verdict": "B"}</think>{"verdict": "A"}', None),  # a judge's thinking is not its reply
        ('{"verdict": "A", "extra": 1}', None),
        ("", "empty reply"),
        ("CORRECT", "no JSON object in the reply"),
        ('{"verdict": "A"} {"verdict": "B"}', "2 JSON objects where exactly one is required"),
        ('{"verdict": "a"}', "verdict 'a' is not one of A, B, C"),
        ('{"verdict": "CORRECT"}', "verdict 'CORRECT' is not one of A, B, C"),
        ('{"reasoning": "no verdict"}', "verdict None is not one of A, B, C"),
        ('{"verdict": "A", "reasoning": 3}', "reasoning is not a string"),
        ('{"verdict": "A",}', "reply is not valid JSON"),
        ('["A"]', "no JSON object in the reply"),
    ],
)
def test_verdicts_are_parsed_strictly(reply, why):
    if why is None:
        label, _ = SIMPLE_QA.parse(reply)
        assert label in "ABC"
    else:
        with pytest.raises(VerdictError, match=why):
            SIMPLE_QA.parse(reply)


def test_template_placeholders_are_filled_once():
    t = generic_template("Q: {question} G: {gold} P: {pred}")
    msg = t.messages("what is {gold}?", "42", "the answer is {pred}")[-1]["content"]
    assert msg.startswith("Q: what is {gold}? G: 42 P: the answer is {pred}\n\nReply with a single JSON")


@pytest.mark.skipif(not (SHARED / "simpleqa").is_dir(), reason="../shared/datasets/simpleqa is not present")
def test_simple_qa_real_data_loads():
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark

    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:9/v1",
        datasets=["simple_qa"],
        dataset_dir=str(SHARED),
        judge_model_args={"model_id": "j", "api_url": "http://127.0.0.1:9/v1"},
    )
    lb = load_benchmark(get_benchmark("simple_qa"), cfg)
    assert len(lb.samples) == 4326
    first = lb.samples[0]
    assert (
        first.input == "Who received the IEEE Frank Rosenblatt Award in 2010?"
        and first.target == "Michio Sugeno"
    )
    assert first.metadata["topic"] == "Science and technology" and first.metadata["answer_type"] == "Person"
    assert first.messages == [
        {
            "role": "user",
            "content": "Answer the question:\n\nWho received the IEEE Frank Rosenblatt Award in 2010?",
        }
    ]


def test_simple_qa_from_the_command_line(mock_server, evalscope_cli, tmp_path):
    model = _model(mock_server)
    judge = mock_server(api_key=JUDGE_KEY, answers=judge_answers())
    args = [
        "eval",
        "--model",
        "mock-model",
        "--api-url",
        model.url + "/v1",
        "--datasets",
        "simple_qa",
        "--dataset-args",
        json.dumps({"simple_qa": {"local_path": str(FIXTURES / "simpleqa")}}),
        "--max-retries",
        "0",
        "--work-dir",
        str(tmp_path / "out"),
    ]
    judge_args = {
        "model_id": "judge-model",
        "api_url": judge.url + "/v1",
        "api_key": JUDGE_KEY,
        "max_retries": 0,
    }
    done = evalscope_cli(*args, "--judge-model-args", json.dumps(judge_args), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rep = result["result"]["simple_qa"]
    assert rep["counts"] == {"correct": 2, "wrong": 2, "unparsed": 0, "truncated": 0, "error": 2}
    assert {m["name"]: m["score"] for m in rep["metrics"]}["f1"] == 0.5714
    assert JUDGE_KEY not in done.stdout + done.stderr
    _no_key_in(Path(result["output_dir"]))

    # no judge model: refused before any request, naming the flag
    done = evalscope_cli(*args)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --judge-model-args: required: simple_qa is graded by a judge model")
    done = evalscope_cli(*args, "--judge-strategy", "rule", "--judge-model-args", json.dumps(judge_args))
    assert done.returncode == 2 and done.stderr.startswith(
        "error: --judge-strategy: simple_qa has no rule-based"
    )
    done = evalscope_cli(*args, "--judge-model-args", "{not json")
    assert done.returncode == 2 and done.stderr.startswith("error: --judge-model-args: not valid JSON")
