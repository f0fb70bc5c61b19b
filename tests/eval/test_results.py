"""The eval engine's typed results against the files and answers users read: a report JSON and a
predictions line keep today's keys in today's order, ``read_run`` gives back what ``run_task``
returned, and scorers are typed callables returning a ``Score``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from evalscope.eval import EvalRun, SampleResult, Score, TaskConfig, read_run, run_task
from evalscope.eval.benchmarks import Sample, get_benchmark
from evalscope.eval.benchmarks.base import _REGISTRY
from evalscope.eval.scoring import judge, score_numeric
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"

#: the keys users read, in the order they are written (golden lists: a change here is a breaking change)
REPORT_KEYS = [
    "name",
    "dataset_name",
    "dataset_pretty_name",
    "model_name",
    "score",
    "metrics",
    "stderr",
    "coverage",
    "num_scored",
    "counts",
    "subsets",
    "usage",
    "timing",
    "files",
]
METRIC_KEYS = ["name", "num", "score", "macro_score", "categories"]
CATEGORY_KEYS = ["name", "num", "score", "macro_score", "subsets"]
SUBSET_KEYS = ["name", "num", "score", "stderr", "coverage", "counts"]
COUNT_KEYS = ["correct", "wrong", "unparsed", "truncated", "error"]
USAGE_KEYS = ["prompt_tokens", "completion_tokens", "total_tokens"]
TIMING_KEYS = ["duration_s", "requests_asked", "samples_per_s"]
SAMPLE_KEYS = [
    "id",
    "subset",
    "prompt_hash",
    "messages",
    "target",
    "output",
    "reasoning",
    "finish_reason",
    "extracted",
    "state",
    "score",
    "metrics",
    "usage",
    "latency",
    "attempts",
    "error",
    "error_reason",
    "metadata",
]
RUN_KEYS = ["output_dir", "result", "warnings", "error_counts"]


def _cfg(srv, tmp_path, **kw) -> TaskConfig:
    base = dict(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=["gsm8k"],
        dataset_args={"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        eval_batch_size=2,
        max_retries=0,
        timeout=30,
        work_dir=str(tmp_path / "out"),
    )
    base.update(kw)
    return TaskConfig(**base)


def test_report_and_prediction_keys_and_read_run_round_trip(mock_server, tmp_path):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="Tom has 3", reply="\\boxed{7}"),
            ScriptedAnswer(match="Ben saves", status=500),
            ScriptedAnswer(match="", reply="\\boxed{0}"),
        ]
    )
    result = run_task(_cfg(srv, tmp_path, api_key="sk-test-123"))
    out = Path(result["output_dir"])
    assert list(result) == RUN_KEYS
    assert result["error_counts"] == {"total": 6, "failed": 1, "by_reason": {"http_500": 1}}
    assert result["warnings"] == [
        "gsm8k: 1 of 6 samples failed (no answer after 0 retries); the score covers the other 5"
    ]

    on_disk = json.loads((out / "reports" / "mock-model" / "gsm8k.json").read_text())
    assert list(on_disk) == REPORT_KEYS
    assert list(on_disk["metrics"][0]) == METRIC_KEYS
    assert list(on_disk["metrics"][0]["categories"][0]) == CATEGORY_KEYS
    assert list(on_disk["subsets"][0]) == SUBSET_KEYS
    assert list(on_disk["counts"]) == COUNT_KEYS
    assert list(on_disk["usage"]) == USAGE_KEYS and list(on_disk["timing"]) == TIMING_KEYS
    assert on_disk == result["result"]["gsm8k"]  # the answer holds the file's report
    assert on_disk["counts"] == {"correct": 1, "wrong": 4, "unparsed": 0, "truncated": 0, "error": 1}

    lines = (out / "predictions" / "mock-model" / "gsm8k.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    for line in lines:
        assert list(json.loads(line)) == SAMPLE_KEYS
        assert SampleResult.model_validate_json(line).to_json() == line  # typed and back: the same bytes
    failed = [json.loads(x) for x in lines if json.loads(x)["state"] == "error"]
    assert len(failed) == 1 and failed[0]["error_reason"] == "http_500" and failed[0]["output"] is None

    run = read_run(out)
    assert isinstance(run, EvalRun)
    # read back from the folder: the same JSON the run returned (keys, order and numbers)
    assert json.dumps(run.to_json()) == json.dumps(result)
    assert [s.id for s in run.samples("gsm8k")] == [json.loads(x)["id"] for x in lines]
    assert run.config["api_key"] == "***" and run.models == ["mock-model"]
    rep = run.result["gsm8k"]
    assert rep.counts["correct"] == 1 and rep.num_scored == 5 and rep.score == on_disk["score"]


def test_read_run_refuses_a_folder_without_reports(tmp_path):
    from evalscope.eval.results import RunReadError

    with pytest.raises(RunReadError, match="not an eval run"):
        read_run(tmp_path)
    bad = tmp_path / "reports" / "m"
    bad.mkdir(parents=True)
    (bad / "x.json").write_text(json.dumps({"score": "high", "dataset_name": "x", "model_name": "m"}))
    with pytest.raises(RunReadError, match="x.json: score"):
        read_run(tmp_path)


def _s(target: str) -> Sample:
    return Sample(id="x/0", input="q", target=target)


def test_typed_scorer_decides_the_state():
    def half(sample: Sample, text: str, /) -> Score:
        if "?" in text:
            return Score(extracted=None, value=0.0)
        return Score(
            extracted=text.strip(),
            value=1.0 if text.strip() == sample.target else 0.5,
            metrics={"len": float(len(text))},
        )

    assert judge(half, _s("a"), "a", "stop").state == "correct"
    partial = judge(half, _s("a"), "bb", "stop")
    assert (partial.state, partial.score, partial.extracted, partial.metrics) == (
        "wrong",
        0.5,
        "bb",
        {"len": 2.0},
    )
    assert judge(half, _s("a"), "??", "stop").state == "unparsed"
    cut = judge(half, _s("a"), "a", "length")
    assert (cut.state, cut.score, cut.extracted) == ("truncated", 0.0, "a")
    assert judge(half, _s("a"), None, None, failed=True).state == "error"
    # a built-in scorer is such a callable too
    assert score_numeric(_s("1,200"), "\\boxed{1200}") == Score(extracted="1200", value=1.0)
    with pytest.raises(ValidationError):
        Score(extracted="x", value="not a number")


def test_a_benchmark_runs_with_the_scorer_it_declares(mock_server, tmp_path, monkeypatch):
    """The engine calls the declared callable: its score and metrics land in the files."""
    calls = []

    def by_length(sample: Sample, text: str, /) -> Score:
        calls.append(sample.id)
        return Score(extracted=text, value=0.25, metrics={"chars": float(len(text))})

    monkeypatch.setitem(_REGISTRY, "gsm8k", dataclasses.replace(get_benchmark("gsm8k"), scorer=by_length))
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="four")])
    result = run_task(_cfg(srv, tmp_path))
    rep = result["result"]["gsm8k"]
    assert len(calls) == 6
    assert rep["score"] == 0.25 and rep["counts"]["wrong"] == 6
    line = json.loads(
        Path(result["output_dir"], "predictions", "mock-model", "gsm8k.jsonl").read_text().splitlines()[0]
    )
    assert line["score"] == 0.25 and line["metrics"] == {"chars": 4.0} and line["extracted"] == "four"
