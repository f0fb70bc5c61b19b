"""MMLU-Redux: MMLU's 57 subjects, 100 re-annotated questions each; 0-shot CoT, annotations applied.

Protocol: EvalScope 1.14's ``mmlu_redux`` adapter. Its prompt (EvalScope's single-answer CoT template,
"ANSWER: [LETTER]" on the last line), 0-shot, and its use of the annotations: **no row is dropped**;
all 5,700 are scored, with the annotators' fix applied where the row carries one:

- ``wrong_groundtruth`` with a ``correct_answer`` (an index or a letter): that option is the gold one;
- ``no_correct_answer`` with a ``correct_answer``: that text replaces the gold option's text;
- ``multiple_correct_answers`` with a ``correct_answer`` ("0,1", "(0, 1)", "B,C", "2 and 3", "1 2"):
  any of those options counts as correct (EvalScope's ``allow_inclusion``; see ``score_any_choice``);
  a list naming nothing recognisable makes every option correct, as EvalScope does.

Rows marked ``bad_question_clarity``, ``bad_options_clarity`` or ``expert`` keep MMLU's original answer,
as in EvalScope. One difference: EvalScope reads a space-separated list ("0 1 3") as naming nothing
(all four options correct); here it is read as the list it is.

Data: the authors' annotation CSVs (aryopg/mmlu-redux, ``mmlu_<subject>.csv``) or the hub release
(``edinburgh-dawg/mmlu-redux-2.0``). The CSVs are not uniform: some are ``;``-separated, the columns
come in different orders, ``error_type`` is spelled many ways (normalised here: ``Wrong Groundtruth`` ->
``wrong_groundtruth``) and ``mmlu_moral_scenarios.csv`` holds one Mac Roman byte; ``read_redux_file``
takes all of that.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path
from typing import Any

from evalscope.datasets import read_rows
from evalscope.datasets.rows import RowReadError
from evalscope.eval.benchmarks.base import LETTERS, Benchmark, Sample, register
from evalscope.eval.benchmarks.mmlu import SUBJECTS
from evalscope.eval.benchmarks.templates import MCQ_EN_COT, MCQ_EN_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import Score, score_choice


def read_redux_file(path: Path) -> list[dict[str, Any]]:
    """Rows of one MMLU-Redux file. CSVs: UTF-8, else Mac Roman (the one file the authors saved so);
    the delimiter (``,`` or ``;``) read from the header line; unnamed empty columns dropped."""
    if path.suffix.lower() != ".csv":
        return read_rows(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("mac_roman")  # decodes any bytes; only mmlu_moral_scenarios.csv needs it
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for row in reader:
        if None in row:
            raise RowReadError(f"{path}:{reader.line_num}: more columns than the header")
        rows.append({k.strip(): v for k, v in row.items() if k and k.strip()})
    return rows


def _choices(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"choices {value[:60]!r} is not a list") from None
    choices = [str(c) for c in value]
    if len(choices) != 4:
        raise ValueError(f"expected 4 choices, got {len(choices)}")
    return choices


def _index(token: str) -> int | None:
    """An option named by a 0-based index ("2") or a letter ("C")."""
    token = token.strip().strip("().").strip()
    if token.isdigit() and int(token) < 4:
        return int(token)
    if len(token) == 1 and token.upper() in "ABCD":
        return "ABCD".index(token.upper())
    return None


def _many(correct: str, choices: list[str]) -> list[int]:
    tokens = [t for t in re.split(r"\s*(?:,|\band\b|\bor\b|\s)\s*", correct.strip().strip("()")) if t]
    found = [_index(t) for t in tokens]
    if tokens and all(i is not None for i in found):
        return sorted({i for i in found if i is not None})
    texts = [choices.index(t.strip()) for t in correct.split(",") if t.strip() in choices]
    return sorted(set(texts)) or [0, 1, 2, 3]  # naming nothing: every option (as EvalScope)


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """One annotated row; the annotators' correction applied (see the module docstring)."""
    choices = _choices(row["choices"])
    answer = int(str(row["answer"]).strip())
    if not 0 <= answer < 4:
        raise ValueError(f"answer {answer} is not an index of the 4 choices")
    error_type = re.sub(r"[\s_]+", "_", str(row.get("error_type") or "ok").strip().lower())
    correct = str(row.get("correct_answer") or "").strip()
    gold = [answer]
    if correct and error_type == "wrong_groundtruth":
        fixed = _index(correct)
        gold = [fixed] if fixed is not None else gold
    elif correct and error_type == "no_correct_answer":
        choices[answer] = correct
    elif correct and error_type == "multiple_correct_answers":
        gold = _many(correct, choices)
    return Sample(
        input=str(row["question"]),
        choices=choices,
        target=",".join(LETTERS[i] for i in gold),
        metadata={
            "subject": subset,
            "error_type": error_type,
            "original_answer": LETTERS[answer],
            "correct_answer": correct,
            "potential_reason": str(row.get("potential_reason") or ""),
        },
    )


def score_any_choice(sample: Sample, text: str, /) -> Score:
    """The shared choice extraction; correct when the letter is one of the gold letters ("A,C")."""
    extracted = score_choice(sample, text).extracted
    gold = {t.strip().upper() for t in sample.target.split(",")}
    return Score(extracted=extracted, value=float(extracted is not None and extracted in gold))


MMLU_REDUX = register(
    Benchmark(
        name="mmlu_redux",
        pretty_name="MMLU-Redux",
        description=(
            "MMLU's 57 subjects, 100 re-annotated questions each (5,700); annotators' fixes applied, "
            "0-shot CoT."
        ),
        dataset_id="AI-ModelScope/mmlu-redux-2.0",
        hf_dataset_id="edinburgh-dawg/mmlu-redux-2.0",
        subsets=tuple(SUBJECTS),
        eval_split="test",
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_EN_COT, MCQ_EN_FEWSHOT_HEADER),
        scorer=score_any_choice,
        local_files=(
            "mmlu_{subset}.csv",
            "mmlu_redux/mmlu_{subset}.csv",
            "{subset}/{split}-*.parquet",
            "{subset}_{split}.jsonl",
            "{subset}.jsonl",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("mmlu_redux", "mmlu-redux", "mmlu-redux-2.0", "AI-ModelScope/mmlu-redux-2.0"),
        reader=read_redux_file,
        tags=("Knowledge", "MCQ"),
        extra={"categories": SUBJECTS},
    )
)
