"""``TaskConfig``: the one validated description of an eval run (CLI flags, Python API, HTTP body)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from evalscope import limits, upstream_fields
from evalscope.paths import HubIdOrPath, LocalDir, LocalPath, OutputDir, RunDir, TextOrFile
from evalscope.secrets import REDACTED, redact_config  # noqa: F401 - REDACTED: kept for importers


class GenerationConfig(BaseModel):
    """Sampling settings sent with every request. Unknown keys go into the request body as they are."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    temperature: float = Field(0.0, ge=0.0, le=limits.MAX_TEMPERATURE)
    max_tokens: int = Field(2048, ge=1, le=limits.MAX_TOKENS)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=-1, le=limits.MAX_TOP_K)
    seed: int | None = Field(None, ge=-limits.MAX_SEED - 1, le=limits.MAX_SEED)  # sent to the model as is
    stop: list[str] | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    def extra_body(self) -> dict[str, Any]:
        """The keys this model does not name (e.g. ``repetition_penalty``), for the request body."""
        return dict(self.model_extra or {})


class JudgeGenerationConfig(GenerationConfig):
    """The judge's sampling settings; EvalScope's judge defaults: temperature 0, ``max_tokens`` 4096."""

    max_tokens: int = Field(4096, ge=1, le=limits.MAX_TOKENS)


#: EvalScope's ``judge_strategy`` (meanings in evalscope/eval/judge/strategy.py and docs/eval.md)
JudgeStrategy = Literal["auto", "rule", "llm", "llm_recall"]


class JudgeModelArgs(BaseModel):
    """The judge model (EvalScope's ``judge_model_args``): where it is served, how it is asked.

    EvalScope's keys: ``model_id`` (``model`` is accepted too), ``api_url``, ``api_key``,
    ``eval_type``, ``generation_config``, ``system_prompt``, ``prompt_template`` (``{question}``,
    ``{gold}``, ``{pred}``) and ``score_mapping`` (verdict label -> score) shape the generic grader;
    a benchmark with a grader of its own (simple_qa) keeps its prompt and labels. Ours: ``api`` (wire
    protocol), ``timeout`` and ``max_retries`` (as for the model under test). ``api_key`` is a secret
    (evalscope.secrets: redacted in config.json, job records, answers and logs).
    """

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, protected_namespaces=(), populate_by_name=True
    )

    model_id: str = Field(min_length=1, validation_alias=AliasChoices("model_id", "model"))
    api_url: str = Field(min_length=1)
    api_key: str = "EMPTY"
    api: Literal["openai", "dashscope", "anthropic", "gemini"] = "openai"
    # EvalScope's: what kind of model the judge is; only API models here
    eval_type: Literal["openai_api", "service", "server", "llm_ckpt_api"] | None = None
    generation_config: JudgeGenerationConfig = Field(default_factory=JudgeGenerationConfig)
    system_prompt: str | None = None
    # inline text, or "@path" of a file holding it (read and checked before the run starts)
    prompt_template: TextOrFile | None = Field(None, min_length=1)
    score_mapping: dict[str, float] | None = Field(None, min_length=1, max_length=limits.MAX_JUDGE_LABELS)
    # EvalScope's "numeric" (a reference-free 0-1 rating) is not implemented: "pattern" only
    score_type: Literal["pattern"] = "pattern"
    timeout: float | None = Field(300.0, gt=0, le=limits.MAX_SECONDS)
    max_retries: int = Field(3, ge=0, le=20)

    @model_validator(mode="before")
    @classmethod
    def _evalscope_fields(cls, data: Any) -> Any:
        return upstream_fields.check_fields(
            data,
            upstream_fields.JUDGE_MODEL_ARGS_FIELDS,
            {**cls.model_fields, "model": cls.model_fields["model_id"]},
            "judge_model_args",
        )

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        from evalscope.client.urls import check_model_url

        return check_model_url(v)

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, v: str) -> str:
        from evalscope.client.urls import check_api_key

        return check_api_key(v) or v

    @field_validator("prompt_template")
    @classmethod
    def _prompt_template(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("@") and "{pred}" not in v:
            raise ValueError("must contain {pred} (the answer to grade); {question} and {gold} are optional")
        return v

    @field_validator("score_mapping")
    @classmethod
    def _score_mapping(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        for label, score in (v or {}).items():
            if not label.strip() or len(label) > 64:
                raise ValueError(f"label {label!r}: 1 to 64 characters")
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"{label}: a score must be between 0 and 1")
        return v


class DatasetArgs(BaseModel):
    """Per-benchmark settings: ``dataset_args = {"gsm8k": {"few_shot_num": 0, ...}}``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    subset_list: list[str] | None = None
    few_shot_num: int | None = Field(None, ge=0, le=limits.MAX_FEW_SHOT)
    few_shot_random: bool = False
    local_path: LocalPath | None = None
    dataset_id: HubIdOrPath | None = None  # a hub id, or a local file or folder
    system_prompt: str | None = None
    # EvalScope's name: seconds one program of a code benchmark may run (wall clock and CPU time);
    # None: the benchmark's own (humaneval 4, mbpp 20)
    review_timeout: float | None = Field(None, gt=0, le=limits.MAX_SECONDS)

    @model_validator(mode="before")
    @classmethod
    def _evalscope_fields(cls, data: Any) -> Any:
        return upstream_fields.check_fields(
            data, upstream_fields.DATASET_ARGS_FIELDS, cls.model_fields, "dataset_args"
        )


class TaskConfig(BaseModel):
    """An eval run. Field names follow EvalScope's ``TaskConfig`` so users' scripts keep working."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str = Field(min_length=1)
    api_url: str = Field(min_length=1)
    api_key: str = "EMPTY"
    api: Literal["openai", "dashscope", "anthropic", "gemini"] = "openai"
    # EvalScope scripts pass eval_type to say "an API model"; that is the only kind this engine runs.
    eval_type: Literal["openai_api", "service", "server", "llm_ckpt_api"] | None = None
    datasets: list[str] = Field(min_length=1)
    dataset_args: dict[str, DatasetArgs] = Field(default_factory=dict)
    dataset_dir: LocalDir | None = None
    dataset_hub: Literal["modelscope", "huggingface"] = "modelscope"
    limit: int | float | None = None
    # EvalScope's field: each question asked k times (avg@k, pass@k, maj@k; evalscope/eval/repeats.py)
    repeats: int = Field(1, ge=1, le=limits.MAX_REPEATS)
    eval_batch_size: int = Field(1, ge=1, le=4096)
    generation_config: GenerationConfig = Field(default_factory=GenerationConfig)
    timeout: float | None = Field(300.0, gt=0, le=limits.MAX_SECONDS)
    max_retries: int = Field(3, ge=0, le=20)
    stream: bool = False
    work_dir: OutputDir = "./outputs"
    use_cache: RunDir | None = None
    seed: int | None = Field(42, ge=0, le=limits.MAX_SEED)
    debug: bool = False
    # EvalScope's switch: skip the one-request connection test before the run (evalscope.client.probe)
    no_test_connection: bool = False
    # EvalScope's judge (evalscope/eval/judge): which answers a judge model grades. auto: the
    # benchmark's default (simple_qa: the judge; the others: rule); rule: none; llm: every answer;
    # llm_recall: the rule first, the judge for the answers it does not score correct.
    judge_strategy: JudgeStrategy = "auto"
    judge_model_args: JudgeModelArgs | None = None
    # Code benchmarks (humaneval, mbpp): where the model's code runs (evalscope/sandbox, docs/sandbox.md).
    # "bwrap" isolates it; "unsafe_no_isolation" runs it as a plain subprocess of this machine (opt-in,
    # a warning on every run). EvalScope's "docker" is read as "bwrap": isolated, without a daemon.
    sandbox_type: Literal["bwrap", "unsafe_no_isolation"] = "bwrap"
    # programs run at once (EvalScope's sandbox.pool_size); None: the usable CPUs
    sandbox_pool_size: int | None = Field(None, ge=1, le=limits.MAX_SANDBOX_POOL)
    # address space of each sandboxed process, MiB
    sandbox_memory_mb: int = Field(512, ge=64, le=limits.MAX_SANDBOX_MEMORY_MB)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        from evalscope.client.urls import check_model_url

        return check_model_url(v)

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, v: str) -> str:
        from evalscope.client.urls import check_api_key

        return check_api_key(v) or v

    @model_validator(mode="before")
    @classmethod
    def _evalscope_fields(cls, data: Any) -> Any:
        # EvalScope 1.14 fields we lack: accepted, folded, or "not supported yet" (evalscope.upstream_fields)
        return upstream_fields.check_fields(data, upstream_fields.EVAL_FIELDS, cls.model_fields, "TaskConfig")

    @field_validator("sandbox_type", mode="before")
    @classmethod
    def _sandbox_type(cls, v: Any) -> Any:
        # EvalScope 1.14's default engine; its clients send it in every dump
        return "bwrap" if v == "docker" else v

    @field_validator("judge_model_args", mode="before")
    @classmethod
    def _judge_unset(cls, v: Any) -> Any:
        return None if v == {} else v  # EvalScope's default ({}): no judge model

    @field_validator("datasets", mode="before")
    @classmethod
    def _datasets_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, v: list[str]) -> list[str]:
        from evalscope.eval.benchmarks import list_benchmarks

        known = {b.name for b in list_benchmarks()}
        unknown = [d for d in v if d not in known]
        if unknown:
            raise ValueError(
                f"unknown benchmark {', '.join(map(repr, unknown))}; available: {', '.join(sorted(known))}"
            )
        if len(set(v)) != len(v):
            raise ValueError("a benchmark is listed twice")
        return v

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("must be a count or a fraction")
        if isinstance(v, str):
            try:
                v = float(v) if any(c in v for c in ".eE") else int(v)
            except ValueError:
                raise ValueError(f"must be a count or a fraction, got {v!r}") from None
        if isinstance(v, float) and v.is_integer() and v > 1:
            v = int(v)
        if isinstance(v, int) and not 1 <= v <= limits.MAX_LIMIT:
            raise ValueError(f"a count must be between 1 and {limits.MAX_LIMIT:,}")
        if isinstance(v, float) and not 0.0 < v <= 1.0:
            raise ValueError("a fraction must be in (0, 1]")
        return v

    @model_validator(mode="after")
    def _subsets_known(self) -> TaskConfig:
        from evalscope.eval.benchmarks import get_benchmark

        for name, args in self.dataset_args.items():
            if name not in self.datasets:
                continue  # EvalScope accepts args for datasets not in this run; they are ignored
            bench = get_benchmark(name)
            if args.subset_list is not None:
                if not args.subset_list:
                    raise ValueError(f"dataset_args.{name}.subset_list: empty")
                if not bench.discover_subsets:
                    bad = [s for s in args.subset_list if s not in bench.subsets]
                    if bad:
                        raise ValueError(
                            f"dataset_args.{name}.subset_list: unknown subset "
                            f"{', '.join(map(repr, bad))} of {name}"
                        )
            if args.few_shot_num and not bench.train_split:
                raise ValueError(
                    f"dataset_args.{name}.few_shot_num: {name} has no split to take examples from"
                )
        return self

    @model_validator(mode="after")
    def _judge_usable(self) -> TaskConfig:
        # before any request: a strategy a benchmark cannot honour, a judge without judge_model_args
        from evalscope.eval.judge.strategy import check_config

        check_config(self)
        return self

    def args_for(self, name: str) -> DatasetArgs:
        """The dataset_args of one benchmark (defaults when not given)."""
        return self.dataset_args.get(name) or DatasetArgs()

    def redacted(self) -> dict[str, Any]:
        """The config as JSON-ready data with every secret redacted (:mod:`evalscope.secrets`: the
        API key, credential-named fields, keys in URLs), for config.json, reports and logs."""
        return redact_config(self.model_dump(mode="json"))
