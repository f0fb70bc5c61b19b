"""Repeats (``repeats: k``): each question asked k times; the metrics over a question's repeats.

Definitions, written once here (docs/eval.md "Repeats" repeats them for users):

- A *question* is one sample of the dataset; a *repeat* is one of its k answers, a line of its own in
  the predictions file (``id`` plus ``repeat`` 0..k-1). A repeat whose request failed (state
  ``error``) is not an answer: it counts in no metric below; a question with no answered repeat
  counts in none.
- ``score`` (avg@k): the mean over questions of the mean score over the question's answered repeats
  (with k = 1 this is the plain mean over samples, as before).
- ``pass@n`` (Chen et al. 2021, the unbiased estimator): for a question with m answered repeats of
  which c are correct (state ``correct``), ``1 - C(m-c, n) / C(m, n)``; averaged over the questions
  with m >= n. Reported for n = 1..k when k <= 16, else for the powers of two below k and k itself.
- ``maj@k`` (EvalScope's ``vote@k``): per question, the most frequent extracted answer among the
  repeats that committed to one (states ``correct`` and ``wrong``; unparsed and truncated repeats
  do not vote); ties go to the answer given first (lowest repeat index); the question scores that
  answer's score (0 when no repeat voted).
- Standard errors are across questions: sqrt(var / q) with the sample variance (q - 1) of the
  per-question values, q the number of questions counted; 0.0 when q == 1, None when q == 0.

Each repeat r >= 1 asks with its own seed (:func:`repeat_seed`); repeat 0 is exactly the request of a
k = 1 run, so changing k keeps the answers already there.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalscope.eval.results import SampleResult

__all__ = [
    "MetricValue",
    "pass_at_k",
    "pass_ks",
    "question_groups",
    "repeat_metric_names",
    "repeat_metrics",
    "repeat_seed",
]

#: seeds derived for repeats stay below 2**31: every server we know takes a signed 32-bit seed
_SEED_SPAN = 2**31 - 1


def repeat_seed(base: int | None, sample_id: str, repeat: int) -> int | None:
    """The seed sent with repeat ``repeat`` (>= 1) of a sample: a hash of the run's seed (``base``),
    the sample id and the repeat index, in [0, 2**31 - 1). None when ``base`` is None (no seed sent)."""
    if base is None:
        return None
    digest = hashlib.sha256(f"{base}\x00{sample_id}\x00{repeat}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _SEED_SPAN


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator from n samples of which c are correct: 1 - C(n-c, k) / C(n, k).

    Exact in integers (no float products); 1.0 when n - c < k (every k-subset holds a correct one).
    Raises ValueError unless 0 <= c <= n and 1 <= k <= n.
    """
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_ks(k: int) -> list[int]:
    """The n of the pass@n reported for k repeats: 1..k up to k = 16, else powers of two and k."""
    if k <= 16:
        return list(range(1, k + 1))
    out = [1 << i for i in range(k.bit_length()) if (1 << i) < k]
    return [*out, k]


def repeat_metric_names(k: int) -> list[str]:
    """The extra metric names of a k-repeat report, in report order (EvalScope 1.14's names)."""
    return [*(f"mean_acc_pass@{n}" for n in pass_ks(k)), f"mean_acc_vote@{k}"]


@dataclass(frozen=True)
class MetricValue:
    """One metric over a set of questions: how many were counted, the mean, its standard error."""

    num: int
    score: float | None
    stderr: float | None


def mean_stderr(values: Sequence[float]) -> MetricValue:
    """Mean and standard error (sample variance, n - 1) of per-question values, rounded to 4 places."""
    n = len(values)
    if not n:
        return MetricValue(0, None, None)
    mean = sum(values) / n
    if n == 1:
        return MetricValue(1, round(mean, 4), 0.0)
    var = sum((x - mean) ** 2 for x in values) / (n - 1)
    return MetricValue(n, round(mean, 4), round(math.sqrt(var / n), 4))


def question_groups(records: Iterable[SampleResult]) -> list[list[SampleResult]]:
    """The records grouped by question (subset and id), in first-seen order, each by repeat index."""
    groups: dict[tuple[str, str], list[SampleResult]] = {}
    for r in records:
        groups.setdefault((r.subset, r.id), []).append(r)
    return [sorted(g, key=lambda r: r.repeat or 0) if len(g) > 1 else g for g in groups.values()]


def _vote(answered: list[SampleResult]) -> float:
    """maj@k of one question (see the module docstring)."""
    counts: dict[str, int] = {}
    first: dict[str, SampleResult] = {}
    for r in answered:
        if r.state in ("correct", "wrong") and r.extracted is not None:
            counts[r.extracted] = counts.get(r.extracted, 0) + 1
            first.setdefault(r.extracted, r)
    if not counts:
        return 0.0
    top = max(counts.values())
    # dicts keep insertion order: the first answer reaching the top count is the one given first
    winner = next(a for a, c in counts.items() if c == top)
    return float(first[winner].score)


def repeat_metrics(records: Iterable[SampleResult], k: int) -> dict[str, MetricValue]:
    """pass@n (n in :func:`pass_ks`) and maj@k of ``records``, keyed by :func:`repeat_metric_names`."""
    passes: dict[int, list[float]] = {n: [] for n in pass_ks(k)}
    votes: list[float] = []
    for group in question_groups(records):
        answered = [r for r in group if r.state != "error"]
        if not answered:
            continue
        m = len(answered)
        c = sum(1 for r in answered if r.state == "correct")
        for n, values in passes.items():
            if n <= m:
                values.append(pass_at_k(m, c, n))
        votes.append(_vote(answered))
    out = {f"mean_acc_pass@{n}": mean_stderr(v) for n, v in passes.items()}
    out[f"mean_acc_vote@{k}"] = mean_stderr(votes)
    return out
