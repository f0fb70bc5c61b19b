"""From a model's answer to one sample state: correct, wrong, unparsed, truncated or error.

- ``error``: the request failed after the client's retries (no answer to score).
- ``truncated``: the server stopped at ``max_tokens`` (``finish_reason == "length"``); scored 0, kept
  apart from wrong answers so a too-small ``max_tokens`` is visible.
- ``unparsed``: an answer came back but no answer could be extracted from it; scored 0.
- ``correct`` / ``wrong``: the extracted answer compared with the gold one.

Each scorer here is used by name from a benchmark declaration.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from evalscope.eval.benchmarks.base import Sample, letters_for
from evalscope.eval.extractors import (
    extract_choice,
    extract_math,
    extract_number,
    normalize_number,
    strip_think,
)

STATES = ("correct", "wrong", "unparsed", "truncated", "error")


@dataclass
class Judgement:
    """The verdict on one answer: its state, what was extracted, and its score in [0, 1]."""

    state: str
    extracted: str | None
    score: float
    metrics: dict[str, float] = field(default_factory=dict)


def _numbers_equal(a: str, b: str) -> bool:
    try:
        return abs(Decimal(a) - Decimal(b)) <= Decimal("1e-6")
    except InvalidOperation:
        return a == b


def _numeric(sample: Sample, text: str) -> tuple[str | None, float]:
    pred = extract_number(text)
    if pred is None:
        return None, 0.0
    gold = normalize_number(sample.target) or sample.target.strip()
    return pred, float(_numbers_equal(pred, gold))


def _choice(sample: Sample, text: str) -> tuple[str | None, float]:
    pred = extract_choice(text, letters_for(sample.choices or []))
    return pred, float(pred is not None and pred == sample.target.strip().upper())


def _math_equal(gold: str, pred: str) -> bool:
    from math_verify import parse, verify

    if _strip_latex(gold) == _strip_latex(pred):
        return True
    # math-verify bounds its work with SIGALRM, which only the main thread may use.
    main = threading.current_thread() is threading.main_thread()
    kw_parse = {} if main else {"parsing_timeout": None}
    kw_verify = {} if main else {"timeout_seconds": None}
    g = parse(f"\\boxed{{{gold}}}", **kw_parse)
    p = parse(f"\\boxed{{{pred}}}", **kw_parse)
    return bool(g and p and verify(g, p, **kw_verify))


def _strip_latex(s: str) -> str:
    s = re.sub(r"\\(?:left|right|displaystyle|!|,|;|:)", "", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("$", "")
    return re.sub(r"\s+", "", s).rstrip(".")


def _math(sample: Sample, text: str) -> tuple[str | None, float]:
    pred = extract_math(text)
    if pred is None:
        return None, 0.0
    return pred, float(_math_equal(sample.target, pred))


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.U)


def tokenize(text: str) -> list[str]:
    """Words (lower case) for Latin text, single characters for Chinese: ROUGE's units here."""
    return [t.lower() for t in _TOKEN.findall(text)]


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(reference: str, prediction: str) -> dict[str, float]:
    """ROUGE-L recall, precision and F1 over ``tokenize`` units."""
    ref, pred = tokenize(reference), tokenize(prediction)
    lcs = _lcs(ref, pred)
    r = lcs / len(ref) if ref else float(not pred)
    p = lcs / len(pred) if pred else 0.0
    f = 2 * r * p / (r + p) if r + p else 0.0
    return {"Rouge-L-R": r, "Rouge-L-P": p, "Rouge-L-F": f}


def _qa(sample: Sample, text: str) -> tuple[str | None, float, dict[str, float]]:
    visible = strip_think(text)
    if not visible:
        return None, 0.0, {}
    m = rouge_l(sample.target, visible)
    return visible, m["Rouge-L-R"], m


SCORERS: dict[str, Callable[[Sample, str], tuple]] = {
    "numeric": _numeric,
    "choice": _choice,
    "math": _math,
    "qa": _qa,
}


def judge(scorer: str, sample: Sample, text: str | None, finish_reason: str | None,
          failed: bool = False) -> Judgement:
    """The state and score of one answer (``failed``: the request itself failed)."""
    if failed or text is None:
        return Judgement("error", None, 0.0)
    result = SCORERS[scorer](sample, text)
    extracted, score = result[0], result[1]
    metrics = result[2] if len(result) > 2 else {}
    if finish_reason == "length":
        return Judgement("truncated", extracted, 0.0, metrics)
    if extracted is None:
        return Judgement("unparsed", None, 0.0, metrics)
    # An open (qa) answer is "correct" when it holds every reference unit in order (recall 1).
    return Judgement("correct" if score >= 1.0 else "wrong", extracted, score, metrics)
