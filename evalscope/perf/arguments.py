"""``PerfArguments``: the one validated model behind the CLI flags, the Python API and the HTTP body.

Field names are EvalScope's ``evalscope perf`` flag names with underscores, with its defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from evalscope import limits, upstream_fields
from evalscope import slo as slo_specs
from evalscope.client.adapters import INPUT_ONLY_APIS, RERANK_APIS, RESPONSES_APIS, make_adapter
from evalscope.client.urls import check_api_key, check_model_url
from evalscope.paths import LocalPath, OutputDir, TextOrFile

DATASETS = (
    "openqa",
    "random",
    "line_by_line",
    "custom",
    "speed_benchmark",
    "embedding",
    "random_embedding",
    "rerank",
    "random_rerank",
    "share_gpt_en",
    "share_gpt_zh",
    "share_gpt_en_multi_turn",
    "share_gpt_zh_multi_turn",
    "random_multi_turn",
    "custom_multi_turn",
    "workload_trace",
)
#: datasets whose file fixes each request's send time (trace replay: evalscope.perf.trace)
TRACE_DATASETS = ("workload_trace",)
#: the multi-turn datasets (EvalScope's names): ``--multi-turn`` runs exactly these, as sessions
MULTI_TURN_DATASETS = (
    "share_gpt_en_multi_turn",
    "share_gpt_zh_multi_turn",
    "random_multi_turn",
    "custom_multi_turn",
)
#: EvalScope's --api values for the embeddings endpoint (never streamed)
EMBEDDING_APIS = ("openai_embedding", "embedding")
#: datasets that only fit one endpoint, and the --api values of that endpoint
ENDPOINT_DATASETS = {
    "embedding": EMBEDDING_APIS,
    "random_embedding": EMBEDDING_APIS,
    "rerank": RERANK_APIS,
    "random_rerank": RERANK_APIS,
}
SLO_KEYS = ("ttft", "tpot", "e2el", "itl")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _as_list(value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, int | float | str):
        value = [value]
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for v in value:
            if isinstance(v, str):  # "10 20" or "10,20" from a form or a single CLI token
                out.extend(p for p in re.split(r"[\s,]+", v.strip()) if p)
            else:
                out.append(v)
        return out
    return value


class PerfArguments(BaseModel):
    """Every setting of one ``evalscope perf`` run (a sweep over the ``parallel``/``number`` pairs)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, allow_inf_nan=False)

    # target
    model: str = Field(min_length=1, description="model name sent in each request")
    url: str = Field(min_length=1, description="API URL; a bare base URL gets the API's path appended")
    api: Literal[
        "openai",
        "dashscope",
        "anthropic",
        "gemini",
        "openai_embedding",
        "embedding",
        "openai_rerank",
        "rerank",
        "openai_responses",
        "openai_response",
        "responses",
    ] = "openai"
    api_key: str | None = Field(default=None, repr=False, description="sent in a header only; never written")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    # load
    number: list[int] = Field(default_factory=lambda: [1000], description="requests per sweep point")
    parallel: list[int] = Field(default_factory=lambda: [1], description="concurrency per sweep point")
    rate: float = Field(
        default=-1, le=limits.MAX_RATE, description="requests per second (-1: as fast as parallel allows)"
    )
    burstiness: float = Field(default=1.0, gt=0, le=1000, description="gamma shape of arrivals (1 = Poisson)")
    warmup_num: int = Field(
        default=0, ge=0, le=limits.MAX_WARMUP, description="requests sent before measuring"
    )
    sleep_interval: float = Field(
        default=5.0, ge=0, le=limits.MAX_SECONDS, description="seconds between sweep points"
    )
    duration: float | None = Field(
        default=None, gt=0, le=limits.MAX_SECONDS, description="stop sending after this many seconds"
    )
    workers: int | None = Field(
        default=None, ge=1, le=limits.MAX_WORKERS, description="client processes (None: automatic)"
    )
    connect_timeout: float = Field(default=600.0, gt=0, le=limits.MAX_SECONDS)
    read_timeout: float = Field(default=600.0, gt=0, le=limits.MAX_SECONDS)
    total_timeout: float = Field(default=6 * 60 * 60.0, gt=0, le=limits.MAX_SECONDS)
    # prompts
    dataset: str = Field(default="openqa", description=f"one of {', '.join(DATASETS)}")
    dataset_path: LocalPath | None = None
    tokenizer_path: LocalPath | None = None
    min_prompt_length: int = Field(default=0, ge=0, le=limits.MAX_PROMPT_LENGTH)
    max_prompt_length: int = Field(default=131072, ge=1, le=limits.MAX_PROMPT_LENGTH)
    prefix_length: int = Field(default=0, ge=0, le=limits.MAX_PROMPT_LENGTH)
    prefix_count: int = Field(
        default=1,
        ge=1,
        le=limits.MAX_PREFIX_COUNT,
        description="random: distinct prefixes of prefix_length tokens, prompt i gets prefix i % prefix_count",
    )
    cache_bust: bool = Field(
        default=False,
        description="start every request's prompt with a marker unique to it ([rid:<index>]), so no two "
        "requests share a cached prefix",
    )
    trace_speedup: float = Field(
        default=1.0,
        gt=0,
        le=limits.MAX_TRACE_SPEEDUP,
        description="workload_trace: send times are the trace's times divided by this",
    )
    trace_match_output: bool = Field(
        default=False,
        description="workload_trace rows with EvalScope's body: max_tokens = completion_tokens, ignore_eos",
    )
    ramp_up: float = Field(
        default=0.0,
        ge=0,
        le=limits.MAX_SECONDS,
        description="seconds over which concurrency (or the rate) grows linearly before the measured part",
    )
    prompt: TextOrFile | None = None
    query_template: TextOrFile | None = None
    # generation
    max_tokens: int | None = Field(default=2048, ge=1, le=limits.MAX_TOKENS)
    min_tokens: int | None = Field(default=None, ge=0, le=limits.MAX_TOKENS)
    temperature: float | None = Field(default=0.0, ge=0, le=limits.MAX_TEMPERATURE)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=-1, le=limits.MAX_TOP_K)
    stop: list[str] | None = None
    seed: int | None = Field(default=None, ge=0, le=limits.MAX_SEED)
    stream: bool = True
    extra_args: dict[str, Any] = Field(default_factory=dict, description="merged into every request body")
    # reporting
    slo: dict[str, float] = Field(
        default_factory=dict,
        description="SLOs in ms by name (evalscope/slo.py): ttft, tpot, e2el, itl, optionally at a percentile "
        "(ttft_p99) or the mean (ttft_mean); goodput counts the requests within them",
    )
    # SLO search (perf/slo_search.py): the largest load that meets every SLO
    search: Literal["concurrency", "rate"] | None = Field(
        default=None, description="search the largest concurrency or rate meeting every slo (None: a sweep)"
    )
    search_min: float = Field(default=1, gt=0, le=limits.MAX_RATE, description="the smallest load tried")
    search_max: float | None = Field(
        default=None,
        gt=0,
        le=limits.MAX_RATE,
        description="the largest load tried (None: 100,000 concurrent requests, or 1,000,000 requests/s)",
    )
    search_start: float | None = Field(
        default=None, gt=0, le=limits.MAX_RATE, description="the first load tried (None: search_min)"
    )
    search_requests: int = Field(
        default=200,
        ge=limits.MIN_SEARCH_REQUESTS,
        le=limits.MAX_SEARCH_REQUESTS,
        description="requests per round at one load (at least 2 per concurrent request, or 2 s of the rate)",
    )
    search_max_rounds: int = Field(
        default=5,
        ge=1,
        le=limits.MAX_SEARCH_ROUNDS,
        description="rounds at one load while its decision is unclear (then the estimate decides)",
    )
    search_max_requests: int = Field(
        default=20000, ge=1, le=limits.MAX_SEARCH_BUDGET, description="the search's budget of requests"
    )
    search_max_time: float = Field(
        default=3600.0, gt=0, le=limits.MAX_SECONDS, description="the search's budget of seconds"
    )
    search_confidence: float = Field(
        default=0.95, ge=0.5, le=0.999, description="confidence of each percentile's interval"
    )
    search_tolerance: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="stop when the failing load is within this fraction of the passing one (concurrency: 1)",
    )
    outputs_dir: OutputDir = "outputs"
    name: str | None = None
    debug: bool = False
    no_test_connection: bool = Field(
        default=False, description="skip the one-request connection test before the run"
    )
    # the target's own Prometheus metrics, scraped during each sweep point (perf/server_metrics.py)
    server_metrics: bool = Field(
        default=True, description="scrape the server's Prometheus metrics during the run (aiperf's default)"
    )
    server_metrics_url: str | None = Field(
        default=None, description="the metrics endpoint; default: /metrics on the host of url"
    )
    server_metrics_interval: float = Field(
        default=1.0,
        ge=limits.MIN_SCRAPE_INTERVAL,
        le=limits.MAX_SCRAPE_INTERVAL,
        description="seconds between two scrapes",
    )
    # multi-turn sessions (EvalScope's names; think_time is ours)
    multi_turn: bool = Field(
        default=False, description="sessions: number counts conversations, parallel concurrent ones"
    )
    min_turns: int = Field(
        default=1, ge=1, le=limits.MAX_TURNS, description="random_multi_turn: fewest turns"
    )
    max_turns: int | None = Field(
        default=None,
        ge=1,
        le=limits.MAX_TURNS,
        description="most turns per session (random_multi_turn: needed)",
    )
    think_time: list[float] = Field(
        default_factory=list,
        description="seconds before each later turn of a session: one value (fixed) or two (uniform min max)",
    )

    def __repr__(self) -> str:
        return f"PerfArguments({self.public_dict()!r}, api_key='***')"

    __str__ = __repr__

    @field_validator("server_metrics_url")
    @classmethod
    def _metrics_url(cls, value: str | None) -> str | None:
        return None if value is None else check_model_url(value)

    @field_validator("number", "parallel", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("think_time", mode="before")
    @classmethod
    def _think_list(cls, value: Any) -> Any:
        return [] if value is None else _as_list(value)

    @field_validator("think_time")
    @classmethod
    def _think_bounds(cls, value: list[float]) -> list[float]:
        for v in value:
            if not 0 <= v <= limits.MAX_SECONDS:
                raise ValueError(f"{v} is not a number of seconds in 0..{limits.MAX_SECONDS:.0f}")
        return value

    @field_validator("number", "parallel")
    @classmethod
    def _positive(cls, value: list[int], info: ValidationInfo) -> list[int]:
        if not value:
            raise ValueError("give at least one value")
        if len(value) > limits.MAX_SWEEP_POINTS:
            raise ValueError(f"at most {limits.MAX_SWEEP_POINTS} sweep points")
        top = limits.MAX_NUMBER if info.field_name == "number" else limits.MAX_PARALLEL
        for v in value:
            if v < 1:
                raise ValueError(f"{v} is not a positive integer")
            if v > top:
                raise ValueError(f"{v} is above the limit of {top:,}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _evalscope_fields(cls, data: Any) -> Any:
        # EvalScope 1.14 fields we lack: accepted, folded, or "not supported yet" (evalscope.upstream_fields);
        # its --sla-auto-tune fields become our search (evalscope/slo.py)
        if isinstance(data, dict):
            data = slo_specs.fold_evalscope_sla(data)
        return upstream_fields.check_fields(
            data, upstream_fields.PERF_FIELDS, cls.model_fields, "the perf arguments"
        )

    @field_validator("rate", mode="before")
    @classmethod
    def _one_rate(cls, value: Any) -> Any:
        return upstream_fields.single_rate(value)

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: float) -> float:
        if value != -1 and value <= 0:
            raise ValueError("must be a positive number of requests per second, or -1 for no limit")
        return value

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: str | None) -> str | None:
        return check_api_key(value)

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):  # ["k=v", ...] from the CLI
            out = {}
            for item in value:
                key, sep, val = str(item).partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"{item!r} is not key=value")
                out[key.strip()] = val.strip()
            return out
        return value

    @field_validator("headers")
    @classmethod
    def _header_syntax(cls, value: dict[str, str]) -> dict[str, str]:
        # What HTTP allows (RFC 9110 token names, no control characters in values): anything else
        # would only fail later, in the worker, as a "header injection" error.
        for name, val in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name[:60]!r} is not a valid HTTP header name")
            if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in val):
                raise ValueError(f"the value of header {name!r} contains control characters")
        return value

    @field_validator("extra_args", mode="before")
    @classmethod
    def _extra(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise ValueError("must be a JSON object")
        return value

    @field_validator("slo", mode="before")
    @classmethod
    def _slo(cls, value: Any) -> Any:
        return slo_specs.normalize(value)  # the one reading of an SLO spelling (evalscope/slo.py)

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str) -> str:
        if value not in DATASETS:
            raise ValueError(f"unknown dataset {value!r}: choose one of {', '.join(DATASETS)}")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "/" in value or "\\" in value or value in (".", "..")):
            raise ValueError("must be a plain folder name (no path separators)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PerfArguments:
        if len(self.number) != len(self.parallel):
            # a single value pairs with every value of the other list
            if len(self.number) == 1:
                self.number = self.number * len(self.parallel)
            elif len(self.parallel) == 1:
                self.parallel = self.parallel * len(self.number)
            else:
                raise ValueError(
                    f"number: number and parallel are paired element-wise: got {len(self.number)} "
                    f"numbers and {len(self.parallel)} parallels"
                )
        seen: set[tuple[int, int]] = set()
        for pair in zip(self.parallel, self.number, strict=True):
            if pair in seen:  # each point has its own folder parallel_<p>_number_<n>: a repeat would clash
                raise ValueError(
                    f"number: the sweep point parallel={pair[0]}, number={pair[1]} is listed twice; "
                    "each (parallel, number) pair may appear once"
                )
            seen.add(pair)
        if self.min_prompt_length > self.max_prompt_length:
            raise ValueError("min_prompt_length: larger than max_prompt_length")
        if (
            self.dataset in ("random", "random_embedding", "random_rerank")
            and not self.tokenizer_path
            and self.prompt is None
        ):
            raise ValueError(f"tokenizer_path: dataset {self.dataset!r} needs a local Hugging Face tokenizer")
        if (
            self.dataset in ("line_by_line", "custom", "embedding", "rerank")
            and not self.dataset_path
            and self.prompt is None
        ):
            raise ValueError(f"dataset_path: dataset {self.dataset!r} needs a file of prompts")
        if self.api in INPUT_ONLY_APIS:
            self.stream = False  # an embeddings or rerank answer is one body: there is no stream to time
        apis = ENDPOINT_DATASETS.get(self.dataset)
        if apis is not None and self.api not in apis:
            raise ValueError(f"api: dataset {self.dataset!r} needs api {apis[0]!r} (or {apis[1]!r})")
        if self.dataset == "random_rerank":
            _check_rerank_extras(self.extra_args)
        self.url = normalize_url(self.api, self.url, self.model, self.stream, self.dataset)
        self._check_multi_turn()
        return self

    def _check_multi_turn(self) -> None:
        """Multi-turn settings that fit together (EvalScope's rules, plus ours for think_time)."""
        if self.think_time:
            if len(self.think_time) > 2:
                raise ValueError("think_time: give one value (fixed) or two (uniform min max)")
            if self.think_time[0] > self.think_time[-1]:
                raise ValueError("think_time: the minimum is larger than the maximum")
            if not self.multi_turn:
                raise ValueError("think_time: only used with multi_turn")
        if self.max_turns is not None and self.max_turns < self.min_turns:
            raise ValueError("max_turns: smaller than min_turns")
        if not self.multi_turn:
            if self.dataset in MULTI_TURN_DATASETS:
                raise ValueError(
                    f"multi_turn: dataset {self.dataset!r} is a multi-turn dataset: set multi_turn"
                )
            return
        if self.dataset not in MULTI_TURN_DATASETS:
            raise ValueError(f"dataset: multi_turn needs one of {', '.join(MULTI_TURN_DATASETS)}")
        if self.api not in ("openai", "anthropic", "gemini", "dashscope"):
            raise ValueError(f"api: multi-turn sessions need a chat API, not {self.api!r}")
        if self.api == "openai" and not urlsplit(self.url).path.rstrip("/").endswith("/chat/completions"):
            raise ValueError("url: multi-turn sessions need the chat endpoint (/v1/chat/completions)")
        if self.rate > 0:
            # a turn waits for the previous reply, so sends cannot follow an arrival schedule
            raise ValueError(
                "rate: multi-turn sessions run closed-loop (parallel sessions); leave rate at -1"
            )
        if self.prompt is not None:
            raise ValueError("prompt: a fixed prompt is not a conversation; leave it out with multi_turn")
        raw = self.query_template
        if raw and not raw.startswith("@") and raw.lstrip().startswith("{"):
            raise ValueError("query_template: a JSON body template cannot carry a session's history")
        if self.dataset == "random_multi_turn":
            if self.max_turns is None:
                raise ValueError("max_turns: dataset 'random_multi_turn' needs max_turns")
            if not self.tokenizer_path:
                raise ValueError(
                    "tokenizer_path: dataset 'random_multi_turn' needs a local Hugging Face tokenizer"
                )
        if self.dataset == "custom_multi_turn" and not self.dataset_path:
            raise ValueError("dataset_path: dataset 'custom_multi_turn' needs a JSONL file of conversations")

    @model_validator(mode="after")
    def _load_shape(self) -> PerfArguments:
        """Trace replay, prefix groups and ramp-up settings that fit together."""
        if self.prefix_count > 1:
            if self.prompt is not None:
                raise ValueError("prefix_count: a fixed prompt has no prefix groups; leave out prompt")
            if self.dataset != "random":
                raise ValueError("prefix_count: prefix groups are built by dataset 'random' only")
            if self.prefix_length <= 0:
                raise ValueError("prefix_length: prefix_count > 1 needs prefix_length > 0")
        if self.dataset in TRACE_DATASETS:
            if not self.dataset_path:
                raise ValueError(f"dataset_path: dataset {self.dataset!r} needs a trace file (JSON Lines)")
            if self.rate > 0:
                raise ValueError("rate: a trace sets its own send times; leave rate at -1")
            if self.ramp_up:
                raise ValueError("ramp_up: a trace sets its own send times; leave ramp_up at 0")
            if self.prompt is not None:
                raise ValueError("prompt: a trace carries its own prompts; leave out prompt")
            if "parallel" not in self.model_fields_set:
                # open loop: the trace decides how many requests are in flight (no cap unless asked)
                self.parallel = [limits.MAX_PARALLEL] * len(self.number)
        elif self.trace_speedup != 1.0 and "trace_speedup" in self.model_fields_set:
            raise ValueError(f"trace_speedup: only used with dataset {TRACE_DATASETS[0]!r}")
        if self.ramp_up and self.duration is not None and self.ramp_up >= self.duration:
            raise ValueError("ramp_up: as long as duration or longer, so nothing would be measured")
        return self

    @model_validator(mode="after")
    def _search_settings(self) -> PerfArguments:
        """An SLO search's settings that fit together (perf/slo_search.py)."""
        if self.search is None:
            return self
        if not self.slo:
            raise ValueError("slo: a search needs at least one SLO (e.g. ttft_p99:500ms)")
        top = float(limits.MAX_PARALLEL if self.search == "concurrency" else limits.MAX_RATE)
        hi = self.search_max if self.search_max is not None else top
        start = self.search_start if self.search_start is not None else self.search_min
        if self.search == "concurrency":
            for name, v in (("search_min", self.search_min), ("search_max", hi), ("search_start", start)):
                if v != int(v) or v > top:
                    raise ValueError(f"{name}: a concurrency is a whole number in 1..{int(top):,}")
        if self.search_min > hi:
            raise ValueError("search_min: larger than search_max")
        if not self.search_min <= start <= hi:
            raise ValueError("search_start: outside search_min .. search_max")
        if self.multi_turn or self.dataset in TRACE_DATASETS:
            raise ValueError("search: a search sets its own load; not with multi_turn or a trace replay")
        if self.search == "concurrency" and self.rate > 0:
            raise ValueError("rate: a concurrency search runs closed-loop; leave rate at -1")
        if self.search == "rate" and len(set(self.parallel)) > 1:
            raise ValueError("parallel: a rate search takes one value (the cap on requests in flight)")
        return self

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """The sweep points as (parallel, number)."""
        return list(zip(self.parallel, self.number, strict=True))

    def public_dict(self) -> dict[str, Any]:
        """The arguments as JSON-ready data with secrets removed (what benchmark_args.json holds)."""
        from evalscope.secrets import redact_config  # the one rule: headers, URL credentials, ...

        return redact_config(self.model_dump(mode="json", exclude={"api_key"}))


def normalize_url(api: str, url: str, model: str, stream: bool, dataset: str = "openqa") -> str:
    """The full endpoint for ``url``: a bare base URL gets the API's path appended."""
    try:
        url = check_model_url(url)
    except ValueError as exc:
        raise ValueError(f"url: {exc}") from None
    parts = urlsplit(url)
    if api == "openai":
        base = url
        if not parts.path.strip("/"):
            base = _append_path(url, "/v1")
        if dataset == "speed_benchmark" and not urlsplit(base).path.rstrip("/").endswith("/completions"):
            return _append_path(base, "/completions")
        return make_adapter(api, base, model).full_url(stream)
    if (api in INPUT_ONLY_APIS or api in RESPONSES_APIS) and not parts.path.strip("/"):
        url = _append_path(url, "/v1")
    if api == "gemini" and not parts.path.strip("/"):
        url = _append_path(url, "/v1beta")
    return make_adapter(api, url, model).full_url(stream)


def _check_rerank_extras(extra: dict[str, Any]) -> None:
    """EvalScope's ``random_rerank`` settings in ``extra_args``: ``num_documents`` per query (default
    10) and ``document_length_ratio`` (document tokens per query token, default 5)."""
    n = extra.get("num_documents", 10)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limits.MAX_RERANK_DOCUMENTS:
        raise ValueError(f"extra_args: num_documents must be an integer in 1..{limits.MAX_RERANK_DOCUMENTS}")
    ratio = extra.get("document_length_ratio", 5)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1000:
        raise ValueError("extra_args: document_length_ratio must be a number in (0, 1000]")


def _append_path(url: str, suffix: str) -> str:
    """``url`` with ``suffix`` added to its path; a query (``?key=...``) stays after the path."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def load_prompt_arg(value: str | None) -> str | None:
    """``--prompt``/``--query-template`` accept ``@file`` (or an existing file path) for their text."""
    if value is None:
        return None
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    return value
