"""AIME 2024 and AIME 2025: 30 competition problems each, integer answers 0-999.

Protocol: EvalScope 1.14.1's ``aime24`` / ``aime25`` adapters (0-shot; the problem between its two
``\\boxed{}`` instructions). Scoring (:func:`evalscope.eval.scoring.score_integer`): the committed
final answer (the last ``\\boxed{}``, else the last "The answer is"/"ANSWER:" marker) read as an
integer and compared as one with the gold, so AIME 2024's zero-padded "025" equals 25; a final
answer written as an expression is checked by math-verify. No committed answer is ``unparsed``.

Metric: accuracy over the 30 problems; these sets are small, so they are usually run with
``repeats: k`` and then reported as avg@k (the mean over the k answers per problem), with pass@k
(unbiased estimator) and maj@k beside it.

Data (see shared/datasets SOURCES.md): ``aime24/test.jsonl`` (id 60-89; rows 0-14 AIME I and 15-29
AIME II, each ordered by problem number *as a string*, so the number is read from ``url``) and
``aime25/test.jsonl`` (id "0"-"29": AIME I problems 1-15 then AIME II 1-15). Each sample's metadata
keeps the row id, the contest ("AIME I"/"AIME II") and the problem number.
"""

from __future__ import annotations

import re
from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.scoring import read_integer, score_integer

PROMPT = (
    "Solve the following math problem step by step. Put your answer inside \\boxed{{}}.\n\n"
    "{question}\n\nRemember to put your answer inside \\boxed{{}}."
)

_URL_PROBLEM = re.compile(r"AIME_(I{1,2})_Problems/Problem_(\d+)")


def _sample(row: dict[str, Any], contest: str | None, number: int | None) -> Sample:
    answer = str(row["answer"]).strip()
    value = read_integer(answer)
    if value is None:
        raise ValueError(f"answer {answer!r} is not an integer")
    meta: dict[str, Any] = {"row_id": row.get("id"), "answer": answer}
    if contest:
        meta["contest"] = contest
    if number is not None:
        meta["problem"] = number
    return Sample(input=str(row.get("problem") or row["question"]), target=str(value), metadata=meta)


def record_to_sample_2024(row: dict[str, Any], subset: str) -> Sample:
    """AIME 2024 rows: ``id``, ``problem``, ``answer`` (maybe "025"), ``url`` naming contest and number."""
    m = _URL_PROBLEM.search(str(row.get("url", "")))
    return _sample(row, f"AIME {m.group(1)}" if m else None, int(m.group(2)) if m else None)


def record_to_sample_2025(row: dict[str, Any], subset: str) -> Sample:
    """AIME 2025 rows: ``id`` "0"-"29" (AIME I 1-15, then AIME II 1-15), ``problem``, ``answer``."""
    rid = str(row.get("id", ""))
    if rid.isdigit() and int(rid) < 30:
        return _sample(row, "AIME I" if int(rid) < 15 else "AIME II", int(rid) % 15 + 1)
    return _sample(row, None, None)


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The problem between EvalScope's two ``\\boxed{}`` instructions (0-shot)."""
    return user(PROMPT.format(question=sample.input))


_COMMON: dict[str, Any] = {
    "subsets": ("default",),
    "eval_split": "test",
    "build_prompt": build_prompt,
    "scorer": score_integer,
    "local_files": ("{split}.jsonl", "default_{split}.jsonl", "{split}-*.parquet", "data/{split}-*.parquet"),
    "hub_file": "{split}.jsonl",
    "tags": ("Math", "Reasoning"),
}

AIME24 = register(
    Benchmark(
        name="aime24",
        pretty_name="AIME-2024",
        description=(
            "AIME 2024 I and II: 30 problems, integer answers 0-999 in \\boxed{}; accuracy "
            "(avg@k with repeats, pass@k, maj@k)."
        ),
        dataset_id="evalscope/aime24",
        hf_dataset_id="math-ai/aime24",
        record_to_sample=record_to_sample_2024,
        dir_names=("aime24", "AIME24", "evalscope/aime24", "math-ai/aime24"),
        **_COMMON,
    )
)

AIME25 = register(
    Benchmark(
        name="aime25",
        pretty_name="AIME-2025",
        description=(
            "AIME 2025 I and II: 30 problems, integer answers 0-999 in \\boxed{}; accuracy "
            "(avg@k with repeats, pass@k, maj@k)."
        ),
        dataset_id="evalscope/aime25",
        hf_dataset_id="math-ai/aime25",
        record_to_sample=record_to_sample_2025,
        dir_names=("aime25", "AIME25", "evalscope/aime25", "math-ai/aime25"),
        **_COMMON,
    )
)
