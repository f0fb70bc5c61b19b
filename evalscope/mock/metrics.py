"""``GET /metrics``: the mock's serving state in Prometheus text format, under vLLM's metric names.

The values come from :class:`evalscope.mock.capacity.Engine` (slots, queue, tokens, histograms)
and the prefix cache (:mod:`evalscope.mock.prefix_cache`) at the moment of the scrape; the text is
written by prometheus-client from a custom collector, so the hot path only adds to plain integers.

| name | type | value |
| --- | --- | --- |
| ``vllm:num_requests_running`` | gauge | requests holding a slot |
| ``vllm:num_requests_waiting`` | gauge | requests in the queue |
| ``vllm:kv_cache_usage_perc`` | gauge | prompt + emitted tokens of the running requests / ``kv_cache_tokens`` |
| ``vllm:prompt_tokens_total`` | counter | prompt tokens of requests whose first token is out |
| ``vllm:generation_tokens_total`` | counter | output tokens sent |
| ``vllm:request_success_total{finished_reason}`` | counter | answers written in full |
| ``vllm:time_to_first_token_seconds`` | histogram | arrival to first output chunk (queue included) |
| ``vllm:e2e_request_latency_seconds`` | histogram | arrival to the end of the answer |
| ``vllm:request_queue_time_seconds`` | histogram | arrival to taking a slot |
| ``vllm:prefix_cache_queries_total`` / ``vllm:prefix_cache_hits_total`` | counter | prompt tokens looked up / found (with ``prefix_cache``) |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from evalscope.mock.app import MockState
    from evalscope.mock.capacity import Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _MockCollector(Collector):
    def __init__(self, state: MockState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        st = self.state
        eng = st.engine  # read now: a reset replaces it
        model = [st.cfg.model_name]
        labels = ["model_name"]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric(model, value)
            return g

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            c = CounterMetricFamily(name, doc, labels=labels)
            c.add_metric(model, value)
            return c

        def histogram(name: str, doc: str, h: Histogram) -> HistogramMetricFamily:
            f = HistogramMetricFamily(name, doc, labels=labels)
            f.add_metric(model, buckets=h.cumulative(), sum_value=h.sum)
            return f

        yield gauge(
            "vllm:num_requests_running", "Number of requests in model execution batches.", eng.running
        )
        yield gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", eng.waiting)
        yield gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", eng.kv_usage)
        yield counter("vllm:prompt_tokens", "Number of prefill tokens processed.", eng.prompt_tokens)
        yield counter(
            "vllm:generation_tokens", "Number of generation tokens processed.", eng.generation_tokens
        )
        done = CounterMetricFamily(
            "vllm:request_success",
            "Count of successfully processed requests.",
            labels=[*labels, "finished_reason"],
        )
        # vLLM writes its finish reasons from the start, at 0
        for reason, n in sorted({"stop": 0, "length": 0, "abort": 0, **eng.finished}.items()):
            done.add_metric([*model, reason], n)
        yield done
        yield histogram(
            "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", eng.ttft
        )
        yield histogram(
            "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", eng.e2e
        )
        yield histogram(
            "vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.",
            eng.queue_time,
        )
        cache = getattr(st, "prefix_cache", None)  # None: the prefix-cache model is off
        if cache is not None:
            yield counter(
                "vllm:prefix_cache_queries", "Prefix cache queries, in terms of tokens.", cache.prompt_tokens
            )
            yield counter(
                "vllm:prefix_cache_hits", "Prefix cache hits, in terms of tokens.", cache.cached_tokens
            )


def metrics_registry(state: MockState) -> CollectorRegistry:
    """A registry holding only the mock's collector (no process or Python runtime metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_MockCollector(state))
    return registry


def render(registry: Any) -> bytes:
    """The Prometheus text exposition of ``registry``."""
    return generate_latest(registry)
