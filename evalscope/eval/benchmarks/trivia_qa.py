"""TriviaQA: open trivia questions; an answer is right when it equals one of the question's aliases.

Protocol: EvalScope 1.14's ``trivia_qa`` adapter, with the official TriviaQA answer normaliser
(``triviaqa_evaluation.py``: lower case, punctuation to spaces, articles removed, whitespace collapsed):
the prompt asks for the answer on a last line ``ANSWER: [ANSWER]``; the text after the last
``ANSWER:`` marker (else a one-line reply as a whole) is normalised and must equal a normalised alias
(exact match over aliases, as EvalScope's ``acc`` with ``allow_inclusion``). A reply of several lines
with no ``ANSWER:`` line commits to no answer: ``unparsed``.

EvalScope reads the hub's ``rc.wikipedia`` rows and puts the Wikipedia context in the prompt ("Read the
content and answer the following question. Content: ..."); such rows are read here with that prompt.
The local copy (llm-foundry's ``triviaqa_sm_sub.jsonl``: a 3,000-question subsample with no context,
``context`` "Question: <q>\\nAnswer:", ``answer``, ``aliases``) gets the same prompt without the
content paragraph; its subset is ``default``.
"""

from __future__ import annotations

import re
import string
from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.extractors import strip_think
from evalscope.eval.scoring import Score

_ASK = (
    'The last line of your response should be of the form "ANSWER: [ANSWER]" (without quotes) where '
    "[ANSWER] is the answer to the problem."
)
PROMPT_WITH_CONTENT = (
    "Read the content and answer the following question.\n\nContent: {content}\n\nQuestion: {question}\n\n"
    + _ASK
    + "\n"
)
PROMPT = "Answer the following question.\n\nQuestion: {question}\n\n" + _ASK + "\n"

# Characters the official evaluation turns into spaces (string.punctuation plus typographic quotes).
_PUNCTUATION = set(string.punctuation + "‘’´`")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ANSWER_LINE = re.compile(r"(?i)\**\s*answer\s*\**\s*:\s*")


def normalize_answer(text: str) -> str:
    """The official TriviaQA normalisation: underscores and punctuation to spaces, lower case,
    articles removed, whitespace collapsed."""
    text = "".join(" " if ch in _PUNCTUATION else ch for ch in text.replace("_", " ").lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_text(text: str) -> str | None:
    """The answer a reply commits to: its last ``ANSWER:`` line, else the reply when it is one line."""
    visible = strip_think(text)
    markers = list(_ANSWER_LINE.finditer(visible))
    if markers:
        return visible[markers[-1].end() :].split("\n", 1)[0].strip().strip("*").strip() or None
    lines = [ln for ln in visible.splitlines() if ln.strip()]
    return lines[0].strip() if len(lines) == 1 else None


def score_aliases(sample: Sample, text: str, /) -> Score:
    """Exact match, after normalisation, with any accepted answer (``metadata.aliases``)."""
    answer = answer_text(text)
    if answer is None or not normalize_answer(answer):
        return Score(extracted=None, value=0.0)
    pred = normalize_answer(answer)
    accepted = {normalize_answer(a) for a in [sample.target, *sample.metadata.get("aliases", [])]}
    return Score(extracted=answer, value=float(pred in accepted - {""}))


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """An llm-foundry row (``context``/``answer``/``aliases``) or a hub row (``question``/``answer``)."""
    if "context" in row and "aliases" in row:  # llm-foundry
        question = str(row["context"]).strip()
        question = question.removeprefix("Question:").strip()
        question = re.sub(r"\s*Answer:\s*$", "", question)
        answer, aliases, content = str(row["answer"]), [str(a) for a in row["aliases"]], None
    else:  # the hub's rows
        question = str(row["question"])
        ans = row["answer"]
        answer = str(ans["value"])
        aliases = [str(a) for a in [*ans.get("aliases", []), *ans.get("normalized_aliases", [])]]
        pages = row.get("entity_pages") or {}
        wiki = pages.get("wiki_context") if isinstance(pages, dict) else None
        content = "\n".join(wiki) if isinstance(wiki, list) else wiki
    if not question or not answer.strip():
        raise ValueError("empty question or answer")
    metadata: dict[str, Any] = {"aliases": aliases}
    if content:
        metadata["content"] = content
    if "question_id" in row:
        metadata["question_id"] = row["question_id"]
    return Sample(input=question, target=answer, metadata=metadata)


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """EvalScope's prompt; without the content paragraph when the row has no context."""
    content = sample.metadata.get("content")
    if content:
        return user(PROMPT_WITH_CONTENT.format(content=content, question=sample.input))
    return user(PROMPT.format(question=sample.input))


TRIVIA_QA = register(
    Benchmark(
        name="trivia_qa",
        pretty_name="TriviaQA",
        description="TriviaQA trivia questions (llm-foundry 3,000-question no-context subset locally); "
        "exact match with any alias after the official normalisation, 0-shot.",
        dataset_id="evalscope/trivia_qa",
        hf_dataset_id="mandarjoshi/trivia_qa",
        subsets=("default",),
        eval_split="validation",
        few_shot_num=0,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_aliases,
        local_files=(
            "triviaqa_sm_sub.jsonl",
            "triviaqa.jsonl",
            "{subset}_{split}.jsonl",
            "{split}.jsonl",
            "rc.wikipedia/{split}-*.parquet",
        ),
        hub_file="rc.wikipedia/{split}-00000-of-00001.parquet",
        dir_names=("triviaqa", "trivia_qa", "evalscope/trivia_qa", "mandarjoshi/trivia_qa"),
        tags=("QA", "Knowledge"),
    )
)
