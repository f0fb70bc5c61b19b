"""EvalScope 1.14 request fields that our models do not have: the one list, and what each one does here.

EvalScope 1.14 clients send fields of its ``TaskConfig`` (eval) and perf ``Arguments`` that this
service does not implement. Rather than pydantic's bare "extra inputs are not permitted", every
such field is named here with one of three fates:

- ``Rule(ignore=reason)``: accepted with any value and without effect (the reason is in docs/service.md);
- ``Rule(fold=fn)``: cheap to honour, mapped onto one of our fields;
- ``Rule(defaults=(...))``: accepted while it holds EvalScope's default (or null), which changes
  nothing; any other value answers "<field>: not supported yet by this service (EvalScope 1.14 field)".

Names in none of these lists and not fields of the model stay "unknown field". The models call
:func:`check_fields` from a ``mode="before"`` validator, so the CLI, the Python API and HTTP agree.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

UNSUPPORTED = "not supported yet by this service (EvalScope 1.14 field)"


@dataclass(frozen=True)
class Rule:
    """What happens to one EvalScope field our model lacks (see the module docstring)."""

    defaults: tuple[Any, ...] = ()
    ignore: str | None = None
    fold: Callable[[dict[str, Any], Any], None] | None = None


def _extra_arg(body_key: str) -> Callable[[dict[str, Any], Any], None]:
    """A sampling field EvalScope sends in the request body: it goes into our ``extra_args``."""

    def fold(data: dict[str, Any], value: Any) -> None:
        if value is None:
            return
        extra = data.get("extra_args")
        extra = dict(extra) if isinstance(extra, dict) else {}
        extra.setdefault(body_key, value)  # an explicit extra_args entry wins
        data["extra_args"] = extra

    return fold


def _truthful_qa_params(data: dict[str, Any], value: Any) -> None:
    """EvalScope's ``truthful_qa`` picks MC1 or MC2 with ``extra_params: {"multiple_correct": bool}``;
    here they are the subsets ``mc1`` / ``mc2`` (an explicit ``subset_list`` wins). Any other key is
    not supported yet."""
    if not isinstance(value, dict) or not value:
        return
    unknown = sorted(set(value) - {"multiple_correct"})
    if unknown:
        raise ValueError(f"extra_params: {', '.join(unknown)} {UNSUPPORTED}")
    if "multiple_correct" in value and data.get("subset_list") is None:
        data["subset_list"] = ["mc2" if value["multiple_correct"] else "mc1"]


def single_rate(value: Any) -> Any:
    """EvalScope 1.14's ``rate`` may be a list (a sweep of rates); a list of one value is that value."""
    if isinstance(value, list | tuple):
        if len(value) == 1:
            return value[0]
        raise ValueError(f"a list of several rates (a rate sweep) is {UNSUPPORTED}; give one rate")
    return value


def _open_loop(data: dict[str, Any], value: Any) -> None:
    """EvalScope's ``open_loop``: what trace replay always is; with any other dataset not supported yet."""
    if value and data.get("dataset") != "workload_trace":
        raise ValueError(f"open_loop: {UNSUPPORTED} (except with dataset workload_trace, which is open-loop)")


def _trace_dataset_args(data: dict[str, Any], value: Any) -> None:
    """EvalScope's ``dataset_args`` of ``workload_trace``: ``speed`` is our ``trace_speedup`` and
    ``match_output_length`` our ``trace_match_output``; any other key, or another dataset's, is not
    supported yet."""
    if not isinstance(value, dict) or not value:
        return
    known = {"speed": "trace_speedup", "match_output_length": "trace_match_output"}
    unknown = sorted(set(value) - set(known)) if data.get("dataset") == "workload_trace" else sorted(value)
    if unknown:
        raise ValueError(f"dataset_args: {', '.join(unknown)} {UNSUPPORTED}")
    for key, field in known.items():
        if key in value:
            data.setdefault(field, value[key])  # our own field, when given too, wins


def _sandbox(data: dict[str, Any], value: Any) -> None:
    """EvalScope 1.14's nested ``sandbox`` (``{enabled, engine, pool_size, default_config,
    manager_config}``): ``engine`` is our ``sandbox_type`` (its ``docker`` read as ``bwrap``),
    ``pool_size`` our ``sandbox_pool_size``; ``enabled`` changes nothing (code always runs in the
    sandbox); a container's ``default_config`` / ``manager_config`` is not supported yet."""
    if not isinstance(value, dict):
        raise ValueError('sandbox: expected an object such as {"engine": "bwrap"}')
    unknown = sorted(k for k in set(value) - {"enabled", "engine", "pool_size"} if value[k] not in (None, {}))
    if unknown:
        raise ValueError(f"sandbox: {', '.join(unknown)} {UNSUPPORTED}")
    for key, field in (("engine", "sandbox_type"), ("pool_size", "sandbox_pool_size")):
        if value.get(key) is not None:
            data.setdefault(field, value[key])  # our own field, when given too, wins


_LOCAL = "only used with a local model (api local / local_vllm), which this service does not run"

EVAL_FIELDS: dict[str, Rule] = {
    "model_id": Rule(ignore="reports and folders name the model by `model`"),
    "model_args": Rule(defaults=({},)),
    "model_task": Rule(defaults=("text_generation",)),
    "chat_template": Rule(),
    "eval_backend": Rule(defaults=("Native", "native")),
    "eval_config": Rule(),
    "rerun_review": Rule(defaults=(False,)),
    "no_timestamp": Rule(ignore="every job gets its own new folder, named by the service"),
    "enable_progress_tracker": Rule(ignore="progress is always tracked (job API, /api/v1/eval/progress)"),
    "ignore_errors": Rule(
        ignore="a failed request is always recorded as that sample's error and the run "
        "goes on; a run in which nothing could be scored fails"
    ),
    "dry_run": Rule(defaults=(False,)),
    "judge": Rule(defaults=({},)),
    "judge_worker_num": Rule(
        ignore="the judge's requests in flight are bounded by eval_batch_size, as in EvalScope 1.14 "
        "(which removed this field)"
    ),
    "analysis_report": Rule(defaults=(False,)),
    "collect_perf": Rule(ignore="evals do not collect per-request timings here; use /api/v1/perf"),
    "sandbox": Rule(fold=_sandbox),
    "use_sandbox": Rule(
        ignore="code benchmarks always run the model's code in the sandbox (`sandbox_type` picks how); "
        "EvalScope's false (run it in the evaluating process) is never done"
    ),
    "sandbox_manager_config": Rule(defaults=({},)),
    "agent_config": Rule(),
    "evalscope_version": Rule(ignore="informational: the version of the client's EvalScope"),
}

#: keys of EvalScope's ``judge_model_args`` that our ``JudgeModelArgs`` lacks
JUDGE_MODEL_ARGS_FIELDS: dict[str, Rule] = {
    "model_args": Rule(defaults=({},)),
    "score_pattern": Rule(),  # EvalScope 1.14 refuses it too (the JSON judge contract replaced it)
}

#: keys of EvalScope's ``dataset_args.<benchmark>`` that our ``DatasetArgs`` lacks
DATASET_ARGS_FIELDS: dict[str, Rule] = {
    "default_subset": Rule(),
    "few_shot_mode": Rule(defaults=("auto",)),
    "allowed_few_shot_nums": Rule(),
    "train_split": Rule(),
    "eval_split": Rule(),
    "prompt_template": Rule(),
    "few_shot_prompt_template": Rule(),
    "query_template": Rule(),
    "choice_instructions": Rule(),
    "filters": Rule(defaults=({},)),
    "metric_list": Rule(defaults=([],)),
    # with repeats > 1 both pass@k and vote@k are always reported (evalscope/eval/repeats.py)
    "aggregation": Rule(defaults=("mean", "mean_and_pass_at_k", "mean_and_vote_at_k")),
    "primary_metric": Rule(),
    "shuffle": Rule(defaults=(False,)),
    "shuffle_choices": Rule(defaults=(False,)),
    "force_redownload": Rule(defaults=(False,)),
    "extra_params": Rule(fold=_truthful_qa_params),
}

PERF_FIELDS: dict[str, Rule] = {
    "model_id": Rule(ignore=_LOCAL),
    "attn_implementation": Rule(ignore=_LOCAL),
    "port": Rule(ignore=_LOCAL),
    "scenario": Rule(),
    "enable_pd_metrics": Rule(defaults=(False,)),
    "open_loop": Rule(fold=_open_loop),
    # sla_auto_tune, sla_variable, sla_params, ...: mapped onto our SLO search before these rules
    # (evalscope/slo.py fold_evalscope_sla, called by PerfArguments)
    **{
        name: Rule(ignore="a tuning knob of EvalScope's own client; this engine has no equivalent")
        for name in (
            "db_commit_interval",
            "queue_size_multiplier",
            "in_flight_task_multiplier",
            "num_workers",
        )
    },
    "log_every_n_query": Rule(ignore="the run log reports progress on its own schedule"),
    "enable_progress_tracker": Rule(ignore="progress is always tracked (job API, /api/v1/perf/progress)"),
    "visualizer": Rule(),
    "wandb_api_key": Rule(),
    "swanlab_api_key": Rule(),
    "swanlab_host": Rule(),
    "alias": Rule(ignore="a display label of EvalScope's web UI (kept by the /api/v1/tasks routes)"),
    "no_timestamp": Rule(ignore="every job gets its own new folder, named by the service"),
    "apply_chat_template": Rule(),
    **{
        name: Rule(ignore="only used by the image datasets (random_vl), which are not supported yet")
        for name in ("image_width", "image_height", "image_format", "image_num", "image_patch_size")
    },
    "data_source": Rule(),
    "dataset_offset": Rule(defaults=(0,)),
    "dataset_args": Rule(fold=_trace_dataset_args),
    "frequency_penalty": Rule(fold=_extra_arg("frequency_penalty")),
    "repetition_penalty": Rule(fold=_extra_arg("repetition_penalty")),
    "logprobs": Rule(fold=_extra_arg("logprobs")),
    "n_choices": Rule(fold=_extra_arg("n")),
    "stop_token_ids": Rule(fold=_extra_arg("stop_token_ids")),
    "tokenize_prompt": Rule(defaults=(False,)),
    "multi_turn_args": Rule(),
}


def _accepts_none(annotation: Any) -> bool:
    return (
        annotation is None
        or type(None) in typing.get_args(annotation)
        or (isinstance(annotation, types.UnionType) and type(None) in annotation.__args__)
    )


def check_fields(data: Any, rules: Mapping[str, Rule], model_fields: Mapping[str, Any], what: str) -> Any:
    """The request ``data`` with EvalScope 1.14 fields applied per ``rules``; ValueError naming the field
    for one that is not supported yet, or unknown.

    A null for one of our fields that takes no null means "not set" in EvalScope's dumps: it is dropped
    so our default applies.
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    unknown: list[str] = []
    unsupported: list[str] = []
    for key in list(out):
        value = out[key]
        if key in model_fields:
            if value is None and not _accepts_none(model_fields[key].annotation):
                del out[key]
            continue
        rule = rules.get(key)
        if rule is None:
            unknown.append(key)
            continue
        del out[key]
        if rule.ignore is not None or value is None:
            continue
        if rule.fold is not None:
            rule.fold(out, value)
        elif not any(value == d and type(value) is type(d) for d in rule.defaults):
            unsupported.append(key)
    parts = [f"{k}: unknown field (not a field of {what}, nor of EvalScope 1.14's)" for k in unknown]
    parts += [f"{k}: {UNSUPPORTED}" for k in unsupported]
    if parts:
        raise ValueError("; ".join(parts))
    return out
