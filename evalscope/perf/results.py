"""The perf engine's typed results: one sweep point (:class:`PointResult`) and one run (:class:`PerfRun`).

Field names are Python names; each field's alias is the JSON key users read (EvalScope's
``benchmark_summary.json`` / ``benchmark_percentile.json`` keys, e.g. ``"Succeed requests"``).  A
model dumps only the keys it was given (``model_fields_set``), in the order declared here, so the
optional groups (rate, SLO, client health, shards, warnings) appear exactly when they did before and
``read -> dump`` reproduces a file key for key.  Unknown keys (a folder written by a newer version or
another tool) are kept as extras.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from evalscope.errors import error_counts

#: the percentile rows of every table, as the "Percentiles" column shows them
PERCENTILES = (10, 25, 50, 66, 75, 80, 90, 95, 98, 99)
#: summary fields without meaning for an input-only point (embeddings, rerank: nothing generated).
#: The files keep their keys (null); the console and the report leave them out.
GENERATION_ONLY_FIELDS = (
    "output_throughput",
    "total_throughput",
    "avg_ttft",
    "avg_tpot",
    "avg_itl",
    "avg_output_tokens",
    "unknown_output_requests",
    "itl_basis",
)
#: the input-only point's own summary fields (set only there)
INPUT_ONLY_FIELDS = ("inputs_throughput", "input_throughput", "avg_inputs")
#: percentile columns (fields) that are all null for an input-only point
GENERATION_ONLY_PERCENTILES = ("ttft", "itl", "tpot", "output_tokens", "output_rate", "total_rate")


class _Keyed(BaseModel):
    """Display-string keys on the wire, Python names in code; only the keys that were set are dumped."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="allow"
    )

    @model_serializer(mode="wrap")
    def _set_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name, field in type(self).model_fields.items():
            if name not in self.model_fields_set:
                data.pop(field.alias or name, None)
                data.pop(name, None)
        return data

    @classmethod
    def key(cls, field: str) -> str:
        """The JSON key of ``field`` (``PointMetrics.key("succeed_requests") == "Succeed requests"``)."""
        return cls.model_fields[field].alias or field


class ServerMetricsSummary(_Keyed):
    """What the server's own metrics said during one sweep point (``Server metrics`` in the summary;
    :mod:`evalscope.perf.server_metrics`). Gauges are over the scrapes taken while the load ran;
    tokens and requests are counter increases over the point; server TTFT, latency, queue time and
    TPOT come from the histograms' increase over the point (mean exact: sum / count; p50 and p99
    interpolated inside buckets). Only the keys the server's names gave are present."""

    url: str = Field(default="", alias="Metrics URL")
    server: str = Field(default="unknown", alias="Server type")
    scrapes: int = Field(default=0, alias="Scrapes")
    failed_scrapes: int = Field(default=0, alias="Failed scrapes")
    peak_running: float | None = Field(default=None, alias="Peak running requests")
    mean_running: float | None = Field(default=None, alias="Mean running requests")
    peak_waiting: float | None = Field(default=None, alias="Peak waiting requests")
    mean_waiting: float | None = Field(default=None, alias="Mean waiting requests")
    mean_kv_cache_usage: float | None = Field(default=None, alias="Mean KV-cache usage")
    peak_kv_cache_usage: float | None = Field(default=None, alias="Peak KV-cache usage")
    prefix_cache_hit_rate: float | None = Field(default=None, alias="Prefix-cache hit rate")
    prompt_tokens: float | None = Field(default=None, alias="Prompt tokens")
    generation_tokens: float | None = Field(default=None, alias="Generation tokens")
    requests: float | None = Field(default=None, alias="Requests finished")
    ttft_mean: float | None = Field(default=None, alias="Server TTFT mean (s)")
    ttft_p50: float | None = Field(default=None, alias="Server TTFT p50 (s)")
    ttft_p99: float | None = Field(default=None, alias="Server TTFT p99 (s)")
    client_minus_server_ttft: float | None = Field(default=None, alias="Client-server TTFT gap (s)")
    latency_mean: float | None = Field(default=None, alias="Server latency mean (s)")
    latency_p50: float | None = Field(default=None, alias="Server latency p50 (s)")
    latency_p99: float | None = Field(default=None, alias="Server latency p99 (s)")
    queue_time_mean: float | None = Field(default=None, alias="Server queue time mean (s)")
    queue_time_p50: float | None = Field(default=None, alias="Server queue time p50 (s)")
    queue_time_p99: float | None = Field(default=None, alias="Server queue time p99 (s)")
    tpot_mean: float | None = Field(default=None, alias="Server TPOT mean (s)")
    tpot_p50: float | None = Field(default=None, alias="Server TPOT p50 (s)")
    tpot_p99: float | None = Field(default=None, alias="Server TPOT p99 (s)")


class PointMetrics(_Keyed):
    """One sweep point's summary (``benchmark_summary.json``); definitions in :mod:`evalscope.perf.metrics`."""

    # EvalScope's documented keys, always present
    time_taken: float = Field(default=0.0, alias="Time taken for tests (s)")
    concurrency: int = Field(default=0, alias="Number of concurrency")
    total_requests: int = Field(default=0, alias="Total requests")
    succeed_requests: int = Field(default=0, alias="Succeed requests")
    failed_requests: int = Field(default=0, alias="Failed requests")
    output_throughput: float | None = Field(default=None, alias="Output token throughput (tok/s)")
    total_throughput: float | None = Field(default=None, alias="Total token throughput (tok/s)")
    request_throughput: float | None = Field(default=None, alias="Request throughput (req/s)")
    avg_latency: float | None = Field(default=None, alias="Average latency (s)")
    avg_ttft: float | None = Field(default=None, alias="Average time to first token (s)")
    avg_tpot: float | None = Field(default=None, alias="Average time per output token (s)")
    avg_itl: float | None = Field(default=None, alias="Average inter-token latency (s)")
    avg_input_tokens: float | None = Field(default=None, alias="Average input tokens per request")
    avg_output_tokens: float | None = Field(default=None, alias="Average output tokens per request")
    # extras, always present
    requested_number: int = Field(default=0, alias="Requested number")
    failures_by_reason: dict[str, int] = Field(default_factory=dict, alias="Failures by reason")
    failure_examples: dict[str, str | None] = Field(
        default_factory=dict, alias="Failure examples"
    )  # when failed
    unknown_output_requests: int = Field(default=0, alias="Requests with unknown output tokens")
    itl_basis: str = Field(default="per token", alias="ITL basis")
    # embeddings (no output: TTFT, TPOT, ITL and output tokens stay null)
    inputs_throughput: float | None = Field(default=None, alias="Input throughput (inputs/s)")
    input_throughput: float | None = Field(default=None, alias="Input token throughput (tok/s)")
    avg_inputs: float | None = Field(default=None, alias="Average inputs per request")
    # multi-turn sessions (per turn and per session: PointResult.turns / .sessions)
    sessions: int | None = Field(default=None, alias="Sessions")
    avg_turns: float | None = Field(default=None, alias="Average turns per session")
    avg_first_turn_ttft: float | None = Field(default=None, alias="Average first-turn TTFT (s)")
    avg_later_turn_ttft: float | None = Field(default=None, alias="Average subsequent-turn TTFT (s)")
    # under --rate
    target_rate: float | None = Field(default=None, alias="Target request rate (req/s)")
    achieved_send_rate: float | None = Field(default=None, alias="Achieved send rate (req/s)")
    avg_dispatch_lag: float | None = Field(default=None, alias="Average dispatch lag (s)")
    p99_dispatch_lag: float | None = Field(default=None, alias="P99 dispatch lag (s)")
    max_dispatch_lag: float | None = Field(default=None, alias="Max dispatch lag (s)")
    # trace replay: how closely the sends kept the trace's times (send minus trace time)
    trace_speedup: float | None = Field(default=None, alias="Trace speed-up")
    send_error_p50_ms: float | None = Field(default=None, alias="Send-time error p50 (ms)")
    send_error_p99_ms: float | None = Field(default=None, alias="Send-time error p99 (ms)")
    send_error_max_ms: float | None = Field(default=None, alias="Send-time error max (ms)")
    # under --ramp-up: the requests sent during the ramp are in the records, not in these metrics
    ramp_up: float | None = Field(default=None, alias="Ramp-up (s)")
    ramp_requests: int | None = Field(default=None, alias="Ramp-up requests (not measured)")
    # under --slo
    slo_ms: dict[str, float] = Field(default_factory=dict, alias="SLO (ms)")
    goodput: float | None = Field(default=None, alias="Goodput (req/s)")
    requests_meeting_slo: int = Field(default=0, alias="Requests meeting SLO")
    # the client's own health (when measured)
    client_loop_lag_p99_ms: float | None = Field(default=None, alias="Client event-loop lag p99 (ms)")
    client_cpu: float | None = Field(default=None, alias="Client CPU (fraction of one core)")
    client_distorted: bool = Field(default=False, alias="Client distorted")
    client_distortion: str | None = Field(default=None, alias="Client distortion")
    # how the load was sent
    client_processes: int | None = Field(default=None, alias="Client processes")
    distributed_shards: int | None = Field(default=None, alias="Distributed shards")
    # the server's own metrics (scraped from its /metrics during the point)
    server_metrics: ServerMetricsSummary | None = Field(default=None, alias="Server metrics")
    warnings: list[str] = Field(default_factory=list, alias="Warnings")

    @property
    def input_only(self) -> bool:
        """An embeddings or rerank point: it counted inputs, not output tokens (see
        :data:`GENERATION_ONLY_FIELDS`)."""
        return self.avg_inputs is not None

    @classmethod
    def shown_keys(cls, summary: dict[str, Any]) -> list[str]:
        """The keys of a summary dict worth showing: all of them, except, for an input-only point
        (one holding ``Average inputs per request``), those of :data:`GENERATION_ONLY_FIELDS`."""
        if summary.get(cls.key("avg_inputs")) is None:
            return list(summary)
        hidden = {cls.key(f) for f in GENERATION_ONLY_FIELDS}
        return [k for k in summary if k not in hidden]


class PointPercentiles(_Keyed):
    """One sweep point's percentile table (``benchmark_percentile.json``): a column per metric, a row per
    percentile in ``labels``; None where a metric had no values."""

    labels: list[str] = Field(default_factory=lambda: [f"{p}%" for p in PERCENTILES], alias="Percentiles")
    ttft: list[float | None] = Field(default_factory=list, alias="TTFT (s)")
    itl: list[float | None] = Field(default_factory=list, alias="ITL (s)")
    tpot: list[float | None] = Field(default_factory=list, alias="TPOT (s)")
    latency: list[float | None] = Field(default_factory=list, alias="Latency (s)")
    input_tokens: list[float | None] = Field(default_factory=list, alias="Input tokens")
    output_tokens: list[float | None] = Field(default_factory=list, alias="Output tokens")
    output_rate: list[float | None] = Field(default_factory=list, alias="Output (tok/s)")
    total_rate: list[float | None] = Field(default_factory=list, alias="Total (tok/s)")

    def at(self, column: str, label: str) -> float | None:
        """The value of ``column`` (a field name, ``"latency"``) at percentile ``label`` (``"99%"``)."""
        values = getattr(self, column)
        if label not in self.labels:
            return None
        i = self.labels.index(label)
        return values[i] if i < len(values) else None

    def columns(self) -> dict[str, list[Any]]:
        """The table as ``{JSON key: values}``, ``"Percentiles"`` first (as written to disk)."""
        return self.model_dump(mode="json")

    @classmethod
    def shown(cls, table: dict[str, list[Any]], input_only: bool) -> dict[str, list[Any]]:
        """``table`` (JSON keys) without the :data:`GENERATION_ONLY_PERCENTILES` columns when the point
        is input-only."""
        if not input_only:
            return table
        hidden = {cls.key(f) for f in GENERATION_ONLY_PERCENTILES}
        return {k: v for k, v in table.items() if k not in hidden}


class TurnMetrics(_Keyed):
    """One turn index of a multi-turn point: its requests over every session (turn 1 is the cold
    prefill; later turns show the server's prefix cache)."""

    turn: int = Field(default=0, alias="Turn")
    requests: int = Field(default=0, alias="Requests")
    succeed_requests: int = Field(default=0, alias="Succeed requests")
    avg_ttft: float | None = Field(default=None, alias="Average time to first token (s)")
    p50_ttft: float | None = Field(default=None, alias="P50 time to first token (s)")
    p99_ttft: float | None = Field(default=None, alias="P99 time to first token (s)")
    avg_latency: float | None = Field(default=None, alias="Average latency (s)")
    avg_input_tokens: float | None = Field(default=None, alias="Average input tokens per request")
    avg_output_tokens: float | None = Field(default=None, alias="Average output tokens per request")


class SessionMetrics(_Keyed):
    """The sessions of a multi-turn point. A session is complete when every turn of its conversation
    succeeded; its duration runs from its first send to the end of its last reply (think times included)."""

    sessions: int = Field(default=0, alias="Sessions")
    completed_sessions: int = Field(default=0, alias="Completed sessions")
    failed_sessions: int = Field(default=0, alias="Failed sessions")
    total_turns: int = Field(default=0, alias="Turns sent")
    avg_turns: float | None = Field(default=None, alias="Average turns per session")
    max_turns: int | None = Field(default=None, alias="Most turns in a session")
    avg_duration: float | None = Field(default=None, alias="Average session duration (s)")
    p50_duration: float | None = Field(default=None, alias="P50 session duration (s)")
    p99_duration: float | None = Field(default=None, alias="P99 session duration (s)")
    session_throughput: float | None = Field(default=None, alias="Session throughput (sessions/s)")
    avg_input_tokens: float | None = Field(default=None, alias="Average input tokens per session")
    avg_output_tokens: float | None = Field(default=None, alias="Average output tokens per session")


class PointResult(BaseModel):
    """One sweep point: ``{"metrics": ..., "percentiles": ...}`` in a run's ``results``; a multi-turn
    point adds ``"turns"`` (one row per turn index) and ``"sessions"``."""

    metrics: PointMetrics
    percentiles: PointPercentiles
    turns: list[TurnMetrics] | None = None
    sessions: SessionMetrics | None = None

    @model_serializer(mode="wrap")
    def _multi_turn_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)  # a one-turn point keeps exactly its two keys
        for key in ("turns", "sessions"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class PerfRun(BaseModel):
    """A whole sweep: what ``run_perf`` returns (as JSON) and what a job stores as its result."""

    output_dir: str
    results: dict[str, PointResult] = Field(default_factory=dict)  # keyed "parallel_<p>_number_<n>"
    warnings: list[str] = Field(default_factory=list)
    error_counts: dict[str, Any] = Field(default_factory=dict)  # evalscope.errors.error_counts' shape
    # an SLO search's slo_search.json (perf/slo_search.py SloSearchResult); left out of the JSON when None
    slo_search: dict[str, Any] | None = None

    @classmethod
    def collect(
        cls, output_dir: str, results: dict[str, PointResult], warnings: list[str] | None = None
    ) -> PerfRun:
        """The run of these points: run-level ``warnings`` then each point's (prefixed by the point), and
        ``error_counts`` over every request of every point."""
        run_warnings = list(warnings or [])
        total, reasons = 0, []
        for key, point in results.items():
            m = point.metrics
            total += m.succeed_requests + m.failed_requests
            for reason, n in m.failures_by_reason.items():
                reasons += [reason] * n
            run_warnings += [f"{key}: {w}" for w in m.warnings]
        return cls(
            output_dir=output_dir,
            results=results,
            warnings=run_warnings,
            error_counts=error_counts(total, reasons),
        )

    @property
    def all_failed(self) -> bool:
        """True when there were requests and every one of them failed."""
        total = self.error_counts.get("total", 0)
        return bool(total) and self.error_counts.get("failed") == total

    def failure_examples(self) -> list[str]:
        """One error message per failure reason and point, in sweep order."""
        return [e for point in self.results.values() for e in point.metrics.failure_examples.values() if e]

    def as_json(self) -> dict[str, Any]:
        """Today's JSON answer: ``{"output_dir", "results", "warnings", "error_counts"}`` (and
        ``slo_search`` after an SLO search)."""
        return self.model_dump(
            mode="json", by_alias=True, exclude={"slo_search"} if self.slo_search is None else None
        )
