"""MGSM: 250 GSM8K problems translated into 10 languages, plus the English originals (11 subsets).

Protocol: EvalScope 1.14's ``mgsm`` adapter: the question as written in its language followed by the
English instruction "Please reason step by step, and put your final answer within \\boxed{}." (as for
gsm8k), the integer answer compared numerically (``\\boxed{}`` first, then an answer marker, then the
last number: ``evalscope.eval.scoring.score_numeric``). EvalScope's few-shot examples come from the
hub's ``train`` split (8 solved exemplars per language, from the MGSM authors' ``exemplars.py``) in its
gsm8k format; the local copy (google-research/url-nlp ``mgsm_<lang>.tsv``) has no exemplars, so the
default here is 0-shot; ``few_shot_num: 4`` uses them when a ``train`` file is at hand.

Local files: ``mgsm_<lang>.tsv``, no header row, two columns (question, integer answer), no quoting
(a ``"`` is an ordinary character: read with ``csv.QUOTE_NONE``). Hub rows (``question``, ``answer``,
``answer_number``, ``equation_solution``) are read too.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from evalscope.datasets import read_rows
from evalscope.datasets.rows import RowReadError
from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.scoring import score_numeric

LANGUAGES = ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")
PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
FEWSHOT = "Here are some examples of how to solve similar problems:\n\n{fewshot}\n\n" + PROMPT


def read_file(path: Path) -> list[dict[str, Any]]:
    """Rows of an MGSM file: the authors' headerless, unquoted TSV, or any format ``read_rows`` takes."""
    if path.suffix.lower() != ".tsv":
        return read_rows(path)
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for lineno, cells in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not cells or not any(c.strip() for c in cells):
                continue
            if len(cells) != 2:
                raise RowReadError(f"{path}:{lineno}: expected 2 tab-separated columns, got {len(cells)}")
            rows.append({"question": cells[0], "answer_number": cells[1]})
    return rows


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """A question and its integer answer (the hub's rows also carry a worked answer for few-shot)."""
    target = str(row["answer_number"]).strip()
    if not target:
        raise ValueError("empty answer")
    float(target.replace(",", ""))  # a number, or ValueError naming the row
    reasoning = row.get("answer")
    return Sample(input=str(row["question"]), target=target, metadata={"reasoning": reasoning or ""})


def _example(s: Sample) -> str:
    return f"{s.input}\n\nReasoning:\n{s.metadata.get('reasoning', '')}\n\nANSWER: {s.target}"


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The question with the ``\\boxed{}`` instruction, after the solved examples when few-shot."""
    if shots:
        return user(FEWSHOT.format(fewshot="\n\n".join(_example(s) for s in shots), question=sample.input))
    return user(PROMPT.format(question=sample.input))


MGSM = register(
    Benchmark(
        name="mgsm",
        pretty_name="MGSM",
        description="Multilingual grade-school math (google-research/url-nlp), 11 languages x 250, "
        "numeric answer, 0-shot CoT.",
        dataset_id="evalscope/mgsm",
        hf_dataset_id="juletxara/mgsm",
        subsets=LANGUAGES,
        eval_split="test",
        train_split="train",
        few_shot_num=0,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_numeric,
        reader=read_file,
        # split-specific layouts first: ``mgsm_<lang>.tsv`` (the authors' test file) matches any split
        local_files=(
            "{subset}/{split}-*.parquet",
            "{subset}/{split}.jsonl",
            "{subset}_{split}.jsonl",
            "mgsm_{subset}.tsv",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("mgsm", "evalscope/mgsm", "juletxara/mgsm"),
        tags=("Math", "Reasoning", "MultiLingual"),
    )
)
