"""MMLU-Pro: 12,032 ten-option questions (A-J) in 14 categories; test split, 5-shot CoT from validation.

Protocol: TIGER-Lab's ``evaluate_from_api.py`` (the MMLU-Pro authors' API evaluation). One user
message: "The following are multiple choice questions (with answers) about {category}. Think step by
step and then output the answer in the format of "The answer is (X)" at the end.", then the five
validation rows of the same category, each as ``Question: ...\\nOptions: A. ...\\nAnswer: <cot_content
without its leading "A: ">``, then the question ending in ``Answer: Let's think step by step.``.
Options equal to "N/A" are dropped, as their script does. The answer is read by the shared
``score_choice`` (it takes "The answer is (X)" and the other markers). One departure: the authors score
an answer with no extractable letter as a random guess (seed 12345); here it is ``unparsed`` (0).

Names follow EvalScope 1.14's ``mmlu_pro`` adapter: benchmark ``mmlu_pro``, subsets are the
lower-case category names (``computer science``, ``math``, ...), data ``TIGER-Lab/MMLU-Pro``.
"""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import LETTERS, Benchmark, Message, Sample, register, user
from evalscope.eval.scoring import score_choice

# EvalScope's subset order.
CATEGORIES = (
    "computer science",
    "math",
    "chemistry",
    "engineering",
    "law",
    "biology",
    "health",
    "physics",
    "business",
    "philosophy",
    "economics",
    "other",
    "psychology",
    "history",
)

INSTRUCTION = (
    "The following are multiple choice questions (with answers) about {category}. Think step by step and "
    'then output the answer in the format of "The answer is (X)" at the end.\n\n'
)
LETS_THINK = "Let's think step by step."


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """Rows carry ``question``, ``options`` (3-10), ``answer`` (A-J), ``answer_index``, ``cot_content``
    (validation only), ``category``, ``question_id``, ``src``; the subset is the category."""
    raw = [str(o) for o in row["options"]]
    gold = row.get("answer_index")
    if gold is None or gold == "":
        gold = LETTERS.index(str(row["answer"]).strip().upper())
    gold = int(gold)
    if not 0 <= gold < len(raw) or raw[gold] == "N/A":
        raise ValueError(f"answer index {gold} is not one of the {len(raw)} options")
    # "N/A" padding is dropped (as the authors' script does); the gold letter follows its option.
    choices = [o for o in raw if o != "N/A"]
    target = LETTERS[gold - raw[:gold].count("N/A")]
    category = str(row["category"]).strip().lower()
    return Sample(
        input=str(row["question"]),
        choices=choices,
        target=target,
        subset=category,
        metadata={
            "question_id": row.get("question_id"),
            "category": category,
            "src": row.get("src") or "",
            "cot_content": row.get("cot_content") or "",
        },
    )


def format_example(sample: Sample, cot: str = "") -> str:
    """One question as the authors format it; ``cot`` is a solved example's reasoning (empty: the
    question to answer, which gets "Let's think step by step.")."""
    cot = cot or LETS_THINK
    if cot.startswith("A: "):
        cot = cot[3:]
    options = "".join(f"{LETTERS[i]}. {opt}\n" for i, opt in enumerate(sample.choices or []))
    return f"Question: {sample.input}\nOptions: {options}Answer: {cot}\n\n"


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The instruction naming the category, the solved examples of that category, then the question."""
    category = sample.metadata.get("category") or sample.subset
    body = INSTRUCTION.format(category=category)
    body += "".join(format_example(s, s.metadata.get("cot_content") or "") for s in shots)
    return user(body + format_example(sample))


MMLU_PRO = register(
    Benchmark(
        name="mmlu_pro",
        pretty_name="MMLU-Pro",
        description=(
            "Ten-option (A-J) reasoning-heavy questions in 14 categories (TIGER-Lab); test split, "
            "5-shot CoT from validation, answer after 'The answer is'."
        ),
        dataset_id="TIGER-Lab/MMLU-Pro",
        hf_dataset_id="TIGER-Lab/MMLU-Pro",
        subsets=CATEGORIES,
        eval_split="test",
        train_split="validation",
        few_shot_num=5,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_choice,
        local_files=(
            "{split}.jsonl",
            "{split}-*.parquet",
            "data/{split}-*.parquet",
            "mmlu-pro/data/{split}-*.parquet",
        ),
        hub_file="data/{split}-00000-of-00001.parquet",
        dir_names=("mmlu_pro", "MMLU-Pro", "TIGER-Lab/MMLU-Pro"),
        subsets_in_one_file=True,
        tags=("Knowledge", "MCQ", "Reasoning"),
    )
)
