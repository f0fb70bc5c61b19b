"""GPQA Diamond: 198 graduate-level biology, physics and chemistry questions; 0-shot CoT, 4 options.

Protocol: OpenAI simple-evals' ``gpqa_eval.py``: its multiple-choice template (the last line
"Answer: $LETTER", options ``A) ...`` to ``D) ...``), one user message, options ordered as
``[correct, incorrect 1, incorrect 2, incorrect 3]`` permuted by ``rng.sample(range(4), 4)``. Where
simple-evals draws every permutation from one ``Random(0)`` over the file (so a row's order depends on
the rows before it), here each row has its own ``Random`` seeded by its ``Record ID`` (SHA-256, first 8
bytes), so a question's options are the same in every run, subset and machine; the permutation is kept
in the sample's metadata (``permutation[i]`` is the index in that list of the option shown as letter
i). Option texts are stripped of surrounding whitespace (as EvalScope does). Scored by the shared
``score_choice``. Name, hub id and split follow EvalScope 1.14's ``gpqa_diamond`` (split ``train``,
one subset ``default``).

The GPQA authors ask that examples not be revealed in plain text online; test fixtures are made up.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from evalscope.eval.benchmarks.base import LETTERS, Benchmark, Message, Sample, register, user
from evalscope.eval.scoring import score_choice

PROMPT = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by "
    "step before answering.\n\n{question}\n\nA) {A}\nB) {B}\nC) {C}\nD) {D}"
)


def permutation_for(record_id: str) -> list[int]:
    """The option order of one question: a permutation of range(4) seeded by its record id."""
    seed = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big")
    return random.Random(seed).sample(range(4), 4)


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """GPQA CSV rows: ``Question``, ``Correct Answer``, ``Incorrect Answer 1..3``, ``Record ID``;
    the options shuffled by ``permutation_for(Record ID)`` (the question text when there is no id)."""
    options = [
        str(row["Correct Answer"]).strip(),
        *(str(row[f"Incorrect Answer {i}"]).strip() for i in (1, 2, 3)),
    ]
    question = str(row["Question"]).strip()
    record_id = str(row.get("Record ID") or "").strip()
    perm = permutation_for(record_id or question)
    return Sample(
        input=question,
        choices=[options[i] for i in perm],
        target=LETTERS[perm.index(0)],
        metadata={
            "record_id": record_id,
            "permutation": perm,
            "subdomain": str(row.get("Subdomain") or ""),
            "domain": str(row.get("High-level domain") or ""),
        },
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """simple-evals' multiple-choice template with the shuffled options."""
    a, b, c, d = sample.choices or ["", "", "", ""]
    return user(PROMPT.format(question=sample.input, A=a, B=b, C=c, D=d))


GPQA_DIAMOND = register(
    Benchmark(
        name="gpqa_diamond",
        pretty_name="GPQA-Diamond",
        description=(
            "198 expert-written graduate-level science questions (GPQA's diamond set); options "
            "shuffled per question (seeded by its record id), 0-shot CoT."
        ),
        dataset_id="AI-ModelScope/gpqa_diamond",
        hf_dataset_id="Idavidrein/gpqa",
        subsets=("default",),
        eval_split="train",
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_choice,
        local_files=(
            "gpqa_diamond.csv",
            "gpqa_diamond/{split}.csv",
            "{split}.csv",
            "gpqa_diamond/{split}-*.parquet",
            "{subset}_{split}.jsonl",
        ),
        hub_file="gpqa_diamond.csv",
        dir_names=("gpqa", "gpqa_diamond", "AI-ModelScope/gpqa_diamond", "Idavidrein/gpqa"),
        tags=("Knowledge", "MCQ", "Reasoning"),
    )
)
