"""HumanEval: 164 hand-written Python functions to complete, checked by running their unit tests.

The model sees the signature and docstring (EvalScope's prompt); the code of its answer (a fenced
block, bare code, the whole function or only its body) is run with the problem's ``check`` in the
sandbox (``evalscope/sandbox``): a pass scores 1. pass@k with ``repeats`` (``eval/repeats.py``).
"""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.code import CodeScorer, humaneval_program

# EvalScope 1.14's prompt_template
PROMPT = (
    "Read the following function signature and docstring, and fully implement the function described. "
    "Your response should only contain the code for this function.\n{question}"
)


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """``prompt`` (imports, signature, docstring), ``test`` (a ``check(candidate)``), ``entry_point``;
    the gold answer is the canonical solution (a function body)."""
    return Sample(
        input=row["prompt"],
        target=row["canonical_solution"],
        metadata={
            "task_id": row["task_id"],
            "entry_point": row["entry_point"],
            "prompt": row["prompt"],
            "test": row["test"],
        },
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The signature and docstring, with the instruction to implement it."""
    return user(PROMPT.format(question=sample.input))


def _program(sample: Sample, code: str) -> str:
    meta = sample.metadata
    return humaneval_program(meta["prompt"], code, meta["test"], meta["entry_point"])


HUMANEVAL = register(
    Benchmark(
        name="humaneval",
        pretty_name="HumanEval",
        description="164 hand-written Python programming problems (openai/human-eval); the model's code "
        "runs with the unit tests in the sandbox; pass@1, pass@k with repeats.",
        dataset_id="opencompass/humaneval",
        hf_dataset_id="openai/openai_humaneval",
        subsets=("openai_humaneval",),
        eval_split="test",
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        # EvalScope's review_timeout: 4 s per program
        scorer=CodeScorer("humaneval", lambda s: s.metadata.get("entry_point"), _program, timeout=4.0),
        metric_name="pass@1",
        local_files=(
            "HumanEval.jsonl",
            "{subset}/{split}-*.parquet",
            "{subset}/{split}.jsonl",
            "{split}.jsonl",
            "human-eval-v2-20210705.jsonl",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("humaneval", "opencompass/humaneval", "openai/openai_humaneval"),
        tags=("Coding",),
    )
)
