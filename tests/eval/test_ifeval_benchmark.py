"""The ``ifeval`` benchmark end to end against the mock: scripted answers on fixture rows in the
real format give exactly the expected four metrics and state counts; the real file loads (541
prompts) and runs through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalscope.cli import main
from evalscope.eval import TaskConfig, run_task
from evalscope.eval.benchmarks import get_benchmark
from evalscope.eval.loading import load_benchmark
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"

# (substring of the prompt, reply, extra ScriptedAnswer fields, state, strict followed, loose followed)
ROWS = [
    (
        "haiku about rain",
        "Soft rain on the roof\nquiet puddles gather light\nthe street breathes again",
        {},
        "correct",
        1,
        1,
    ),
    ("photosynthesis", "Plants turn light into sugar.\n**Any other questions?**", {}, "wrong", 0, 1),
    ("poem about joy", "<<Morning Light>>\nA poem about joy and the sun rising.", {}, "correct", 2, 2),
    (
        "note to a friend",
        "Sure, here is the note:\nhey sam, thanks for lending me the book last week. i loved every page of it "
        "and will bring it back on friday.",
        {},
        "wrong",
        0,
        1,
    ),
    ("neighbour about their pet", "Dear [name], the dog is here.", {}, "wrong", 0, 0),
    ("sky on a clear day", "blue blue sky", {"finish_reason": "length"}, "truncated", 0, 0),
    ("List three fruits", "", {"status": 500, "retry_after": 0}, "error", 0, 0),
    ("kind about Mondays", "<think>Quotes needed.</think>", {}, "unparsed", 0, 0),
]
INSTRUCTIONS = [1, 1, 2, 1, 3, 1, 1, 1]  # per fixture row, same order


def test_scripted_answers_give_the_four_metrics_exactly(mock_server, tmp_path):
    answers = [ScriptedAnswer(match=m, reply=reply or "unused", **extra) for m, reply, extra, *_ in ROWS]
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    cfg = TaskConfig(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=["ifeval"],
        dataset_args={"ifeval": {"local_path": str(FIXTURES / "ifeval")}},
        eval_batch_size=4,
        max_retries=1,
        timeout=30,
        work_dir=str(tmp_path),
    )
    rep = run_task(cfg)["result"]["ifeval"]

    expected_counts = dict.fromkeys(("correct", "wrong", "unparsed", "truncated", "error"), 0)
    for row in ROWS:
        expected_counts[row[3]] += 1
    assert rep["counts"] == expected_counts
    answered = [(row, n) for row, n in zip(ROWS, INSTRUCTIONS, strict=True) if row[3] != "error"]
    total = sum(n for _, n in answered)  # 10 instructions in 7 answered prompts
    expected = {
        "prompt_level_strict": sum(row[4] == n for row, n in answered) / len(answered),  # 2 / 7
        "inst_level_strict": sum(row[4] for row, _ in answered) / total,  # 3 / 10
        "prompt_level_loose": sum(row[5] == n for row, n in answered) / len(answered),  # 4 / 7
        "inst_level_loose": sum(row[5] for row, _ in answered) / total,  # 5 / 10
    }
    assert expected == pytest.approx(
        {
            "prompt_level_strict": 2 / 7,
            "inst_level_strict": 0.3,
            "prompt_level_loose": 4 / 7,
            "inst_level_loose": 0.5,
        }
    )
    metrics = {m["name"]: m["score"] for m in rep["metrics"]}
    assert list(metrics) == list(expected)  # the main metric first, all four
    assert metrics == pytest.approx(expected, abs=1e-4)
    assert rep["score"] == pytest.approx(expected["prompt_level_strict"], abs=1e-4)

    (pred_file,) = tmp_path.rglob("predictions/mock-model/ifeval.jsonl")
    preds = [json.loads(line) for line in pred_file.read_text(encoding="utf-8").splitlines()]
    by_key = {p["metadata"]["key"]: p for p in preds}
    assert by_key[2]["metrics"]["prompt_level_loose"] == 1.0 and by_key[2]["state"] == "wrong"
    assert by_key[5]["extracted"].startswith("strict 0/3, loose 0/3; missed (strict): punctuation:no_comma")
    assert by_key[1]["target"] == "punctuation:no_comma"


def test_real_file_loads_541_prompts(shared_datasets):
    cfg = TaskConfig(
        model="m", api_url="http://127.0.0.1:1/v1", datasets=["ifeval"], dataset_dir=str(shared_datasets)
    )
    lb = load_benchmark(get_benchmark("ifeval"), cfg)
    assert len(lb.samples) == 541
    assert sum(len(s.metadata["instruction_id_list"]) for s in lb.samples) == 834
    assert len({i for s in lb.samples for i in s.metadata["instruction_id_list"]}) == 25
    first = lb.samples[0]
    assert first.messages == [{"role": "user", "content": first.input}]


def test_real_file_through_the_cli(shared_datasets, mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="My answer is yes.")])
    rc = main(
        [
            "eval",
            "--model", "mock-model",
            "--api-url", srv.url + "/v1",
            "--datasets", "ifeval",
            "--dataset-dir", str(shared_datasets),
            "--limit", "3",
            "--work-dir", str(tmp_path),
        ]
    )  # fmt: skip
    assert rc == 0
    (report,) = tmp_path.rglob("reports/mock-model/ifeval.json")
    rep = json.loads(report.read_text())
    assert sum(rep["counts"].values()) == 3
    assert [m["name"] for m in rep["metrics"]] == [
        "prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose"
    ]  # fmt: skip
