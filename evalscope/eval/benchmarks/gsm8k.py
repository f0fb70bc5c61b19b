"""GSM8K: grade-school math word problems; the answer is a number after ``####`` in the solution."""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.scoring import score_numeric

PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
FEWSHOT = "Here are some examples of how to solve similar problems:\n\n{fewshot}\n\n" + PROMPT


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """``answer`` is a worked solution ending in ``#### <number>``."""
    *reasoning, target = str(row["answer"]).split("####")
    return Sample(
        input=row["question"], target=target.strip(), metadata={"reasoning": "####".join(reasoning).strip()}
    )


def _example(s: Sample) -> str:
    return f"{s.input}\n\nReasoning:\n{s.metadata.get('reasoning', '')}\n\nANSWER: \\boxed{{{s.target}}}"


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The question with the ``\\boxed{}`` instruction, after the solved examples when few-shot."""
    if shots:
        return user(FEWSHOT.format(fewshot="\n\n".join(_example(s) for s in shots), question=sample.input))
    return user(PROMPT.format(question=sample.input))


GSM8K = register(
    Benchmark(
        name="gsm8k",
        pretty_name="GSM8K",
        description="Grade-school math word problems (openai/grade-school-math); numeric answer, 4-shot CoT.",
        dataset_id="AI-ModelScope/gsm8k",
        hf_dataset_id="openai/gsm8k",
        subsets=("main",),
        eval_split="test",
        train_split="train",
        few_shot_num=4,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_numeric,
        local_files=(
            "{split}.jsonl",
            "{subset}/{split}-*.jsonl",
            "{subset}_{split}.jsonl",
            "{subset}/{split}-*.parquet",
            "grade_school_math/data/{split}.jsonl",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("gsm8k", "AI-ModelScope/gsm8k", "openai/gsm8k"),
        tags=("Math", "Reasoning"),
    )
)
