"""general_qa: a user's own open questions with reference answers, in jsonl or csv (EvalScope's format).

Each row: ``query`` (or ``question``) and ``response`` (or ``answer``), optionally ``system``; or a
``messages`` list (OpenAI chat format) with the reference in ``response``/``answer``. Files in
``local_path``: ``<subset>.jsonl`` or ``<subset>_test.jsonl`` (or .csv); subsets default to every file.
Scored by ROUGE-L recall against the reference (see docs/eval.md).
"""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.benchmarks.templates import messages_or
from evalscope.eval.scoring import score_qa

PROMPT = "请回答问题\n{question}"


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """A question/answer row, or a conversation row."""
    question = row.get("query") or row.get("question") or ""
    answer = row.get("response") or row.get("answer") or ""
    messages = row.get("messages") or None
    if not question and not messages:
        raise ValueError("needs 'query' (or 'question') or 'messages'")
    return Sample(
        input=str(question),
        target=str(answer),
        messages=messages,
        metadata={"system": row.get("system") or ""},
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The row's own messages, else the question in the QA template after its system prompt."""
    return messages_or(
        sample, lambda s: user(PROMPT.format(question=s.input), s.metadata.get("system") or None)
    )


GENERAL_QA = register(
    Benchmark(
        name="general_qa",
        pretty_name="General-QA",
        description="Your own open questions with reference answers: <subset>.jsonl or <subset>_test.jsonl.",
        dataset_id="general_qa",
        subsets=("default",),
        eval_split="test",
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_qa,
        metric_name="Rouge-L-R",
        local_files=("{subset}_{split}.jsonl", "{subset}.jsonl", "{subset}_{split}.csv", "{subset}.csv"),
        hub_file="{subset}.jsonl",
        discover_subsets=True,
        tags=("QA", "Custom"),
    )
)
