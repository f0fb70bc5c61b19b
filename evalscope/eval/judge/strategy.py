"""``judge_strategy``: which scorer a run uses for a benchmark (the one home of that rule).

EvalScope 1.14.1's meanings (``LLMJudgeMixin``), per benchmark, from its ``scoring_policy``
(``rule_default``: a rule scorer, the default; ``judge_default``: a rule scorer, but judged by
default; ``judge_only``: no rule scorer, e.g. simple_qa):

- ``rule``: the benchmark's own scorer; refused for a ``judge_only`` benchmark;
- ``llm``: the judge grades every answer (the benchmark's judge template, else the generic grader);
- ``llm_recall``: the rule first; the judge grades only what the rule does not score correct, and can
  only raise its score (``max(rule, judge)``); refused for a ``judge_only`` benchmark;
- ``auto``: ``llm`` for a benchmark judged by default (``judge_default``, ``judge_only``), else
  ``rule``. ``auto`` does not look at ``judge_model_args``: giving a judge model does not turn judging
  on for a rule benchmark (general_qa under ``auto`` is ROUGE-scored), as in EvalScope.

Any strategy that asks the judge needs ``judge_model_args``: :func:`check_config` refuses the config
otherwise, naming the field, before any request.

Where EvalScope differs: a judge that fails (HTTP error after retries, an unparsable verdict) makes the
sample ``error`` here under ``llm`` *and* ``llm_recall`` (EvalScope keeps the rule's score as a
fallback); a resumed run asks the judge again for exactly those samples.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

from evalscope.eval.judge.scorer import JudgeScorer

if TYPE_CHECKING:
    from evalscope.eval.benchmarks.base import Benchmark
    from evalscope.eval.config import TaskConfig

Resolved = Literal["rule", "llm", "llm_recall"]

#: the main metric of a benchmark graded by the generic judge (the mean of the judge's 0/1 grades)
JUDGE_METRIC = "AverageAccuracy"


def resolve(strategy: str, benchmark: Benchmark) -> Resolved:
    """``rule``, ``llm`` or ``llm_recall`` for ``benchmark`` (``auto`` resolved by its scoring policy)."""
    if strategy == "auto":
        return "rule" if benchmark.scoring_policy == "rule_default" else "llm"
    if strategy in ("rule", "llm", "llm_recall"):
        return strategy  # type: ignore[return-value]
    raise ValueError(f"judge_strategy: unknown strategy {strategy!r}")


def check_config(cfg: TaskConfig) -> None:
    """ValueError naming the field when a benchmark of the run cannot be scored as asked: ``rule`` or
    ``llm_recall`` for a benchmark without a rule scorer, or a judge without ``judge_model_args``."""
    from evalscope.eval.benchmarks import get_benchmark

    for name in cfg.datasets:
        bench = get_benchmark(name)
        if cfg.judge_strategy in ("rule", "llm_recall") and bench.scoring_policy == "judge_only":
            raise ValueError(
                f"judge_strategy: {name} has no rule-based scoring, so '{cfg.judge_strategy}' cannot "
                "score it; use 'auto' or 'llm' with judge_model_args"
            )
        if cfg.judge_model_args is None and resolve(cfg.judge_strategy, bench) != "rule":
            raise ValueError(
                f"judge_model_args: required: {name} is graded by a judge model under judge_strategy "
                f"'{cfg.judge_strategy}'; give at least model_id and api_url"
            )


def for_run(benchmark: Benchmark, cfg: TaskConfig) -> Benchmark:
    """``benchmark`` as this run scores it: its scorer (the rule's, or a :class:`JudgeScorer`), and the
    report's main metric and extra metrics that go with that scorer."""
    strategy = resolve(cfg.judge_strategy, benchmark)
    if strategy == "rule" or isinstance(benchmark.scorer, JudgeScorer):
        return benchmark  # a judge_only benchmark declares its judge scorer itself
    if strategy == "llm_recall":
        scorer = JudgeScorer(benchmark.judge_template, rule=benchmark.scorer)
        return dataclasses.replace(benchmark, scorer=scorer)
    if benchmark.judge_template is not None:  # a grader of its own: its metrics stay
        return dataclasses.replace(benchmark, scorer=JudgeScorer(benchmark.judge_template))
    # the generic grader: the rule's own metrics (ROUGE, IFEval's accuracies) are not computed
    return dataclasses.replace(benchmark, scorer=JudgeScorer(None), metric_name=JUDGE_METRIC, aggregate=None)
