"""From a model's answer to one sample state: correct, wrong, unparsed, truncated or error.

- ``error``: the request failed after the client's retries (no answer to score).
- ``truncated``: the server stopped at ``max_tokens`` (``finish_reason == "length"``); scored 0, kept
  apart from wrong answers so a too-small ``max_tokens`` is visible.
- ``unparsed``: an answer came back but no answer could be extracted from it; scored 0.
- ``correct`` / ``wrong``: the extracted answer compared with the gold one.

A scorer is a typed callable ``(sample, answer text) -> Score`` (:class:`Scorer`); a benchmark
declaration holds the scorer itself (``scorer=score_choice``). :func:`judge` turns its ``Score`` into
the sample's state. A new scorer is a function with that signature (docs/architecture.md).

A scorer that has to wait for something (code run in the sandbox, a judge model) is an
:class:`AsyncScorer`: ``await scorer.score(sample, text, ctx)`` with a :class:`ScoreContext` that holds
the run's config and run-scoped resources (a sandbox pool, the judge's client), and a ``check`` run
before the first request.  When the scorer itself fails (the sandbox broke, the judge answered
garbage) its ``Score.error`` makes the sample ``error``, never ``wrong``; ``Score.details`` (the code
run's output, the judge's verdict and reasoning) is kept with the sample for the sample browser.
An async verdict is cached with the run: resuming keeps it instead of running or asking again.
"""

from __future__ import annotations

import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from evalscope.eval.extractors import (
    extract_choice,
    extract_math,
    extract_number,
    normalize_number,
    strip_think,
)

if TYPE_CHECKING:
    from evalscope.eval.benchmarks.base import Sample
    from evalscope.eval.config import TaskConfig

log = logging.getLogger("evalscope.eval")

STATES = ("correct", "wrong", "unparsed", "truncated", "error")


class Score(BaseModel):
    """What a scorer finds in one answer: the extracted answer (None: nothing could be extracted),
    its score in [0, 1] (1.0 counts as correct), and any extra per-sample metrics (ROUGE-L parts)."""

    model_config = ConfigDict(frozen=True)

    extracted: str | None
    value: float
    metrics: dict[str, float] = Field(default_factory=dict)
    # the scorer itself failed (not the answer): the sample is "error" with this message
    error: str | None = None
    # what the scorer saw, for the sample browser: a code run's output, a judge's verdict and reasoning
    details: dict[str, Any] = Field(default_factory=dict)


class Scorer(Protocol):
    """A scorer: the gold answer is ``sample.target``; ``text`` is the model's answer (never None)."""

    def __call__(self, sample: Sample, text: str, /) -> Score: ...


class ScoreContext:
    """What an :class:`AsyncScorer` may use during one run: the run's config and resources shared by
    every sample of the run (created on first use, closed when the run ends)."""

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        self._resources: dict[str, Any] = {}

    def resource(self, key: str, factory: Any) -> Any:
        """The run's resource under ``key``, made by ``factory()`` the first time it is asked for."""
        if key not in self._resources:
            self._resources[key] = factory()
        return self._resources[key]

    async def aclose(self) -> None:
        """Close every resource that has ``aclose`` or ``close`` (the run is over)."""
        resources, self._resources = list(self._resources.values()), {}
        for r in resources:
            closer = getattr(r, "aclose", None) or getattr(r, "close", None)
            if closer is not None:
                result = closer()
                if hasattr(result, "__await__"):
                    await result


class AsyncScorer(ABC):
    """A scorer that waits for something: code run in the sandbox, a judge model."""

    def check(self, config: TaskConfig) -> None:  # noqa: B027 -- most scorers need no check
        """Raise ``ValueError`` (naming the setting and the fix) when this scorer cannot work in a run
        with ``config`` (no sandbox, no judge): called before the first request is sent."""

    def fingerprint(self, config: TaskConfig) -> str:
        """What a cached verdict must have been scored by to be kept on resume (a verdict of another
        judge model or template is scored again). Never holds a secret: it is written with the sample."""
        return type(self).__qualname__

    async def prepare(self, ctx: ScoreContext) -> list[str]:
        """Once before the first sample (unless the connection test is off): raise
        ``evalscope.errors.RunFailed`` when the scorer cannot serve the run at all (a judge that
        cannot be reached); returns warnings."""
        return []

    @abstractmethod
    async def score(self, sample: Sample, text: str, ctx: ScoreContext, /) -> Score:
        """The verdict on ``text``; a failure of the scorer itself is ``Score(error=...)``."""


AnyScorer = Scorer | AsyncScorer


@dataclass
class Judgement:
    """The verdict on one answer: its state, what was extracted, and its score in [0, 1]."""

    state: str
    extracted: str | None
    score: float
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the scorer failed (state "error")
    details: dict[str, Any] = field(default_factory=dict)


def _numbers_equal(a: str, b: str) -> bool:
    try:
        return abs(Decimal(a) - Decimal(b)) <= Decimal("1e-6")
    except InvalidOperation:
        return a == b


def score_numeric(sample: Sample, text: str, /) -> Score:
    """The final number the answer commits to (``extract_number``) equal to the gold number (GSM8K)."""
    pred = extract_number(text)
    if pred is None:
        return Score(extracted=None, value=0.0)
    gold = normalize_number(sample.target) or sample.target.strip()
    return Score(extracted=pred, value=float(_numbers_equal(pred, gold)))


def score_choice(sample: Sample, text: str, /) -> Score:
    """The option the answer commits to equal to the gold letter (multiple choice). The options' texts
    go to the reader too: an answer that names one option by its exact text chose that option."""
    # imported here: the benchmark files import this module, and base's package imports them
    from evalscope.eval.benchmarks.base import letters_for

    choices = sample.choices or []
    pred = extract_choice(text, letters_for(choices), choices)
    return Score(extracted=pred, value=float(pred is not None and pred == sample.target.strip().upper()))


# "ANSWER: A, C" / "The answer is A and C" / "答案：A、C": a marker, then the labels listed (multi-select).
_MULTI_MARKER = re.compile(r"(?:answer\s*(?:is\s*:?|:|：)|答案\s*(?:是|为|：|:))[\s*]*", re.I)
_LABEL_WORD = re.compile(r"[A-Za-z]+")


def _label_list(tail: str, allowed: str) -> list[str]:
    """The option labels listed at the start of ``tail``: "A, C", "(A/C)", "A and C", "AC"; stops at
    the first word that is not a label (so "A, C because B is false" gives A and C)."""
    tail = tail.split("\n", 1)[0].lstrip("([（【$ ")
    found: list[str] = []
    pos = 0
    for m in _LABEL_WORD.finditer(tail):
        gap, word = tail[pos : m.start()], m.group(0)
        if found and gap.strip(" ,，、/;*") not in ("", "&"):
            break  # a sentence goes on (". Because ..."): the list ended
        if word.isupper() and all(c in allowed for c in word):
            found.extend(c for c in word if c not in found)
        elif not (found and word.lower() in ("and", "or")):
            break
        pos = m.end()
    return found


def extract_choices(
    text: str, letters: Sequence[str], choices: Sequence[str] | None = None
) -> list[str] | None:
    """Multi-select: the labels listed after the last answer marker followed by one or more labels.
    A list of one label (or no marker) is left to the shared single-choice reader ``extract_choice``,
    so one chosen letter is read exactly as in single-answer benchmarks. None: nothing chosen."""
    visible = strip_think(text)
    allowed = "".join(letters)
    for m in reversed(list(_MULTI_MARKER.finditer(visible))):
        labels = _label_list(visible[m.end() :], allowed)
        if len(labels) > 1:
            return sorted(labels)
        if labels:
            break
    one = extract_choice(text, letters, choices)
    return [one] if one is not None else None


def score_multi_choice(sample: Sample, text: str, /) -> Score:
    """Multiple answers may be correct (``sample.target`` holds every correct letter, e.g. ``"ACE"``):
    EvalScope 1.14's ``multi_choice_acc`` — 0 when any chosen letter is wrong, else the share of the
    correct letters chosen (all of them: 1.0)."""
    from evalscope.eval.benchmarks.base import letters_for

    pred = extract_choices(text, letters_for(sample.choices or []), sample.choices)
    if pred is None:
        return Score(extracted=None, value=0.0)
    gold = set(sample.target.strip().upper())
    value = len(gold & set(pred)) / len(gold) if gold and set(pred) <= gold else 0.0
    return Score(extracted="".join(pred), value=value)


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


def score_math(sample: Sample, text: str, /) -> Score:
    """The final expression of the answer equivalent to the gold one (math-verify; MATH-500)."""
    pred = extract_math(text)
    if pred is None:
        return Score(extracted=None, value=0.0)
    return Score(extracted=pred, value=float(_math_equal(sample.target, pred)))


_INTEGER_ANSWER = re.compile(r"(-?\d{1,3}(?:,\d{3})+|-?\d+)(?:\.0+)?(?:\s*[A-Za-z][A-Za-z ]*)?")


def read_integer(answer: str) -> int | None:
    """The integer a committed final answer states: ``"204"``, ``"025"``, ``"1,024"``, ``"$204$"``,
    ``"\\text{204 minutes}"``, ``"x = 204"``, ``"70 - 9 = 61"`` (the result after the last ``=``);
    None when it is not one integer (``"\\frac{1}{2}"``, ``"204.5"``, ``"3 or 4"``)."""
    t = re.sub(r"\\(?:text|mathrm|mathbf|textbf)\{([^{}]*)\}", r"\1", answer)
    t = t.replace("$", "").replace("\\,", "").replace("{,}", ",").replace("\\!", "")
    t = t.rsplit("=", 1)[-1].strip().rstrip(".").strip()
    m = _INTEGER_ANSWER.fullmatch(t)
    return int(m.group(1).replace(",", "")) if m else None


def score_integer(sample: Sample, text: str, /) -> Score:
    """An integer answer (AIME: 0-999): the final number the answer commits to (the shared numeric reader
    ``extract_number``: the last explicit marker wins, arithmetic gives its result, markers that disagree,
    an empty ``\\boxed{}`` or no marker at all commit to nothing) compared as an integer with the gold (``"025"`` equals
    25). No committed answer: unparsed (extracted None)."""
    pred = extract_number(text, marker_only=True)
    if pred is None:
        return Score(extracted=None, value=0.0)
    gold = read_integer(sample.target)
    value = read_integer(pred)
    if value is not None:
        return Score(extracted=str(value), value=float(gold is not None and value == gold))
    equal = _math_equal(str(gold) if gold is not None else sample.target, pred)
    return Score(extracted=pred, value=float(equal))


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


def score_qa(sample: Sample, text: str, /) -> Score:
    """An open answer (reasoning removed) against the reference: ROUGE-L recall is the score."""
    visible = strip_think(text)
    if not visible:
        return Score(extracted=None, value=0.0)
    m = rouge_l(sample.target, visible)
    return Score(extracted=visible, value=m["Rouge-L-R"], metrics=m)


def judge(
    scorer: Scorer, sample: Sample, text: str | None, finish_reason: str | None, failed: bool = False
) -> Judgement:
    """The state and score of one answer (``failed``: the request itself failed)."""
    if failed or text is None:
        return Judgement("error", None, 0.0)
    return _verdict(scorer(sample, text), finish_reason)


async def judge_async(
    scorer: AnyScorer,
    sample: Sample,
    text: str | None,
    finish_reason: str | None,
    ctx: ScoreContext,
    failed: bool = False,
) -> Judgement:
    """:func:`judge` for either kind of scorer. An async scorer is not called for an answer cut at
    ``max_tokens`` (``truncated`` whatever it holds: no sandbox run, no judge tokens spent on it)."""
    if not isinstance(scorer, AsyncScorer):
        return judge(scorer, sample, text, finish_reason, failed)
    if failed or text is None:
        return Judgement("error", None, 0.0)
    if finish_reason == "length":
        return Judgement("truncated", None, 0.0)
    try:
        result = await scorer.score(sample, text, ctx)
    except Exception as exc:  # a scorer bug must not end the run: this sample is an error, with why
        log.exception("scorer failed on %s", sample.id)
        return Judgement("error", None, 0.0, error=f"scorer failed: {type(exc).__name__}: {exc}")
    return _verdict(result, finish_reason)


def _verdict(result: Score, finish_reason: str | None) -> Judgement:
    extracted, score, metrics = result.extracted, result.value, dict(result.metrics)
    if result.error is not None:
        return Judgement("error", extracted, 0.0, metrics, result.error, dict(result.details))
    if finish_reason == "length":
        return Judgement("truncated", extracted, 0.0, metrics, details=dict(result.details))
    if extracted is None:
        return Judgement("unparsed", None, 0.0, metrics, details=dict(result.details))
    # An open (qa) answer is "correct" when it holds every reference unit in order (recall 1).
    state = "correct" if score >= 1.0 else "wrong"
    return Judgement(state, extracted, score, metrics, details=dict(result.details))
