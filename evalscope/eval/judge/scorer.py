"""The judge scorer: an :class:`~evalscope.eval.scoring.AsyncScorer` that asks the judge model.

One judge client per run (``ctx.resource("judge", ...)``: the project's ``ModelClient`` with its
retries, ``eval_batch_size`` requests at most in flight, closed when the run ends). For each answer
the scorer sends the template's conversation (question, gold answer, the answer with any ``<think>``
block removed), reads the verdict strictly (:meth:`JudgeTemplate.parse`) and returns a ``Score``:

- ``value``: the verdict label's score; ``metrics``: the label's metrics (simple_qa's ``is_correct``,
  ``is_incorrect``, ``is_not_attempted``); ``extracted``: the answer graded.
- ``details``: ``verdict`` (the label), ``grade`` (its name), ``reasoning``, ``judge_model`` and
  ``judge_usage`` (the judge's prompt and completion tokens); on an unparsable reply also
  ``judge_output`` (the raw reply).
- a judge request that still failed after the retries (HTTP 500, connection refused, timeout) or an
  unparsable reply: ``Score(error=...)`` with the reason: the sample is ``error`` (never ``wrong``) and a
  resumed run asks the judge again for it only (the model is not asked again).

``rule`` (``llm_recall``): the benchmark's own scorer first; an answer it scores correct is kept and
the judge is not asked; otherwise the judge's score can only raise the rule's (EvalScope's
``max(rule, judge)``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalscope.eval.extractors import strip_think
from evalscope.eval.judge.templates import JudgeTemplate, VerdictError, generic_template
from evalscope.eval.scoring import AsyncScorer, Score, ScoreContext
from evalscope.secrets import redact_text

if TYPE_CHECKING:
    from evalscope.client import ModelClient
    from evalscope.eval.benchmarks.base import Sample
    from evalscope.eval.config import JudgeModelArgs, TaskConfig
    from evalscope.eval.scoring import AnyScorer

log = logging.getLogger("evalscope.eval")

#: the ``ScoreContext`` resource key of the run's judge client
RESOURCE = "judge"


def question_text(sample: Sample) -> str:
    """The question the judge is shown: the sample's input, else its last user message."""
    if sample.input:
        return sample.input
    for m in reversed(sample.messages or []):
        if m.get("role") == "user":
            content = m.get("content")
            return content if isinstance(content, str) else str(content or "")
    return ""


def judge_client(args: JudgeModelArgs, concurrency: int) -> ModelClient:
    """The run's judge client (closed by the ``ScoreContext`` when the run ends)."""
    from evalscope.client import ModelClient

    return ModelClient(
        api=args.api,
        url=args.api_url,
        api_key=args.api_key,
        model=args.model_id,
        timeout=args.timeout,
        max_retries=args.max_retries,
        concurrency=concurrency,
    )


def prompt_template(args: JudgeModelArgs) -> str | None:
    """``prompt_template``'s text: as given, or read from the file an ``@path`` names."""
    value = args.prompt_template
    if value is None or not value.startswith("@"):
        return value
    try:
        text = Path(value[1:]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"judge_model_args.prompt_template: cannot read {value[1:]}: {exc}") from None
    if "{pred}" not in text:
        raise ValueError(
            f"judge_model_args.prompt_template: {value[1:]} must contain {{pred}} (the answer to grade)"
        )
    return text


class JudgeScorer(AsyncScorer):
    """Grades an answer with the judge model. ``template`` None: the generic grader shaped by
    ``judge_model_args`` (``prompt_template``, ``system_prompt``, ``score_mapping``); ``rule``: the
    benchmark's own scorer, asked first (``llm_recall``)."""

    def __init__(self, template: JudgeTemplate | None = None, rule: AnyScorer | None = None) -> None:
        self.template = template
        self.rule = rule

    def check(self, config: TaskConfig) -> None:
        """No judge model configured, or an ``@file`` prompt template that cannot be read or lacks
        ``{pred}``: ValueError naming the field."""
        if config.judge_model_args is None:
            raise ValueError(
                f"judge_model_args: required: answers are graded by a judge model (judge_strategy "
                f"'{config.judge_strategy}'); give at least model_id and api_url"
            )
        prompt_template(config.judge_model_args)

    def fingerprint(self, config: TaskConfig) -> str:
        """The judge model, where it is served, how it is asked and with which template (never the
        key): a verdict cached under another judge, template or strategy is graded again on resume."""
        import hashlib
        import json

        args = config.judge_model_args
        if args is None:
            return "judge"
        seen = {
            "model": args.model_id,
            "url": redact_text(args.api_url),
            "api": args.api,
            "generation": args.generation_config.model_dump(mode="json"),
            "template": repr(self.template_for(args)),
            "rule": getattr(self.rule, "__qualname__", type(self.rule).__qualname__) if self.rule else None,
        }
        digest = hashlib.sha1(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()[:12]
        return f"judge:{args.model_id}:{digest}"

    async def prepare(self, ctx: ScoreContext) -> list[str]:
        """The judge's connection test (as the model's): a judge that cannot be reached, or refuses the
        key, fails the run before the model is asked anything."""
        from evalscope.client.probe import check_connection

        args = ctx.config.judge_model_args
        if args is None:
            return []
        from evalscope.errors import RunFailed

        try:
            warning = await check_connection(
                args.api, args.api_url, args.model_id, args.api_key, timeout=args.timeout
            )
        except RunFailed as exc:
            raise RunFailed(f"judge model {args.model_id}: {exc.message}") from None
        return [f"judge model {args.model_id}: {warning}"] if warning else []

    def template_for(self, args: JudgeModelArgs) -> JudgeTemplate:
        """The template used with ``args``."""
        if self.template is not None:
            return self.template
        return generic_template(prompt_template(args), args.system_prompt, args.score_mapping)

    async def _by_rule(self, sample: Sample, text: str, ctx: ScoreContext) -> Score | None:
        if self.rule is None:
            return None
        if isinstance(self.rule, AsyncScorer):
            return await self.rule.score(sample, text, ctx)
        return self.rule(sample, text)

    async def score(self, sample: Sample, text: str, ctx: ScoreContext, /) -> Score:
        """The verdict on ``text`` (see the module docstring)."""
        base = await self._by_rule(sample, text, ctx)
        if base is not None and (
            base.error is not None or (base.extracted is not None and base.value >= 1.0)
        ):
            return base  # llm_recall: the rule scores it correct (or failed itself): the judge is not asked
        args = ctx.config.judge_model_args
        if args is None:  # check() refuses such a run before it starts
            raise RuntimeError("judge_model_args is not set")
        template = self.template_for(args)
        visible = strip_think(text).strip()
        if not visible:  # nothing to grade: the rule's verdict, or unparsed
            return base or Score(extracted=None, value=0.0, metrics=_empty_metrics(template))
        client = ctx.resource(RESOURCE, lambda: judge_client(args, ctx.config.eval_batch_size))
        details: dict[str, Any] = {**(base.details if base else {}), "judge_model": args.model_id}
        record, error = await self._ask(client, args, template, sample, visible)
        details.update(record)
        metrics = dict(base.metrics) if base else {}
        if error is not None:
            return Score(extracted=visible, value=0.0, metrics=metrics, error=error, details=details)
        label = template.labels[record["verdict"]]
        metrics.update(label.metrics)
        if base is None:
            return Score(extracted=visible, value=label.score, metrics=metrics, details=details)
        # llm_recall: the judge can only raise the rule's score
        if label.score > base.value:
            return Score(extracted=visible, value=label.score, metrics=metrics, details=details)
        return Score(extracted=base.extracted, value=base.value, metrics=metrics, details=details)

    async def _ask(
        self, client: ModelClient, args: JudgeModelArgs, template: JudgeTemplate, sample: Sample, pred: str
    ) -> tuple[dict[str, Any], str | None]:
        """The judge's record for one answer and, when no verdict could be had, why."""
        from evalscope.client import ApiError, GenerationRequest

        g = args.generation_config
        req = GenerationRequest(
            messages=template.messages(question_text(sample), sample.target, pred),
            max_tokens=g.max_tokens,
            temperature=g.temperature,
            top_p=g.top_p,
            top_k=g.top_k,
            stop=g.stop,
            seed=g.seed,
            stream=False,
            extra_body=g.extra_body(),
        )
        try:
            c = await client.generate(req)
        except ApiError as exc:
            reason = redact_text(str(exc)) or exc.reason
            log.warning("judge %s on %s: request failed after retries: %s", args.model_id, sample.id, reason)
            return {"judge_error_reason": exc.reason}, f"judge request failed ({exc.reason}): {reason}"
        record: dict[str, Any] = {
            "judge_usage": {
                "prompt_tokens": c.usage.prompt_tokens or 0,
                "completion_tokens": c.usage.completion_tokens or 0,
            }
        }
        try:
            label, reasoning = template.parse(c.text)
        except VerdictError as exc:
            log.warning("judge %s on %s: unparsable verdict: %s", args.model_id, sample.id, exc)
            record.update(judge_error_reason="unparsable", judge_output=c.text)
            return record, f"judge verdict unparsable: {exc}"
        record.update(verdict=label, grade=template.labels[label].grade, reasoning=reasoning)
        return record, None


def _empty_metrics(template: JudgeTemplate) -> dict[str, float]:
    # an empty answer counts in none of the labels' metrics (simple_qa: it is not attempted)
    names = {m for label in template.labels.values() for m in label.metrics}
    return dict.fromkeys(sorted(names), 0.0)
