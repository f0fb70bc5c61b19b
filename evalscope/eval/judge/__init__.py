"""LLM-as-judge (EvalScope's ``judge_strategy`` / ``judge_model_args``): the judge scorer, its prompt
templates and strict verdicts, and the rule that picks a benchmark's scorer (``strategy.for_run``)."""

from evalscope.eval.judge.scorer import JudgeScorer
from evalscope.eval.judge.strategy import check_config, for_run, resolve
from evalscope.eval.judge.templates import SIMPLE_QA, JudgeTemplate, Label, VerdictError, generic_template

__all__ = [
    "SIMPLE_QA",
    "JudgeScorer",
    "JudgeTemplate",
    "Label",
    "VerdictError",
    "check_config",
    "for_run",
    "generic_template",
    "resolve",
]
