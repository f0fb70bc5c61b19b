"""IQuiz: Chinese IQ and EQ multiple-choice questions (0-shot, Chinese CoT template)."""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Sample, letter_target, register
from evalscope.eval.benchmarks.templates import MCQ_ZH_COT, MCQ_ZH_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import score_choice


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """Rows carry ``question``, ``choices`` (a list), ``answer`` (a letter) and ``level``."""
    choices = [str(c) for c in row["choices"]]
    return Sample(
        input=row["question"],
        choices=choices,
        target=letter_target(row["answer"], choices),
        metadata={"level": row.get("level", "unknown")},
    )


IQUIZ = register(
    Benchmark(
        name="iquiz",
        pretty_name="IQuiz",
        description="Chinese IQ and EQ multiple-choice questions; the model explains, then answers 答案：X.",
        dataset_id="AI-ModelScope/IQuiz",
        subsets=("IQ", "EQ"),
        eval_split="test",
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_ZH_COT, MCQ_ZH_FEWSHOT_HEADER),
        scorer=score_choice,
        # Local copies: the hub layout (<subset>/test*.jsonl), EvalScope's local layout
        # (<subset>_test.jsonl, <subset>.jsonl), and the sample files in shared/datasets (IQ_sample.jsonl).
        local_files=(
            "{subset}/{split}.jsonl",
            "{subset}/{split}-*.jsonl",
            "{subset}/{split}-*.parquet",
            "{subset}_{split}.jsonl",
            "{subset}.jsonl",
            "{subset}_sample.jsonl",
        ),
        hub_file="{subset}/{split}.jsonl",
        dir_names=("iquiz", "IQuiz", "AI-ModelScope/IQuiz"),
        tags=("Chinese", "MCQ"),
    )
)
