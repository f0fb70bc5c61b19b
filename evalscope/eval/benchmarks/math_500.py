"""MATH-500: 500 competition problems (OpenAI's PRM800K split); answers compared by math equivalence."""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.scoring import score_math

PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """Rows carry ``problem``, ``answer``, ``subject``, ``level`` (1-5); the subset is the level."""
    return Sample(
        input=row["problem"],
        target=str(row["answer"]),
        subset=f"Level {row['level']}",
        metadata={"subject": row.get("subject", ""), "unique_id": row.get("unique_id", "")},
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The problem with the ``\\boxed{}`` instruction."""
    return user(PROMPT.format(question=sample.input))


MATH_500 = register(
    Benchmark(
        name="math_500",
        pretty_name="MATH-500",
        description="500 MATH competition problems in 5 difficulty levels; boxed answer, checked by math-verify.",
        dataset_id="AI-ModelScope/MATH-500",
        hf_dataset_id="HuggingFaceH4/MATH-500",
        subsets=("Level 1", "Level 2", "Level 3", "Level 4", "Level 5"),
        eval_split="test",
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_math,
        local_files=("{split}.jsonl", "default_{split}.jsonl"),
        hub_file="{split}.jsonl",
        dir_names=("math500", "math_500", "MATH-500", "AI-ModelScope/MATH-500"),
        subsets_in_one_file=True,
        tags=("Math", "Reasoning"),
    )
)
