"""BIG-Bench Hard (BBH): 27 reasoning tasks, 3-shot chain of thought, answer after "So the answer is".

Protocol: Suzgun et al. 2022 (suzgunmirac/BIG-Bench-Hard) as EvalScope 1.14.1's ``bbh`` adapter runs
it. Each task is a subset (``bbh/<task>.json``, ``{"examples": [{"input", "target"}]}``, 6,511
questions). The few-shot examples are the authors' three worked examples per task
(``cot-prompts/<task>.txt``); the canary line and the ``-----`` separator are dropped, as the authors'
code does, and the task description plus the three ``Q:``/``A:`` examples are sent before the question
exactly as EvalScope sends them::

    <task description>

    Q: <example> / A: Let's think step by step. <worked answer> So the answer is <answer>.  (x3)

    Q: <question>
    A: Let's think step by step. Put your final answer in the format of "So the answer is [ANSWER]" ...

``few_shot_num`` 0 sends the question alone; 1-3 take that many of the authors' examples.

Scoring (:func:`score_bbh`): the answer is what follows the last "So the answer is" (else the last
``\\boxed{}``, else the last "The answer is"/"ANSWER:" marker), up to the line end, without a trailing
period or markdown bold. Per task, as the BBH authors and EvalScope normalise it: the 17
multiple-choice tasks answer "(A)" (the gold "(B)" becomes "B"; a bare letter or the option's own text
counts too); boolean_expressions True/False, causal_judgement/navigate/web_of_lies/sports_understanding
Yes/No and formal_fallacies valid/invalid are compared without case; object_counting and
multistep_arithmetic_two as integers; dyck_languages as its closing brackets (whitespace ignored:
the brackets are the answer, so they are never stripped); word_sorting as its word list. An answer
outside a closed vocabulary, or no marker at all, is ``unparsed``. Metric: accuracy per task and
over all questions (avg@k with ``repeats``; pass@k and maj@k apply).

Three rows of the published data have a text gold ("Monsters, Inc", two ruin_names rows) whose
options were split at commas; they are kept and only the option text itself scores them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.extractors import after_last_marker, last_boxed, strip_think
from evalscope.eval.scoring import Score

MULTIPLE_CHOICE = (
    "temporal_sequences",
    "disambiguation_qa",
    "date_understanding",
    "tracking_shuffled_objects_three_objects",
    "penguins_in_a_table",
    "geometric_shapes",
    "snarks",
    "ruin_names",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_five_objects",
    "logical_deduction_three_objects",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "movie_recommendation",
    "salient_translation_error_detection",
    "reasoning_about_colored_objects",
)
FREE_FORM = (
    "multistep_arithmetic_two",
    "navigate",
    "dyck_languages",
    "word_sorting",
    "sports_understanding",
    "boolean_expressions",
    "object_counting",
    "formal_fallacies",
    "causal_judgement",
    "web_of_lies",
)
SUBSETS = MULTIPLE_CHOICE + FREE_FORM  # EvalScope's order

# closed answer vocabularies of the free-form tasks (compared in lower case)
_VOCAB = {
    "boolean_expressions": ("true", "false"),
    "causal_judgement": ("yes", "no"),
    "navigate": ("yes", "no"),
    "web_of_lies": ("yes", "no"),
    "sports_understanding": ("yes", "no"),
    "formal_fallacies": ("valid", "invalid"),
}
_INTEGER_TASKS = ("object_counting", "multistep_arithmetic_two")

PROMPT = (
    "Q: {question}\nA: Let's think step by step. Put your final answer in the format of "
    '"So the answer is [ANSWER]" (without quotes and markdown) where [ANSWER] is the answer to the problem.\n'
)


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """A row is ``{"input", "target"}``; a multiple-choice gold "(B)" is kept as "B"."""
    target = str(row["target"]).strip()
    gold_letter = re.fullmatch(r"\(([A-Z])\)", target)
    if subset in MULTIPLE_CHOICE and gold_letter:
        target = gold_letter.group(1)
    return Sample(
        input=str(row["input"]),
        target=target,
        metadata={"task_type": "multiple_choice" if subset in MULTIPLE_CHOICE else "free_form"},
    )


def read_cot_prompt(path: Path, subset: str) -> list[Sample]:
    """The authors' worked examples of one task (``cot-prompts/<task>.txt``), in file order.

    The file is a canary line, a ``-----`` line, the task description and ``Q:``/``A:`` examples
    separated by blank lines. Each example becomes a ``Sample`` (input: the question; target: the
    answer after "So the answer is"; metadata ``cot``: the whole ``A:`` text, ``description``: the
    task description). Raises ValueError when the file has no example.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    # the authors' loaders skip the canary and its separator before using the prompt
    if lines and "canary" in lines[0].lower():
        lines = lines[1:]
        if lines and set(lines[0].strip()) == {"-"}:
            lines = lines[1:]
    body = "\n".join(lines).strip()
    chunks = re.split(r"\n\s*\n(?=Q: )", body)
    description = "" if chunks[0].startswith("Q: ") else chunks.pop(0).strip()
    shots = []
    for chunk in chunks:
        question, sep, answer = chunk.partition("\nA: ")
        if not question.startswith("Q: ") or not sep:
            raise ValueError(f"{path}: an example is not 'Q: ...' followed by 'A: ...'")
        final = answer.rsplit("So the answer is", 1)[-1].strip().rstrip(".").strip()
        shots.append(
            Sample(
                input=question[3:],
                target=final,
                subset=subset,
                metadata={"cot": answer, "description": description},
            )
        )
    if not shots:
        raise ValueError(f"{path}: no 'Q:'/'A:' example found")
    return shots


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The task description and worked examples (when few-shot), then the question and the format."""
    ask = PROMPT.format(question=sample.input)
    if not shots:
        return user(ask)
    description = shots[0].metadata.get("description", "")
    parts = [description] if description else []
    parts += [f"Q: {s.input}\nA: {s.metadata.get('cot', '')}" for s in shots]
    return user("\n\n".join(parts) + "\n\n" + ask)


# ---------------------------------------------------------------------------------------------
# Scoring

_SO_MARKER = re.compile(r"so the answer is", re.I)
_OPTION_LINE = re.compile(r"^\(([A-Z])\)\s*(.*?)\s*$", re.M)


def answer_span(text: str) -> str | None:
    """What the answer commits to: the text after the last "So the answer is" (else the last
    ``\\boxed{}``, else the last answer marker), to the line end, without markdown bold, quotes,
    ``$`` or a trailing period; None when there is no such answer."""
    visible = strip_think(text)
    marks = list(_SO_MARKER.finditer(visible))
    span: str | None = None
    if marks:
        span = visible[marks[-1].end() :].lstrip(" :").split("\n", 1)[0]
    if not span or not span.strip():
        span = last_boxed(visible) or after_last_marker(visible)
    if span is None:
        return None
    span = re.sub(r"\\text\{([^}]*)\}", r"\1", span)
    span = span.replace("**", "").strip().strip("`\"'$").strip()
    span = re.sub(r"[.。]+$", "", span).strip()
    return span or None


def _option_letter(span: str, question: str) -> str | None:
    m = re.match(r"^\(([A-Za-z])\)", span) or re.match(r"^([A-Z])(?:\s*$|\s*[).:,])", span)
    if m:
        return m.group(1).upper()
    # the option's own text, as written in the question ("Eli finished last")
    wanted = _fold(span)
    hits = [letter for letter, text in _OPTION_LINE.findall(question) if _fold(text) == wanted]
    return hits[0] if len(hits) == 1 else None


def _fold(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().strip(".").lower())


def _integer(span: str) -> str | None:
    # "5 + 3 = 8" commits to its result; "8 objects" to 8
    tail = span.rsplit("=", 1)[-1]
    m = re.search(r"-?\d[\d,]*(?:\.\d+)?", tail)
    if not m:
        return None
    raw = m.group(0).replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return str(int(value)) if value == int(value) else raw


def normalise_answer(task: str, span: str, question: str = "") -> str | None:
    """The answer of ``span`` in the task's canonical form; None when it is not one (unparsed)."""
    if task in MULTIPLE_CHOICE:
        return _option_letter(span, question)
    if task in _VOCAB:
        words = set(re.findall(r"[a-z]+", span.lower()))
        said = [w for w in _VOCAB[task] if w in words]
        first = re.match(r"[a-z]+", span.lower())
        # one committed word from the vocabulary ("Yes, because ..."); "yes or no" commits to nothing
        if first and first.group(0) in _VOCAB[task] and len(said) == 1:
            return first.group(0)
        return None
    if task in _INTEGER_TASKS:
        return _integer(span)
    if task == "dyck_languages":
        brackets = re.sub(r"\s+", "", span)
        return " ".join(brackets) if brackets and re.fullmatch(r"[\[\](){}<>]+", brackets) else None
    if task == "word_sorting":
        return " ".join(re.findall(r"[^\s,]+", span.lower())) or None
    return span


def score_bbh(sample: Sample, text: str, /) -> Score:
    """BBH: the answer after "So the answer is", normalised per task, equal to the gold answer."""
    span = answer_span(text)
    if span is None:
        return Score(extracted=None, value=0.0)
    task, gold = sample.subset, sample.target.strip()
    pred = normalise_answer(task, span, sample.input)
    if task in MULTIPLE_CHOICE and not re.fullmatch(r"[A-Z]", gold):
        # a text gold (three published rows): only that text scores
        pred = pred or span
        return Score(extracted=pred, value=float(_fold(span) == _fold(gold)))
    if pred is None:
        return Score(extracted=None, value=0.0)
    if task in MULTIPLE_CHOICE:
        ok = pred == gold
    elif task in _VOCAB or task == "word_sorting":
        ok = pred == " ".join(re.findall(r"[^\s,]+", gold.lower()))
    elif task in _INTEGER_TASKS:
        ok = pred == _integer(gold)
    elif task == "dyck_languages":
        ok = pred == " ".join(re.sub(r"\s+", "", gold))
    else:
        ok = _fold(pred) == _fold(gold)
    return Score(extracted=pred, value=float(ok))


BBH = register(
    Benchmark(
        name="bbh",
        pretty_name="BBH",
        description=(
            "BIG-Bench Hard: 27 reasoning tasks (17 multiple choice, 10 free form), 3-shot chain of thought "
            'from the authors\' prompt files, answer after "So the answer is"; accuracy per task.'
        ),
        dataset_id="evalscope/bbh",
        hf_dataset_id="lukaemon/bbh",
        subsets=SUBSETS,
        eval_split="test",
        train_split="cot_prompts",
        few_shot_num=3,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_bbh,
        local_files=(
            "bbh/{subset}.json",  # suzgunmirac/BIG-Bench-Hard
            "{subset}.json",
            "data/{subset}.json",  # OpenCompass's BBH folder
            "{subset}/{split}-*.parquet",
            "{subset}/{split}/*.parquet",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        few_shot_files=(
            "cot-prompts/{subset}.txt",
            "cot_prompts/{subset}.txt",
            "lib_prompt/{subset}.txt",
            "../cot-prompts/{subset}.txt",
        ),
        read_few_shot=read_cot_prompt,
        dir_names=("bbh", "BBH", "evalscope/bbh", "modelscope/bbh", "lukaemon/bbh"),
        tags=("Reasoning",),
    )
)
