"""HellaSwag: commonsense sentence completion, pick the most plausible of four endings (validation split).

Protocol: EvalScope 1.14's ``hellaswag`` adapter, i.e. generative multiple choice with its answer-only
template (``MultipleChoiceTemplate.SINGLE_ANSWER``: "The entire content of your response should be of
the following format: 'ANSWER: [LETTER]'"), 0-shot, the context as the question, the four endings as
options A-D, accuracy on the extracted letter. Text is cleaned as that adapter does (``[title]`` to
". ", other ``[...]`` markers removed, double spaces collapsed) and the activity label kept in metadata.

Reads two row shapes:

- the hub's (``Rowan/hellaswag``): ``ctx_a``, ``ctx_b``, ``activity_label``, ``endings``, ``label``; the
  context is ``ctx_a + " " + ctx_b.capitalize()`` as in EvalScope;
- the llama.cpp conversion in the shared dataset folder (``hellaswag_val_llamacpp.jsonl``): ``query``
  (``"<activity_label>: <ctx>"``, already cleaned), ``endings``, ``label``. Its ``ctx`` was never split
  into ``ctx_a``/``ctx_b``, so the first letter of ``ctx_b`` keeps its original case (EvalScope
  capitalises it); the label is split off at the first ": " (no label contains one).
"""

from __future__ import annotations

import re
from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Sample, letter_target, register
from evalscope.eval.benchmarks.templates import MCQ_EN, MCQ_EN_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import score_choice


def clean(text: str) -> str:
    """EvalScope's (and lm-eval's) HellaSwag preprocessing of WikiHow markers."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """One HellaSwag item in the hub's shape or the llama.cpp conversion's."""
    endings = [clean(str(e)) for e in row["endings"]]
    if len(endings) != 4:
        raise ValueError(f"expected 4 endings, got {len(endings)}")
    if "query" in row:
        label, sep, ctx = str(row["query"]).partition(": ")
        activity, context = (label, ctx) if sep else ("unknown", label)
    else:
        activity = str(row.get("activity_label", "unknown"))
        context = f"{row['ctx_a']} {str(row['ctx_b']).capitalize()}"
    return Sample(
        input=clean(context),
        choices=endings,
        target=letter_target(int(row["label"]), endings),
        metadata={"activity_label": activity},
    )


HELLASWAG = register(
    Benchmark(
        name="hellaswag",
        pretty_name="HellaSwag",
        description="Commonsense sentence completion (rowanz/hellaswag), validation split, 4 endings, 0-shot.",
        dataset_id="evalscope/hellaswag",
        hf_dataset_id="Rowan/hellaswag",
        subsets=("default",),
        eval_split="validation",
        few_shot_num=0,
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_EN, MCQ_EN_FEWSHOT_HEADER),
        scorer=score_choice,
        local_files=(
            "hellaswag_val_llamacpp.jsonl",
            "hellaswag_val.jsonl",
            "{split}.jsonl",
            "{subset}/{split}-*.parquet",
            "data/{split}-*.parquet",
            "{subset}_{split}.jsonl",
        ),
        hub_file="data/{split}-00000-of-00001.parquet",
        dir_names=("hellaswag", "evalscope/hellaswag", "Rowan/hellaswag"),
        tags=("Commonsense", "MCQ"),
    )
)
