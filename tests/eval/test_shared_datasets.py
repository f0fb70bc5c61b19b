"""Every benchmark loads from the real local copies in shared/datasets with the row counts that
SOURCES.md states, and a run over all of them completes against the mock."""

from __future__ import annotations

from collections import Counter

import pytest

from evalscope.eval import TaskConfig, run_task
from evalscope.eval.benchmarks import get_benchmark
from evalscope.eval.loading import load_benchmark
from evalscope.mock import ScriptedAnswer

# (benchmark, rows per subset or total) from shared/datasets/SOURCES.md
EXPECTED = {
    "gsm8k": {"main": 1319},
    "iquiz": {"IQ": 10, "EQ": 10},
    "arc": {"ARC-Easy": 2376, "ARC-Challenge": 1172},
    "math_500": {"Level 1": 43, "Level 2": 90, "Level 3": 105, "Level 4": 128, "Level 5": 134},
    "ceval": 1346,
    "mmlu": 14042,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_copies_load_with_documented_counts(name, shared_datasets):
    cfg = TaskConfig(
        model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_dir=str(shared_datasets)
    )
    lb = load_benchmark(get_benchmark(name), cfg)
    per_subset = Counter(s.subset for s in lb.samples)
    expected = EXPECTED[name]
    if isinstance(expected, int):
        assert len(lb.samples) == expected
        assert len(per_subset) == len(get_benchmark(name).subsets)
    else:
        assert dict(per_subset) == expected
    assert len({s.id for s in lb.samples}) == len(lb.samples)
    for s in lb.samples:
        assert s.messages and s.messages[-1]["role"] == "user"
        if s.choices:
            assert s.target in "ABCDEFGHIJ"[: len(s.choices)]
        else:
            assert s.target != ""


def test_few_shot_counts_from_dev(shared_datasets):
    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:1/v1",
        datasets=["ceval", "mmlu"],
        limit=1,
        dataset_dir=str(shared_datasets),
    )
    ceval = load_benchmark(get_benchmark("ceval"), cfg)
    assert ceval.samples[0].messages[0]["content"].count("答案：") == 5 + 1  # 5 solved examples + the ask
    mmlu = load_benchmark(get_benchmark("mmlu"), cfg)
    assert mmlu.samples[0].messages[0]["content"].count("\nANSWER: ") == 5


def test_run_every_benchmark_from_local_copies(shared_datasets, mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="<think>hmm</think>ANSWER: A \\boxed{2}")])
    cfg = TaskConfig(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=list(EXPECTED),
        limit=1,
        dataset_dir=str(shared_datasets),
        eval_batch_size=16,
        work_dir=str(tmp_path),
    )
    result = run_task(cfg)
    for name, rep in result["result"].items():
        n_subsets = len(get_benchmark(name).subsets)
        assert sum(rep["counts"].values()) == n_subsets, name  # limit 1 per subset
        assert rep["counts"]["error"] == 0 and rep["counts"]["unparsed"] == 0, name
    assert sum(srv.stats()["prompts"].values()) == sum(len(get_benchmark(n).subsets) for n in EXPECTED)
