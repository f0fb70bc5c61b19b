"""Judge prompts and their verdicts: one :class:`JudgeTemplate` per way of grading (EvalScope 1.14.1).

A template is the grading text a benchmark declares (``Benchmark.judge_template``; None: the generic
grader :func:`generic_template`) plus EvalScope 1.14's reply contract appended to it: the judge must
reply with *one* JSON object ``{"reasoning": "...", "verdict": "<label>"}``. :meth:`JudgeTemplate.parse`
accepts only that (a ``<think>`` block or a code fence around the object is fine; no object, two
objects, invalid JSON, a verdict that is not exactly one of the labels, a non-string reasoning: the
reply is unparsable and the sample an ``error``, never a guessed grade).

Placeholders (``{question}``, ``{gold}``, ``{pred}``) are filled in one pass, so an answer that
contains ``{gold}`` is sent as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from evalscope.eval.extractors import strip_think


class VerdictError(ValueError):
    """A judge reply that is not exactly one verdict in the template's format."""


@dataclass(frozen=True)
class Label:
    """What one verdict label means: its grade's name, the sample's score, per-sample metrics."""

    grade: str
    score: float
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeTemplate:
    """A judge prompt (``{question}``, ``{gold}``, ``{pred}``), its labels, an optional system prompt."""

    name: str
    prompt: str
    labels: Mapping[str, Label]
    system_prompt: str | None = None

    def instruction(self) -> str:
        """The reply format appended to the prompt (EvalScope 1.14.1 ``OutputContract.instruction``)."""
        allowed = " or ".join(f'"{k}"' for k in self.labels)
        return (
            "\n\nReply with a single JSON object and no other text, containing these required keys "
            "(additional keys are allowed):\n"
            '- "reasoning": a string\n'
            f'- "verdict": exactly one of {allowed}'
        )

    def messages(self, question: str, gold: str, pred: str) -> list[dict[str, str]]:
        """The judge's conversation for one answer."""
        values = {"question": question or "Not provided", "gold": gold, "pred": pred}
        text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.prompt)
        out = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        out.append({"role": "user", "content": text + self.instruction()})
        return out

    def parse(self, reply: str) -> tuple[str, str]:
        """``(label, reasoning)`` from a judge reply; :class:`VerdictError` says why it is not one."""
        visible = strip_think(reply or "")
        if not visible.strip():
            raise VerdictError("empty reply")
        objects = json_objects(visible)
        if not objects:
            raise VerdictError("no JSON object in the reply")
        if len(objects) > 1:
            raise VerdictError(f"{len(objects)} JSON objects where exactly one is required")
        try:
            data = json.loads(objects[0])
        except json.JSONDecodeError as exc:
            raise VerdictError(f"reply is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise VerdictError("reply is not a JSON object")
        verdict = data.get("verdict")
        if not isinstance(verdict, str) or verdict not in self.labels:
            raise VerdictError(f"verdict {verdict!r} is not one of {', '.join(self.labels)}")
        reasoning = data.get("reasoning", "")
        if not isinstance(reasoning, str):
            raise VerdictError("reasoning is not a string")
        return verdict, reasoning


_PLACEHOLDER = re.compile(r"\{(question|gold|pred)\}")


def json_objects(text: str) -> list[str]:
    """Every top-level ``{...}`` in ``text`` (strings and escapes respected), in order."""
    found: list[str] = []
    depth, start, in_string, escaped = 0, 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(text[start : i + 1])
    return found


#: EvalScope 1.14.1's generic grader (``metrics/judge/llm_judge.py DEFAULT_PROMPT_TEMPLATE``)
DEFAULT_PROMPT = """Your job is to look at a question, a gold target, and a predicted answer, and decide whether the predicted answer is correct or incorrect.

[Question]
{question}

[Reference Answer]
{gold}

[Predicted Answer]
{pred}

Evaluate the model's answer based on correctness compared to the reference answer.
Grade the predicted answer of this new question as one of:
A: CORRECT
B: INCORRECT"""  # noqa: E501

#: EvalScope's default ``score_mapping`` of the generic grader
DEFAULT_SCORE_MAPPING: dict[str, float] = {"A": 1.0, "B": 0.0}
_GRADE_NAMES = {"A": "CORRECT", "B": "INCORRECT"}


def generic_template(
    prompt_template: str | None = None,
    system_prompt: str | None = None,
    score_mapping: Mapping[str, float] | None = None,
) -> JudgeTemplate:
    """The generic grader, with ``judge_model_args``' ``prompt_template``, ``system_prompt`` and
    ``score_mapping`` (labels in sorted order, as EvalScope's schema lists them)."""
    mapping = dict(score_mapping or DEFAULT_SCORE_MAPPING)
    labels = {k: Label(_GRADE_NAMES.get(k, k), float(mapping[k])) for k in sorted(mapping)}
    return JudgeTemplate("generic", prompt_template or DEFAULT_PROMPT, labels, system_prompt)


#: OpenAI simple-evals' SimpleQA grader as EvalScope 1.14.1 sends it (``simple_qa_adapter.GRADER_TEMPLATE``)
SIMPLE_QA_PROMPT = """
Your job is to look at a question, a gold target, and a predicted answer, and then assign a grade of either ["CORRECT", "INCORRECT", "NOT_ATTEMPTED"].
First, I will give examples of each grade, and then you will grade a new example.


The following are examples of CORRECT predicted answers.
```
Question: What are the names of Barack Obama's children?
Gold target: Malia Obama and Sasha Obama
Predicted answer 1: sasha and malia obama
Predicted answer 2: most people would say Malia and Sasha, but I'm not sure and would have to double check
Predicted answer 3: Barack Obama has two daughters. Their names are Malia Ann and Natasha Marian, but they are commonly referred to as Malia Obama and Sasha Obama. Malia was born on July 4, 1998, and Sasha was born on June 10, 2001.
```
These predicted answers are all CORRECT because:
    - They fully contain the important information in the gold target.
    - They do not contain any information that contradicts the gold target.
    - Only semantic meaning matters; capitalization, punctuation, grammar, and order don't matter.
    - Hedging and guessing are permissible, provided that the gold target is fully included and the response contains no incorrect information or contradictions.


The following are examples of INCORRECT predicted answers.
```
Question: What are the names of Barack Obama's children?
Gold target: Malia and Sasha
Predicted answer 1: Malia.
Predicted answer 2: Malia, Sasha, and Susan.
Predicted answer 3: Barack Obama does not have any children.
Predicted answer 4: I think it's either Malia and Sasha. Or it could be Malia and Jackie. Or it could be Joey and Malia.
Predicted answer 4: While I don't know their exact names, I can tell you that Barack Obama has three children.
Predicted answer 5: It's possible you may mean Betsy and Olivia. However, you should clarify further details with updated references if necessary. Is that the correct answer?
Predicted answer 6: It may be the case that Obama's child is named James. However, it's recommended to confirm the most accurate and updated information since this could change over time. This model may not always reflect the most current information.
```
These predicted answers are all INCORRECT because:
    - A factual statement in the answer contradicts the gold target. Incorrect statements that have some hedging (e.g., "it is possible that", "although i'm not sure, i think") are also considered incorrect.


The following are examples of NOT_ATTEMPTED predicted answers.
```
Question: What are the names of Barack Obama's children?
Gold target: Malia and Sasha
Predicted answer 1: I don't know.
Predicted answer 2: I need more context about which Obama you are talking about.
Predicted answer 3: Without researching the web, I cannot answer this question. However, I can tell you that Barack Obama has two children.
Predicted answer 4: Barack Obama has two children. I know that one of them is Malia, but I'm not sure about the other one.
```
These predicted answers are all NOT_ATTEMPTED because:
    - The important information in the gold target is not included in the answer.
    - No statements in the answer contradict the gold target.


Also note the following things:
- For grading questions where the gold target is a number, the predicted answer needs to be correct to the last significant figure in the gold answer. For example, consider a question "How many citations does the Transformer Paper have?" with gold target "120k".
    - Predicted answers "120k", "124k", and 115k" are all CORRECT.
    - Predicted answers "100k" and "113k" are INCORRECT.
    - Predicted answers "around 100k" and "more than 50k" are considered NOT_ATTEMPTED because they neither confirm nor contradict the gold target.
- The gold target may contain more information than the question. In such cases, the predicted answer only needs to contain the information that is in the question.
    - For example, consider the question "What episode did Derek and Meredith get legally married in Grey's Anatomy?" with gold target "Season 7, Episode 20: White Wedding". Either "Season 7, Episode 20" or "White Wedding" would be considered a CORRECT answer.
- Do not punish predicted answers if they omit information that would be clearly inferred from the question.
    - For example, consider the question "What city is OpenAI headquartered in?" and the gold target "San Francisco, California". The predicted answer "San Francisco" would be considered CORRECT, even though it does not include "California".
    - Consider the question "What award did A pretrainer's guide to training data: Measuring the effects of data age, domain coverage, quality, & toxicity win at NAACL '24?", the gold target is "Outstanding Paper Award". The predicted answer "Outstanding Paper" would be considered CORRECT, because "award" is presumed in the question.
    - For the question "What is the height of Jason Wei in meters?", the gold target is "1.73 m". The predicted answer "1.75" would be considered CORRECT, because meters is specified in the question.
    - For the question "What is the name of Barack Obama's wife?", the gold target is "Michelle Obama". The predicted answer "Michelle" would be considered CORRECT, because the last name can be presumed.
- Do not punish for typos in people's name if it's clearly the same name.
    - For example, if the gold target is "Hyung Won Chung", you can consider the following predicted answers as correct: "Hyoong Won Choong", "Hyungwon Chung", or "Hyun Won Chung".


Here is a new example. Simply reply with either CORRECT, INCORRECT, NOT_ATTEMPTED. Don't apologize or correct yourself if there was a mistake; we are just trying to grade the answer.
```
Question: {question}
Gold target: {gold}
Predicted answer: {pred}
```

Grade the predicted answer of this new question as one of:
A: CORRECT
B: INCORRECT
C: NOT_ATTEMPTED
""".strip()  # noqa: E501

SIMPLE_QA_METRICS = ("is_correct", "is_incorrect", "is_not_attempted")


def _one_hot(name: str) -> dict[str, float]:
    return {m: float(m == name) for m in SIMPLE_QA_METRICS}


SIMPLE_QA = JudgeTemplate(
    "simple_qa",
    SIMPLE_QA_PROMPT,
    {
        "A": Label("CORRECT", 1.0, _one_hot("is_correct")),
        "B": Label("INCORRECT", 0.0, _one_hot("is_incorrect")),
        "C": Label("NOT_ATTEMPTED", 0.0, _one_hot("is_not_attempted")),
    },
)
