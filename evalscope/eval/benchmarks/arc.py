"""ARC (AI2 Reasoning Challenge): grade-school science questions, Easy and Challenge sets, test split.

Reads three row shapes: the original AI2 jsonl (``question.stem``/``question.choices``/``answerKey``),
the hub's (``question``/``choices.text``/``choices.label``/``answerKey``), and llm-foundry's ICL format
(``query`` "Question: ...", ``choices`` list, ``gold`` 0-based index), which has no ids.

Prompt: EvalScope 1.14.1's ARC adapter (``prompt_template=MultipleChoiceTemplate.SINGLE_ANSWER``), the
answer-only template ("The entire content of your response should be of the following format:
'ANSWER: [LETTER]'"), 0-shot; few-shot examples, when asked for, come from the train split under
EvalScope's "Here are some examples" header.
"""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Sample, letter_target, register
from evalscope.eval.benchmarks.templates import MCQ_EN, MCQ_EN_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import score_choice


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """One ARC question in any of the three shapes, with its gold label mapped to a letter by position."""
    if "query" in row and "gold" in row:
        question = str(row["query"])
        if question.startswith("Question:"):
            question = question[len("Question:") :].strip()
        choices = [str(c) for c in row["choices"]]
        return Sample(input=question, choices=choices, target=letter_target(int(row["gold"]), choices))
    q = row["question"]
    if isinstance(q, dict):  # original AI2 jsonl
        stem, options = q["stem"], q["choices"]
        texts = [str(o["text"]) for o in options]
        labels = [str(o["label"]) for o in options]
    else:  # hub rows
        stem, texts, labels = (
            q,
            [str(t) for t in row["choices"]["text"]],
            [str(lb) for lb in row["choices"]["label"]],
        )
    key = str(row["answerKey"]).strip()
    if key not in labels:
        raise ValueError(f"answerKey {key!r} not among labels {labels}")
    # Labels are sometimes 1-4 instead of A-D: the position is what the prompt shows.
    return Sample(
        input=stem,
        choices=texts,
        target=letter_target(labels.index(key), texts),
        metadata={"id": row.get("id", "")},
    )


ARC = register(
    Benchmark(
        name="arc",
        pretty_name="ARC",
        description="AI2 Reasoning Challenge: science questions, ARC-Easy and ARC-Challenge, test split, 0-shot.",
        dataset_id="allenai/ai2_arc",
        hf_dataset_id="allenai/ai2_arc",
        subsets=("ARC-Easy", "ARC-Challenge"),
        eval_split="test",
        train_split="train",
        few_shot_num=0,
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_EN, MCQ_EN_FEWSHOT_HEADER),
        scorer=score_choice,
        local_files=(
            "{subset}/{subset}-{Split}.jsonl",
            "{subset}-{Split}.jsonl",
            "{subset}/{split}-*.parquet",
            "{subset}_{split}.jsonl",
            "{subset_snake}_{split}.jsonl",
            "{subset_snake}.jsonl",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("arc", "ai2_arc", "allenai/ai2_arc"),
        tags=("Reasoning", "MCQ"),
    )
)
