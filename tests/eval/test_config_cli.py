"""TaskConfig validation and the `evalscope eval` / `evalscope benchmarks` command lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from evalscope.cli import main
from evalscope.eval import TaskConfig
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
BASE = {"model": "m", "api_url": "http://127.0.0.1:1/v1", "datasets": ["gsm8k"]}


@pytest.mark.parametrize("limit,expected", [(10, 10), ("10", 10), (0.25, 0.25), ("0.5", 0.5), (None, None)])
def test_limit_count_or_fraction(limit, expected):
    assert TaskConfig(**BASE, limit=limit).limit == expected


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("limit", 0, "limit"),
        ("limit", 1.5, "limit"),
        ("limit", "ten", "limit"),
        ("eval_batch_size", 0, "eval_batch_size"),
        ("datasets", ["nope"], "unknown benchmark 'nope'"),
        ("datasets", [], "datasets"),
        ("generation_config", {"temperature": -1}, "temperature"),
        ("dataset_args", {"gsm8k": {"few_shot": 2}}, "few_shot"),
        ("dataset_args", {"ceval": {"subset_list": ["law", "astrology"]}}, "astrology"),
        ("dataset_args", {"iquiz": {"few_shot_num": 2}}, "no split to take examples from"),
        ("timeout", 0, "timeout"),
        ("dataset_hub", "github", "dataset_hub"),
    ],
)
def test_bad_values_name_the_field(field, value, fragment):
    data = dict(BASE)
    if field == "dataset_args" and "ceval" in value:
        data["datasets"] = ["ceval"]
    if field == "dataset_args" and "iquiz" in value:
        data["datasets"] = ["iquiz"]
    data[field] = value
    with pytest.raises(ValidationError) as info:
        TaskConfig(**data)
    assert fragment in str(info.value)


def test_seed_fields_and_defaults():
    cfg = TaskConfig(
        **BASE, generation_config={"max_tokens": 64, "top_k": 20, "repetition_penalty": 1.1, "stop": "###"}
    )
    assert (
        cfg.api_key == "EMPTY" and cfg.eval_batch_size == 1 and cfg.seed == 42 and cfg.work_dir == "./outputs"
    )
    assert cfg.generation_config.temperature == 0.0 and cfg.generation_config.stop == ["###"]
    assert cfg.generation_config.extra_body() == {"repetition_penalty": 1.1}
    assert TaskConfig(**BASE, api_key="sk-1").redacted()["api_key"] == "***"


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["--limit", "-1"], "--limit"),
        (["--generation-config", "temperature"], "--generation-config"),
        (["--dataset-args", "{bad json"], "--dataset-args"),
        (["--dataset-args", '{"ceval": {"subset_list": ["nope"]}}', "--datasets", "ceval"], "--dataset-args"),
        (["--datasets", "gsm8k", "unknown_bench"], "--datasets"),
        (["--eval-batch-size", "0"], "--eval-batch-size"),
    ],
)
def test_cli_bad_input_exit_2_naming_flag(argv, flag, capsys):
    base = ["eval", "--model", "m", "--api-url", "http://127.0.0.1:1/v1", "--datasets", "gsm8k"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag}: ") and "Traceback" not in err


def test_cli_runs_and_prints_summary(mock_server, tmp_path, capsys):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="Tom has 3", reply="\\boxed{7}"),
            ScriptedAnswer(match="", reply="ANSWER: 0"),
        ]
    )
    args = [
        "eval",
        "--model",
        "mock-model",
        "--api-url",
        srv.url + "/v1/chat/completions",
        "--datasets",
        "gsm8k",
        "iquiz",
        "--dataset-dir",
        str(FIXTURES),
        "--limit",
        "2",
        "--eval-batch-size",
        "4",
        "--generation-config",
        "temperature=0,max_tokens=128",
        "--work-dir",
        str(tmp_path),
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    gsm = out["result"]["gsm8k"]
    assert gsm["counts"]["correct"] == 1 and gsm["counts"]["wrong"] == 1 and gsm["score"] == 0.5
    assert sum(out["result"]["iquiz"]["counts"].values()) == 4  # limit applies per subset: 2 IQ + 2 EQ
    assert Path(out["output_dir"]).parent == tmp_path.resolve()

    assert main(args[:-1]) == 0  # the rich table
    text = capsys.readouterr().out
    assert "OVERALL" in text and "gsm8k" in text and "0.5000" in text


def test_cli_missing_data_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVALSCOPE_OFFLINE", "1")
    monkeypatch.setenv("EVALSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALSCOPE_DATASET_DIR", raising=False)
    rc = main(
        [
            "eval",
            "--model",
            "m",
            "--api-url",
            "http://127.0.0.1:1/v1",
            "--datasets",
            "gsm8k",
            "--work-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "gsm8k" in err and "offline" in err and "local_path" in err and "test" in err


def test_benchmarks_command(capsys):
    assert main(["benchmarks", "--json"]) == 0
    items = {b["name"]: b for b in json.loads(capsys.readouterr().out)}
    assert set(items) >= {"gsm8k", "iquiz", "ceval", "mmlu", "arc", "math_500", "general_mcq", "general_qa"}
    assert len(items["ceval"]["subsets"]) == 52 and items["ceval"]["few_shot_num"] == 5
    assert len(items["mmlu"]["subsets"]) == 57 and items["mmlu"]["train_split"] == "dev"
    assert items["gsm8k"]["few_shot_num"] == 4 and items["gsm8k"]["eval_split"] == "test"
    assert items["iquiz"]["subsets"] == ["IQ", "EQ"]
    assert items["arc"]["subsets"] == ["ARC-Easy", "ARC-Challenge"]
    assert main(["benchmarks"]) == 0 and "math_500" in capsys.readouterr().out
    assert main(["benchmarks", "nope"]) == 2
