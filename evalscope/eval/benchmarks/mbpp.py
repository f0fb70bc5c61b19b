"""MBPP: ~1,000 entry-level Python problems, each with three test asserts (google-research ``mbpp``).

EvalScope's setup: the ``full`` set, scored on the test split (task ids 11-510) with the paper's
3-shot prompt (tasks 2-4, answers between ``[BEGIN]`` and ``[DONE]``); the model's code runs with
the task's asserts in the sandbox (``evalscope/sandbox``), 20 s per program. pass@k with ``repeats``.
One file (``mbpp.jsonl``) holds every split; rows are assigned to splits by task id.
"""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.code import CodeScorer, mbpp_entry_point, mbpp_program

# EvalScope 1.14's prompts: the task, its asserts, and for few-shot the solved tasks before it
PROMPT = (
    "You are an expert Python programmer, and here is your task: {question} Your code should pass these "
    "tests:\n\n{tests}"
)
SHOT = PROMPT + "\n[BEGIN]\n{code}\n[DONE]\n"

# The splits by task id (the paper's and Hugging Face's ``full`` configuration). The few-shot split
# starts at task 2: the paper's three examples are tasks 2-4 (EvalScope's fixed 3-shot prompt).
SPLITS = {
    "test": range(11, 511),
    "prompt": range(2, 11),
    "validation": range(511, 601),
    "train": range(601, 975),
}


def in_split(row: dict[str, Any], split: str) -> bool:
    """Whether a row of the one-file layout belongs to ``split`` (by ``task_id``)."""
    return int(row["task_id"]) in SPLITS[split]


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """``text`` (the task), ``test_list`` (asserts), ``test_setup_code``; the gold answer is ``code``."""
    tests = row["test_list"]
    if isinstance(tests, str) or not all(isinstance(t, str) for t in tests):
        raise ValueError("test_list: expected a list of assert lines")
    return Sample(
        input=row["text"],
        target=str(row["code"]),
        metadata={
            "task_id": row["task_id"],
            "test_list": list(tests),
            "test_setup_code": row.get("test_setup_code") or "",
        },
    )


def _task(sample: Sample, template: str) -> str:
    tests = "\n".join(sample.metadata["test_list"])
    return template.format(question=sample.input, tests=tests, code=sample.target)


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The task and its asserts; with shots, the solved tasks first and ``[BEGIN]`` to start the answer
    (EvalScope's few-shot prompt)."""
    if shots:
        examples = "".join(_task(s, SHOT) for s in shots)
        return user(examples + _task(sample, PROMPT) + "\n[BEGIN]\n")
    return user(_task(sample, PROMPT))


def _program(sample: Sample, code: str) -> str:
    return mbpp_program(code, sample.metadata["test_list"], sample.metadata.get("test_setup_code", ""))


MBPP = register(
    Benchmark(
        name="mbpp",
        pretty_name="MBPP",
        description="Mostly Basic Python Problems (google-research mbpp, full set, test split: 500 tasks); "
        "3-shot; the model's code runs with the task's asserts in the sandbox; pass@1, pass@k with repeats.",
        dataset_id="google-research-datasets/mbpp",
        hf_dataset_id="google-research-datasets/mbpp",
        subsets=("full",),
        eval_split="test",
        train_split="prompt",
        few_shot_num=3,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        # EvalScope's review_timeout: 20 s per program
        scorer=CodeScorer(
            "mbpp", lambda s: mbpp_entry_point(s.metadata.get("test_list", [])), _program, timeout=20.0
        ),
        metric_name="pass@1",
        in_split=in_split,
        local_files=("{subset}/{split}-*.parquet", "{subset}/{split}.jsonl", "mbpp.jsonl"),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("mbpp", "google-research-datasets/mbpp"),
        tags=("Coding",),
    )
)
