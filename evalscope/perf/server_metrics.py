"""The target's own view during a perf run: its Prometheus ``/metrics``, scraped while a point runs.

One :class:`ServerMetrics` per run (``PerfArguments.server_metrics``, on by default as in aiperf)
and, per sweep point, a :class:`PointScrape`: a daemon thread that scrapes the endpoint once
before the point's load starts (the baseline), every ``server_metrics_interval`` seconds while it
runs, and once after its last request (the final scrape). The thread does its own blocking HTTP
and parsing, so the load loop never waits on it; with one client process the parse shares the
GIL for a few milliseconds per scrape of a large page (a small page: well under one).

Each scrape is parsed with prometheus-client's text parser and **normalized**: the known names of
vLLM, SGLang, TGI and llama.cpp (:data:`GAUGES`, :data:`COUNTERS`, :data:`HISTOGRAMS`) become one
set of keys (``running``, ``waiting``, ``kv_cache_usage``, ``prompt_tokens``, ...; series with
several label sets are summed, KV-cache use averaged), and every other sample is kept raw under
its name and labels (histogram buckets of unknown families left out). One JSON line per scrape is
appended to ``<point folder>/server_metrics.jsonl`` (whole-line appends: a crash leaves no torn
line). Memory stays flat: the summary (:class:`ServerMetricsSummary`) is updated as scrapes come.

A target without metrics (a 404, a refused connection, a page that is not Prometheus text) gives
one warning for the run and no more scraping; never a failure.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evalscope import fsio
from evalscope.perf.results import ServerMetricsSummary

log = logging.getLogger("evalscope.perf")

SERIES_FILE = "server_metrics.jsonl"
#: a scrape slower than this is abandoned (and counted as failed); the next one comes on time
SCRAPE_TIMEOUT = 5.0
#: the final scrape waits at most this long for the server to show no request running
FLUSH_LIMIT = 2.0
FLUSH_STEP = 0.05
#: the load starts after the baseline scrape or after this many seconds, whichever is first
BASELINE_WAIT = 2.0

#: normalized gauge -> the names servers use (sample names as written on the page)
GAUGES: dict[str, tuple[str, ...]] = {
    "running": (
        "vllm:num_requests_running",
        "sglang:num_running_reqs",
        "tgi_batch_current_size",
        "llamacpp:requests_processing",
    ),
    "waiting": (
        "vllm:num_requests_waiting",
        "sglang:num_queue_reqs",
        "tgi_queue_size",
        "llamacpp:requests_deferred",
    ),
    "kv_cache_usage": (  # a fraction, 0..1
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "sglang:token_usage",
        "llamacpp:kv_cache_usage_ratio",
    ),
    "prefix_cache_hit_rate": ("sglang:cache_hit_rate", "vllm:gpu_prefix_cache_hit_rate"),
}
#: normalized counter -> names (TGI has token histograms: their _sum is the token counter)
COUNTERS: dict[str, tuple[str, ...]] = {
    "prompt_tokens": (
        "vllm:prompt_tokens_total",
        "sglang:prompt_tokens_total",
        "llamacpp:prompt_tokens_total",
        "tgi_request_input_length_sum",
    ),
    "generation_tokens": (
        "vllm:generation_tokens_total",
        "sglang:generation_tokens_total",
        "llamacpp:tokens_predicted_total",
        "tgi_request_generated_tokens_sum",
    ),
    "prefix_cache_queries": ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    "prefix_cache_hits": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "requests": ("vllm:request_success_total", "sglang:num_requests_total", "tgi_request_success"),
}
#: normalized histogram -> family names (samples <name>_bucket / _sum / _count), in seconds
HISTOGRAMS: dict[str, tuple[str, ...]] = {
    "ttft": ("vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"),
    "e2e_latency": (
        "vllm:e2e_request_latency_seconds",
        "sglang:e2e_request_latency_seconds",
        "tgi_request_duration",
    ),
    "queue_time": (
        "vllm:request_queue_time_seconds",
        "sglang:queue_time_seconds",
        "tgi_request_queue_duration",
    ),
    "tpot": (
        "vllm:time_per_output_token_seconds",
        "vllm:request_time_per_output_token_seconds",
        "sglang:time_per_output_token_seconds",
        "tgi_request_mean_time_per_token_duration",
    ),
}
#: the server a name prefix tells
SERVERS = (("vllm:", "vllm"), ("sglang:", "sglang"), ("tgi_", "tgi"), ("llamacpp:", "llama.cpp"))

_GAUGE_OF = {name: key for key, names in GAUGES.items() for name in names}
_COUNTER_OF = {name: key for key, names in COUNTERS.items() for name in names}
_HIST_OF = {name: key for key, names in HISTOGRAMS.items() for name in names}


def default_metrics_url(url: str) -> str:
    """``/metrics`` on the scheme, host and port of the model URL (``http://h:8000/v1/chat/completions``
    -> ``http://h:8000/metrics``); user info and query are dropped (no key travels to it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, "/metrics", "", ""))


class NotPrometheus(ValueError):
    """The page is not Prometheus text (no sample could be read)."""


def parse(text: str) -> dict[str, Any]:
    """One scrape, normalized: ``{"server", <gauge/counter keys>, "histograms": {key: {"buckets": {le:
    cumulative}, "sum", "count"}}, "raw": {name{labels}: value}}``; keys without a source are absent."""
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[str, float] = {}
    kv: list[float] = []
    hists: dict[str, dict[str, Any]] = {}
    raw: dict[str, float] = {}
    server: str | None = None
    samples = 0
    try:
        families = list(text_string_to_metric_families(text))
    except (ValueError, TypeError, IndexError) as exc:
        raise NotPrometheus(f"not Prometheus text ({exc})") from None
    for family in families:
        hist_key = _HIST_OF.get(family.name)
        for s in family.samples:
            samples += 1
            name, value = s.name, float(s.value)
            if server is None:
                server = next((srv for prefix, srv in SERVERS if name.startswith(prefix)), None)
            if math.isnan(value):
                continue
            if hist_key is not None:
                h = hists.setdefault(hist_key, {"buckets": {}, "sum": 0.0, "count": 0.0})
                if name.endswith("_bucket"):
                    le = s.labels.get("le", "+Inf")
                    h["buckets"][le] = h["buckets"].get(le, 0.0) + value
                    continue
                if name.endswith("_sum"):
                    h["sum"] += value
                    continue
                if name.endswith("_count"):
                    h["count"] += value
                    continue
            key = _GAUGE_OF.get(name)
            if key == "kv_cache_usage":
                kv.append(value)
                continue
            if key is not None:
                values[key] = values.get(key, 0.0) + value
                continue
            key = _COUNTER_OF.get(name)
            if key is not None:
                values[key] = values.get(key, 0.0) + value
                continue
            if name.endswith(("_bucket", "_created")):
                continue  # unknown histograms keep their sum and count only; creation times say nothing
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            raw[f"{name}{{{labels}}}" if labels else name] = value
    if samples == 0 and text.strip():
        raise NotPrometheus("not Prometheus text (no sample found)")
    if kv:
        values["kv_cache_usage"] = sum(kv) / len(kv)
    return {"server": server or "unknown", **values, "histograms": hists, "raw": raw}


def histogram_quantile(q: float, buckets: dict[str, float]) -> float | None:
    """The ``q`` quantile of cumulative ``buckets`` ``{le: count}`` (a delta over a window), by linear
    interpolation inside the bucket holding it, as Prometheus' ``histogram_quantile`` does (the
    first bucket starts at 0; a rank in the +Inf bucket gives the highest finite bound)."""
    bounds = sorted(((math.inf if le == "+Inf" else float(le)), n) for le, n in buckets.items())
    if not bounds or bounds[-1][1] <= 0:
        return None
    total = bounds[-1][1]
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in bounds:
        if count >= rank and count > prev_count:
            if math.isinf(bound):
                return prev_bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = (bound if not math.isinf(bound) else prev_bound), count
    return prev_bound


class _Counter:
    """The increase of a counter over a window, across server restarts (a drop is a reset)."""

    __slots__ = ("last", "total")

    def __init__(self, first: float) -> None:
        self.last = first
        self.total = 0.0

    def add(self, value: float) -> None:
        self.total += value - self.last if value >= self.last else value
        self.last = value


class PointScrape:
    """The scraper of one sweep point (a daemon thread) and the summary it builds."""

    def __init__(self, url: str, interval: float, path: Path) -> None:
        self.url = url
        self.interval = interval
        self.path = path
        self.error: str | None = None  # why the baseline scrape failed: the endpoint has no metrics
        self.failed = 0  # later scrapes that failed (timeouts, a restart): counted, not fatal
        self.scrapes = 0
        self._stop = threading.Event()
        self._baseline = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evalscope-server-metrics", daemon=True)
        self._t0 = 0.0
        self._server = "unknown"
        self._gauges: dict[str, list[float]] = {}  # key -> [sum, max, n] over scrapes during the point
        self._counters: dict[str, _Counter] = {}
        self._hist_first: dict[str, dict[str, Any]] = {}
        self._hist_last: dict[str, dict[str, Any]] = {}

    # the thread
    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._thread.start()

    def wait_baseline(self, timeout: float = BASELINE_WAIT) -> None:
        self._baseline.wait(timeout)

    def stop(self, timeout: float = SCRAPE_TIMEOUT + FLUSH_LIMIT + 1) -> None:
        """Ask for the final scrape and wait for the thread to end."""
        self._stop.set()
        self._thread.join(timeout)

    def _fetch(self) -> str:
        req = urllib.request.Request(self.url, headers={"Accept": "text/plain"})
        # no proxies: the target is the model server, reached directly like the load itself
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=SCRAPE_TIMEOUT) as resp:
            return resp.read().decode("utf-8", "replace")

    def _run(self) -> None:
        appender: fsio.LineAppender | None = None
        try:
            try:
                first = parse(self._fetch())
            except urllib.error.HTTPError as exc:
                self.error = f"HTTP {exc.code}"
                return
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                self.error = str(getattr(reason, "strerror", None) or reason)
                return
            except NotPrometheus as exc:
                self.error = str(exc)
                return
            finally:
                self._baseline.set()
            appender = fsio.LineAppender(self.path)
            self._take(first, appender, "baseline")
            while not self._stop.wait(self.interval):
                self._scrape(appender, "point")
            self._final(appender)
        except Exception as exc:  # a disk error: the run goes on without the series
            log.warning("server metrics: %s", exc)
            self.error = self.error or f"stopped: {exc}"
        finally:
            if appender is not None:
                appender.close()

    def _final(self, appender: fsio.LineAppender) -> None:
        """The scrape after the point's last answer. A server counts a request after writing its last
        bytes, so the client may be done a moment before the counters are: while the server still
        shows requests running, scrape again shortly (for at most :data:`FLUSH_LIMIT` seconds)."""
        deadline = time.perf_counter() + FLUSH_LIMIT
        while True:
            try:
                snap = parse(self._fetch())
            except (urllib.error.URLError, OSError, NotPrometheus):
                self.failed += 1
                return
            if snap.get("running", 0) <= 0 or time.perf_counter() >= deadline:
                self._take(snap, appender, "final")
                return
            time.sleep(FLUSH_STEP)

    def _scrape(self, appender: fsio.LineAppender, phase: str) -> None:
        try:
            snap = parse(self._fetch())
        except (urllib.error.URLError, OSError, NotPrometheus):
            self.failed += 1
            return
        self._take(snap, appender, phase)

    def _take(self, snap: dict[str, Any], appender: fsio.LineAppender, phase: str) -> None:
        self.scrapes += 1
        line = {"t": round(time.perf_counter() - self._t0, 6), "time": time.time(), "phase": phase, **snap}
        appender.write_line(json.dumps(line, separators=(",", ":")))
        if phase == "baseline":
            self._server = snap["server"]
        if phase == "point":  # gauges: what the server showed while the load ran
            for key in GAUGES:
                if key in snap:
                    g = self._gauges.setdefault(key, [0.0, -math.inf, 0])
                    g[0] += snap[key]
                    g[1] = max(g[1], snap[key])
                    g[2] += 1
        # a counter or histogram first seen after the baseline started from zero during the point
        # (servers write some series only once something happened)
        baseline = phase == "baseline"
        for key in COUNTERS:
            if key in snap:
                c = self._counters.get(key)
                if c is None:
                    c = self._counters[key] = _Counter(snap[key] if baseline else 0.0)
                c.add(snap[key])
        for key, h in snap["histograms"].items():
            self._hist_first.setdefault(key, h if baseline else {"buckets": {}, "sum": 0.0, "count": 0.0})
            self._hist_last[key] = h

    # the summary
    def summary(self, client_ttft: float | None) -> ServerMetricsSummary:
        """What the scrapes of this point say (``client_ttft``: the client's mean TTFT, for the gap)."""
        s = ServerMetricsSummary(url=self.url, server=self._server, scrapes=self.scrapes)
        if self.failed:
            s.failed_scrapes = self.failed

        def mean(key: str) -> float | None:
            g = self._gauges.get(key)
            return g[0] / g[2] if g else None

        def peak(key: str) -> float | None:
            g = self._gauges.get(key)
            return g[1] if g else None

        fields: dict[str, Any] = {
            "peak_running": peak("running"),
            "mean_running": mean("running"),
            "peak_waiting": peak("waiting"),
            "mean_waiting": mean("waiting"),
            "mean_kv_cache_usage": mean("kv_cache_usage"),
            "peak_kv_cache_usage": peak("kv_cache_usage"),
        }
        counters = {k: c.total for k, c in self._counters.items()}
        for key in ("prompt_tokens", "generation_tokens", "requests"):
            if key in counters:
                fields[key] = counters[key]
        queries, hits = counters.get("prefix_cache_queries"), counters.get("prefix_cache_hits")
        if queries and hits is not None:
            fields["prefix_cache_hit_rate"] = hits / queries
        elif mean("prefix_cache_hit_rate") is not None:
            fields["prefix_cache_hit_rate"] = mean("prefix_cache_hit_rate")
        for key, prefix in (("ttft", "ttft"), ("e2e_latency", "latency"), ("queue_time", "queue_time"),
                            ("tpot", "tpot")):  # fmt: skip
            window = self._window(key)
            if window is None:
                continue
            buckets, total, count = window
            fields[f"{prefix}_mean"] = total / count
            fields[f"{prefix}_p50"] = histogram_quantile(0.5, buckets)
            fields[f"{prefix}_p99"] = histogram_quantile(0.99, buckets)
        if client_ttft is not None and fields.get("ttft_mean") is not None:
            fields["client_minus_server_ttft"] = client_ttft - fields["ttft_mean"]
        for name, value in fields.items():
            if value is not None and not (isinstance(value, float) and math.isinf(value)):
                setattr(s, name, round(value, 6) if isinstance(value, float) else value)
        return s

    def _window(self, key: str) -> tuple[dict[str, float], float, float] | None:
        """A histogram's increase over the point: (bucket deltas, sum delta, count delta), or None."""
        first, last = self._hist_first.get(key), self._hist_last.get(key)
        if first is None or last is None:
            return None
        count = last["count"] - first["count"]
        if count <= 0:
            return None  # nothing observed, or the server restarted: no honest estimate
        buckets = {le: n - first["buckets"].get(le, 0.0) for le, n in last["buckets"].items()}
        return buckets, last["sum"] - first["sum"], count


class ServerMetrics:
    """The run's scraping: where, how often, and whether the endpoint answered (one warning if not)."""

    def __init__(self, url: str, interval: float) -> None:
        self.url = url
        self.interval = interval
        self.enabled = True
        self.warnings: list[str] = []

    @classmethod
    def for_run(cls, args: Any) -> ServerMetrics | None:
        """From ``PerfArguments``: None when ``server_metrics`` is off."""
        if not args.server_metrics:
            return None
        return cls(args.server_metrics_url or default_metrics_url(args.url), args.server_metrics_interval)

    def start_point(self, point_dir: Path) -> PointScrape | None:
        """Start scraping for one point (None once the endpoint proved to have no metrics)."""
        if not self.enabled:
            return None
        scrape = PointScrape(self.url, self.interval, Path(point_dir) / SERIES_FILE)
        scrape.start()
        return scrape

    def end_point(self, scrape: PointScrape | None, client_ttft: float | None) -> ServerMetricsSummary | None:
        """Stop ``scrape``; its summary, or None (and, the first time, the run's warning) without metrics."""
        if scrape is None:
            return None
        scrape.stop()
        if scrape.error is not None and scrape.scrapes == 0:
            self.enabled = False
            warning = (
                f"server metrics: none at {_shown(self.url)} ({scrape.error}); the run goes on without "
                "them (--server-metrics-url to point elsewhere, --no-server-metrics to stop trying)"
            )
            log.warning("%s", warning)
            self.warnings.append(warning)
            return None
        return scrape.summary(client_ttft)


def _shown(url: str) -> str:
    """``url`` without user info or query (no key in a warning)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def read_series(point_dir: str | Path) -> list[dict[str, Any]]:
    """The scrapes of a point (``server_metrics.jsonl``), in order; empty when there are none."""
    path = Path(point_dir) / SERIES_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


__all__ = [
    "SERIES_FILE",
    "PointScrape",
    "ServerMetrics",
    "default_metrics_url",
    "histogram_quantile",
    "parse",
    "read_series",
]
