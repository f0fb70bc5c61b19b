"""IFEval (Zhou et al. 2023, "Instruction-Following Evaluation for Large Language Models"): 541
prompts carrying 25 kinds of verifiable instructions ("answer in fewer than 100 words", "no
commas", "wrap the answer in JSON", ...).

Protocol: the authors' code (google-research ``instruction_following_eval``), as EvalScope and
lm-eval run it. The prompt is sent as the only user message, zero-shot, no system prompt. Every
instruction is checked by the registry in :mod:`evalscope.eval.ifeval` on the visible answer
(``<think>`` blocks removed), strictly and loosely (:mod:`evalscope.eval.ifeval.evaluation`).

Metrics, as the paper defines them (all four in the report's ``metrics``):

- ``prompt_level_strict`` (the main score, as in EvalScope 1.14, whose headline for ``ifeval`` is
  also ``prompt_level_strict``): the share of prompts whose every instruction is followed;
- ``inst_level_strict``: followed instructions / all instructions, over all prompts (the paper's
  and lm-eval's micro average; EvalScope 1.14 averages each prompt's share instead);
- ``prompt_level_loose`` and ``inst_level_loose``: the same with the loose check.

A sample is ``correct`` when it follows every instruction strictly, ``wrong`` otherwise,
``unparsed`` when the visible answer is empty, ``truncated`` when cut at ``max_tokens``. Unparsed
and truncated answers count as following no instruction in all four metrics (the engine's rule
for a truncated answer: score 0); failed requests are left out, as everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, register, user
from evalscope.eval.extractors import strip_think
from evalscope.eval.ifeval import build_instructions, follow
from evalscope.eval.scoring import Score

if TYPE_CHECKING:
    from evalscope.eval.results import SampleResult

METRICS = ("prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose")
# per sample: how many instructions the prompt has, so instruction-level shares can be re-weighted
NUM_INSTRUCTIONS = "num_instructions"


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """A row has ``key``, ``prompt``, ``instruction_id_list`` and ``kwargs`` (one dict per id).
    The instructions are bound here, so an unknown id or a bad argument fails at load time."""
    ids = [str(i) for i in row["instruction_id_list"]]
    kwargs = list(row["kwargs"])
    build_instructions(ids, kwargs)
    return Sample(
        input=str(row["prompt"]),
        target=", ".join(ids),  # the instructions to follow: what a reader of the predictions checks
        metadata={"key": row.get("key"), "instruction_id_list": ids, "kwargs": kwargs},
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The prompt as it is, as the only user message."""
    return user(sample.input)


def score_ifeval(sample: Sample, text: str, /) -> Score:
    """The four IFEval values of one answer; ``value`` is prompt-level strict (1.0: every
    instruction followed). ``extracted`` summarises the counts and names the instructions missed."""
    ids = sample.metadata["instruction_id_list"]
    n = len(ids)
    visible = strip_think(text)
    if not visible:
        zeros = dict.fromkeys(METRICS, 0.0)
        return Score(extracted=None, value=0.0, metrics={**zeros, NUM_INSTRUCTIONS: float(n)})
    result = follow(visible, build_instructions(ids, sample.metadata["kwargs"]))
    strict, loose = sum(result.strict), sum(result.loose)
    missed = [i for i, ok in zip(ids, result.strict, strict=True) if not ok]
    summary = f"strict {strict}/{n}, loose {loose}/{n}" + (
        f"; missed (strict): {', '.join(missed)}" if missed else ""
    )
    metrics = {
        "prompt_level_strict": float(result.prompt_strict),
        "inst_level_strict": strict / n,
        "prompt_level_loose": float(result.prompt_loose),
        "inst_level_loose": loose / n,
        NUM_INSTRUCTIONS: float(n),
    }
    return Score(extracted=summary, value=metrics["prompt_level_strict"], metrics=metrics)


def aggregate(records: list[SampleResult]) -> dict[str, float | None]:
    """The report's four metrics over the answered samples (``state != "error"``): prompt-level
    values are means over prompts, instruction-level ones are followed / all instructions. A
    truncated or unparsed answer follows nothing."""
    answered = [r for r in records if r.state != "error"]
    if not answered:
        return dict.fromkeys(METRICS, None)
    followed = dict.fromkeys(METRICS, 0.0)
    instructions = 0.0
    for r in answered:
        n = r.metrics.get(NUM_INSTRUCTIONS, 0.0)
        instructions += n
        if r.state in ("correct", "wrong"):
            followed["prompt_level_strict"] += r.metrics.get("prompt_level_strict", 0.0)
            followed["prompt_level_loose"] += r.metrics.get("prompt_level_loose", 0.0)
            # the per-sample share times its count is the number followed (rounded: float shares)
            followed["inst_level_strict"] += round(r.metrics.get("inst_level_strict", 0.0) * n)
            followed["inst_level_loose"] += round(r.metrics.get("inst_level_loose", 0.0) * n)
    out: dict[str, float | None] = {}
    for name in METRICS:
        total = instructions if name.startswith("inst_") else len(answered)
        out[name] = round(followed[name] / total, 4) if total else None
    return out


IFEVAL = register(
    Benchmark(
        name="ifeval",
        pretty_name="IFEval",
        description="Verifiable instruction following (541 prompts, 25 instruction types); strict and loose, "
        "prompt- and instruction-level accuracy.",
        dataset_id="opencompass/ifeval",
        hf_dataset_id="google/IFEval",
        subsets=("default",),
        eval_split="train",
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_ifeval,
        metric_name="prompt_level_strict",
        aggregate=aggregate,
        local_files=(
            "input_data.jsonl",
            "ifeval_input_data.jsonl",
            "{split}.jsonl",
            "{subset}_{split}.jsonl",
        ),
        hub_file="ifeval_input_data.jsonl",
        dir_names=("ifeval", "IFEval", "opencompass/ifeval", "google/IFEval"),
        tags=("InstructionFollowing",),
    )
)
