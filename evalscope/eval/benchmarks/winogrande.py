"""WinoGrande: fill the blank ``_`` of a sentence with one of two options (dev/validation split).

Protocol: EvalScope 1.14's ``winogrande`` adapter, i.e. generative multiple choice with its answer-only
template (``MultipleChoiceTemplate.SINGLE_ANSWER``), 0-shot: the sentence with its ``_`` as the question,
``option1``/``option2`` as A/B, accuracy on the extracted letter.

Reads two row shapes:

- the original/hub rows: ``sentence`` (with ``_``), ``option1``, ``option2``, ``answer`` ("1" or "2");
- llm-foundry's partial-scoring conversion in the shared dataset folder
  (``winogrande_dev_llmfoundry.jsonl``): ``context_options`` (the sentence up to the blank, once with
  each option filled in), ``continuation`` (the rest) and ``gold`` (0-based). The sentence and the
  options are rebuilt: the options are what follows the two contexts' common prefix, cut back to a word
  start; the blank is rejoined to the continuation with a space unless that starts with punctuation.
"""

from __future__ import annotations

import os
from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Sample, letter_target, register
from evalscope.eval.benchmarks.templates import MCQ_EN, MCQ_EN_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import score_choice

# A blank starts a new word: after whitespace or an opening bracket/quote, never inside a word.
_WORD_START_AFTER = " \t\n([{\"'“‘"


def split_options(first: str, second: str) -> tuple[str, str, str]:
    """``(prefix, option1, option2)`` from two contexts that differ only in the filled-in option."""
    cut = len(os.path.commonprefix([first, second]))
    while cut > 0 and first[cut - 1] not in _WORD_START_AFTER:
        cut -= 1
    option1, option2 = first[cut:].strip(), second[cut:].strip()
    if not option1 or not option2 or option1 == option2:
        raise ValueError(f"context_options do not differ in one filled-in option: {first!r} / {second!r}")
    return first[:cut], option1, option2


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """One WinoGrande item in the original shape or llm-foundry's."""
    if "context_options" in row:
        contexts = [str(c) for c in row["context_options"]]
        if len(contexts) != 2:
            raise ValueError(f"expected 2 context_options, got {len(contexts)}")
        prefix, option1, option2 = split_options(*contexts)
        rest = str(row["continuation"]).strip()
        joiner = "" if not rest or not rest[0].isalnum() else " "
        sentence = f"{prefix}_{joiner}{rest}"
        gold = int(row["gold"])
    else:
        sentence, option1, option2 = str(row["sentence"]), str(row["option1"]), str(row["option2"])
        gold = int(str(row["answer"]).strip()) - 1  # "1" / "2"
    choices = [option1, option2]
    if gold not in (0, 1):
        raise ValueError(f"gold answer out of range: {row.get('gold', row.get('answer'))!r}")
    return Sample(input=sentence, choices=choices, target=letter_target(gold, choices))


WINOGRANDE = register(
    Benchmark(
        name="winogrande",
        pretty_name="Winogrande",
        description="WinoGrande pronoun resolution (allenai/winogrande 1.1), dev set, 2 options, 0-shot.",
        dataset_id="AI-ModelScope/winogrande_val",
        hf_dataset_id="liyucheng/winogrande_val",
        subsets=("default",),
        eval_split="validation",
        few_shot_num=0,
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_EN, MCQ_EN_FEWSHOT_HEADER),
        scorer=score_choice,
        local_files=(
            "winogrande_dev_llmfoundry.jsonl",
            "dev.jsonl",
            "winogrande_1.1/dev.jsonl",
            "{split}.jsonl",
            "data/{split}-*.parquet",
            "{subset}/{split}-*.parquet",
            "winogrande.jsonl",
        ),
        hub_file="data/{split}-00000-of-00001.parquet",
        dir_names=("winogrande", "AI-ModelScope/winogrande_val", "liyucheng/winogrande_val"),
        tags=("Reasoning", "MCQ"),
    )
)
