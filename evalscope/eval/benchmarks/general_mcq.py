"""general_mcq: a user's own multiple-choice questions in jsonl or csv (EvalScope's format).

Files in ``local_path``: ``<subset>_val.csv|jsonl`` to score and optionally ``<subset>_dev.csv|jsonl``
for few-shot examples; columns ``id`` (optional), ``question``, ``A``, ``B``, ... (up to ``J``) and
``answer`` (a letter). Subsets default to every ``*_val`` file found.
"""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import LETTERS, Benchmark, Sample, letter_target, register
from evalscope.eval.benchmarks.templates import MCQ_ZH, MCQ_ZH_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import score_choice


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """Options are the consecutive letter columns from ``A``; empty trailing cells end the list."""
    choices = []
    for letter in LETTERS[:10]:
        value = row.get(letter)
        if value is None or (isinstance(value, str) and value == "" and letter not in "AB"):
            break
        choices.append(str(value))
    if len(choices) < 2:
        raise ValueError("needs at least the columns A and B")
    return Sample(
        input=str(row["question"]),
        choices=choices,
        target=letter_target(row["answer"], choices),
        metadata={"id": row.get("id", "")},
    )


GENERAL_MCQ = register(
    Benchmark(
        name="general_mcq",
        pretty_name="General-MCQ",
        description="Your own multiple-choice questions: <subset>_val.{jsonl,csv} (+ <subset>_dev for few-shot).",
        dataset_id="general_mcq",
        subsets=("default",),
        eval_split="val",
        train_split="dev",
        few_shot_num=0,
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_ZH, MCQ_ZH_FEWSHOT_HEADER),
        scorer=score_choice,
        local_files=("{subset}_{split}.jsonl", "{subset}_{split}.csv", "{subset}_{split}.tsv"),
        hub_file="{subset}_{split}.jsonl",
        discover_subsets=True,
        tags=("MCQ", "Custom"),
    )
)
