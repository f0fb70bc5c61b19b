"""SimpleQA (OpenAI, Wei et al. 2024): 4,326 short fact-seeking questions, graded by a judge model as
CORRECT, INCORRECT or NOT_ATTEMPTED.

Protocol: EvalScope 1.14.1's ``simple_qa`` (its name; the issue calls it simpleqa): the prompt
``Answer the question:\\n\\n{question}``, 0-shot, one subset ``default``, split ``test``; the answer
(``<think>`` removed) graded with simple-evals' grader template and EvalScope's JSON reply contract
(``verdict`` A / B / C; evalscope/eval/judge/templates.py ``SIMPLE_QA``). ``judge_only``: there is
no rule scorer, so ``judge_strategy`` ``auto`` or ``llm`` with ``judge_model_args`` is required.

Metrics (simple-evals' ``simpleqa_eval.py``; failed samples, ``error``, are left out as everywhere):

- ``is_correct`` (main), ``is_incorrect``, ``is_not_attempted``: shares of the answered samples; an
  empty (unparsed) or truncated answer counts as not attempted, so the three sum to 1;
- ``correct_given_attempted``: correct / (correct + incorrect) (simple-evals' ``accuracy_given_attempted``;
  0 when nothing was attempted);
- ``f1``: the harmonic mean of ``is_correct`` and ``correct_given_attempted`` (simple-evals' F-score).

A sample is ``correct`` for CORRECT, ``wrong`` for INCORRECT and NOT_ATTEMPTED (its ``details.grade``
says which).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.judge.scorer import JudgeScorer
from evalscope.eval.judge.templates import SIMPLE_QA

if TYPE_CHECKING:
    from evalscope.eval.results import SampleResult

PROMPT = "Answer the question:\n\n{question}"
METRICS = ("is_correct", "is_incorrect", "is_not_attempted", "correct_given_attempted", "f1")


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """A row of ``simple_qa_test_set.csv``: ``problem``, ``answer`` and ``metadata`` (a Python dict
    written as text: topic, answer_type, urls)."""
    question, answer = str(row.get("problem") or "").strip(), str(row.get("answer") or "").strip()
    if not question or not answer:
        raise ValueError("needs 'problem' and 'answer'")
    meta: Any = row.get("metadata") or {}
    if isinstance(meta, str):
        try:
            meta = ast.literal_eval(meta)  # literals only: never code
        except (ValueError, SyntaxError):
            meta = {"metadata": meta}
    return Sample(
        input=question, target=answer, metadata=meta if isinstance(meta, dict) else {"metadata": meta}
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """EvalScope's prompt template, as the only user message."""
    return user(PROMPT.format(question=sample.input))


def aggregate(records: list[SampleResult]) -> dict[str, float | None]:
    """simple-evals' metrics over the answered samples (see the module docstring)."""
    answered = [r for r in records if r.state != "error"]
    if not answered:
        return dict.fromkeys(METRICS, None)
    n = len(answered)
    correct = sum(r.metrics.get("is_correct", 0.0) for r in answered) / n
    incorrect = sum(r.metrics.get("is_incorrect", 0.0) for r in answered) / n
    attempted = correct + incorrect
    given = correct / attempted if attempted else 0.0
    f1 = 2 * given * correct / (given + correct) if given + correct else 0.0
    return {
        "is_correct": round(correct, 4),
        "is_incorrect": round(incorrect, 4),
        "is_not_attempted": round(1.0 - attempted, 4),
        "correct_given_attempted": round(given, 4),
        "f1": round(f1, 4),
    }


SIMPLE_QA_BENCHMARK = register(
    Benchmark(
        name="simple_qa",
        pretty_name="SimpleQA",
        description=(
            "4,326 short fact-seeking questions; a judge model grades each answer CORRECT, INCORRECT "
            "or NOT_ATTEMPTED (needs judge_model_args)."
        ),
        dataset_id="evalscope/SimpleQA",
        hf_dataset_id="basicv8vc/SimpleQA",
        subsets=("default",),
        eval_split="test",
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=JudgeScorer(SIMPLE_QA),
        metric_name="is_correct",
        aggregate=aggregate,
        scoring_policy="judge_only",
        judge_template=SIMPLE_QA,
        local_files=("simple_qa_test_set.csv", "{split}.csv", "{subset}_{split}.jsonl", "{split}.jsonl"),
        hub_file="simple_qa_test_set.csv",
        dir_names=("simpleqa", "simple_qa", "SimpleQA", "evalscope/SimpleQA", "basicv8vc/SimpleQA"),
        tags=("Knowledge", "QA"),
    )
)
