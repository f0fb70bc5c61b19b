"""The perf report: one run folder (its ``parallel_<p>_number_<n>/`` sweep points) -> ``report.html``.

Numbers in tables come from the files the engine wrote, read as typed results
(:func:`evalscope.perf.output.read_point`); distributions and the timeline are drawn from the request
records in ``benchmark_data.db`` (:func:`evalscope.perf.output.read_records`) with the engine's own
per-request definitions (:func:`evalscope.perf.metrics.request_values`), never re-derived here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evalscope.perf.metrics import request_values
from evalscope.perf.output import (
    POINT_RE,
    SUMMARY_FILE,
    PerfReadError,
    point_dirs,
    read_point,
    read_point_args,
    read_records,
)
from evalscope.perf.results import GENERATION_ONLY_FIELDS, PointMetrics, PointPercentiles, PointResult
from evalscope.report.page import PALETTE, ReportError, figure
from evalscope.secrets import redact_config

HIST_BINS = 40
#: requests drawn per sweep point on the timeline (evenly spaced when there are more)
TIMELINE_MAX = 3000

#: (PointMetrics field, column title) of the summary table
SUMMARY_FIELDS = [
    ("concurrency", "Concurrency"),
    ("total_requests", "Requests"),
    ("succeed_requests", "Succeeded"),
    ("failed_requests", "Failed"),
    ("time_taken", "Duration (s)"),
    ("request_throughput", "Req/s"),
    ("output_throughput", "Output tok/s"),
    ("total_throughput", "Total tok/s"),
    ("avg_latency", "Avg latency (s)"),
    ("avg_ttft", "Avg TTFT (s)"),
    ("avg_tpot", "Avg TPOT (s)"),
    ("avg_itl", "Avg ITL (s)"),
    ("avg_input_tokens", "Avg input tok"),
    ("avg_output_tokens", "Avg output tok"),
]
#: an input-only run's columns (embeddings, rerank) in place of those of GENERATION_ONLY_FIELDS
INPUT_SUMMARY_FIELDS = [
    ("inputs_throughput", "Inputs/s"),
    ("input_throughput", "Input tok/s"),
    ("avg_inputs", "Avg inputs/req"),
]
#: (row key, column title): rows are keyed by the summary's JSON keys, as ``report_data`` shows them
SUMMARY_COLUMNS = [(PointMetrics.key(f), title) for f, title in SUMMARY_FIELDS]
DIST_METRICS = [
    ("ttft", "TTFT (s)", "Time to first token"),
    ("tpot", "TPOT (s)", "Time per output token"),
    ("itl", "ITL (s)", "Inter-token latency"),
    ("latency", "Latency (s)", "End-to-end latency"),
]


@dataclass
class PerfPoint:
    """One sweep point as written by the engine, plus per-request values read from its records."""

    key: str
    parallel: int
    number: int
    result: PointResult
    args: dict[str, Any]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    t0: float | None = None

    @property
    def metrics(self) -> PointMetrics:
        return self.result.metrics

    @property
    def summary(self) -> dict[str, Any]:
        """The summary as the engine wrote it (``benchmark_summary.json``'s keys)."""
        return self.result.metrics.model_dump(mode="json")

    @property
    def percentiles(self) -> dict[str, Any]:
        """The percentile table as the engine wrote it (column -> values, ``"Percentiles"`` first)."""
        return self.result.percentiles.columns()

    @property
    def shown_percentiles(self) -> dict[str, Any]:
        """:attr:`percentiles` without the columns an input-only point cannot have (TTFT, output tokens)."""
        return PointPercentiles.shown(self.percentiles, self.input_only)

    @property
    def rate(self) -> float:
        return float(self.args.get("rate") or -1)

    @property
    def input_only(self) -> bool:
        """An embeddings or rerank point (inputs counted, nothing generated)."""
        return self.result.metrics.input_only


def input_only_run(points: list[PerfPoint]) -> bool:
    """Every point that succeeded at all is input-only (one API per run, so all or none)."""
    return any(p.input_only for p in points) and all(
        p.input_only or not p.metrics.succeed_requests for p in points
    )


def summary_fields(points: list[PerfPoint]) -> list[tuple[str, str]]:
    """(PointMetrics field, column title) of the summary table: an input-only run shows inputs/s,
    input tokens/s and inputs per request instead of the generation columns it cannot have."""
    if not input_only_run(points):
        return SUMMARY_FIELDS
    kept = [(f, t) for f, t in SUMMARY_FIELDS if f not in GENERATION_ONLY_FIELDS]
    at = next(i for i, (f, _) in enumerate(kept) if f == "request_throughput") + 1
    return kept[:at] + INPUT_SUMMARY_FIELDS + kept[at:]


def is_perf_run(folder: Path) -> bool:
    """A perf run folder holds ``parallel_<p>_number_<n>/benchmark_summary.json`` sub-folders."""
    return any(
        POINT_RE.match(p.name) and (p / SUMMARY_FILE).is_file() for p in folder.iterdir() if p.is_dir()
    )


def _read_records(db: Path, point: PerfPoint) -> None:
    records = read_records(db)
    if not records:
        return
    v = request_values(records)
    point.values = {
        "ttft": np.asarray(v.ttft),
        "tpot": np.asarray(v.tpot),
        "itl": np.asarray(v.itl),
        "latency": np.asarray(v.latency),
    }
    point.t0 = records[0].intended  # read in send order
    step = max(1, -(-len(records) // TIMELINE_MAX))  # ceil: at most TIMELINE_MAX drawn
    point.timeline = [
        {
            "i": r.index,
            "intended": r.intended,
            "start": r.start,
            "first": r.out_times[0] if len(r.out_times) else None,
            "end": r.end,
            "ok": r.ok,
            "reason": r.reason,
        }
        for r in records[::step]
    ]


def load_perf_run(folder: Path) -> list[PerfPoint]:
    """Every sweep point of a run folder, in the order they ran (by their first send time)."""
    points = []
    try:
        for sub in point_dirs(folder):
            m = POINT_RE.match(sub.name)
            assert m is not None
            point = PerfPoint(
                key=sub.name,
                parallel=int(m.group(1)),
                number=int(m.group(2)),
                result=read_point(sub),
                args=read_point_args(sub),
            )
            _read_records(sub / "benchmark_data.db", point)
            points.append(point)
    except PerfReadError as exc:
        raise ReportError(str(exc)) from None
    if not points:
        raise ReportError(
            f"{folder}: no parallel_<p>_number_<n>/benchmark_summary.json inside (not a perf run)"
        )
    points.sort(key=lambda p: (p.t0 is None, p.t0 or 0.0, p.parallel, p.number))
    return points


def sweep_axis(points: list[PerfPoint]) -> tuple[str, list[float]]:
    """The x of the sweep charts: the target request rate when the run was rate-driven, else concurrency."""
    if all(p.rate > 0 for p in points):
        return "Request rate (req/s)", [p.rate for p in points]
    return "Concurrency", [float(p.parallel) for p in points]


def point_label(p: PerfPoint) -> str:
    return f"rate {p.rate:g}/s" if p.rate > 0 else f"concurrency {p.parallel}"


def _pct(p: PerfPoint, column: str, q: str) -> float | None:
    """Percentile ``q`` (``"99%"``) of ``column`` (a :class:`PointPercentiles` field) from the engine's table."""
    return p.result.percentiles.at(column, q)


def summary_rows(points: list[PerfPoint]) -> list[dict[str, Any]]:
    """One table row per sweep point with the engine's summary numbers (and p50/p99 from its files)."""
    rows = []
    input_only = input_only_run(points)
    for p in points:
        row: dict[str, Any] = {"key": p.key, "label": point_label(p)}
        for name, _ in summary_fields(points):
            row[PointMetrics.key(name)] = getattr(p.metrics, name)
        row["P50 latency (s)"] = _pct(p, "latency", "50%")
        row["P99 latency (s)"] = _pct(p, "latency", "99%")
        if not input_only:
            row["P99 TTFT (s)"] = _pct(p, "ttft", "99%")
        rows.append(row)
    return rows


def histogram_figure(
    points: list[PerfPoint], metric: str, unit_label: str, title: str, names: list[str] | None = None
) -> dict[str, Any] | None:
    """Share of values per bin, one step line per sweep point, on bins shared by every point.

    Bins end at the largest 99.5th percentile so one outlier does not flatten the chart; values
    beyond it are counted in the trace's legend entry.
    """
    series = [(p, v) for p in points if (v := p.values.get(metric)) is not None and len(v)]
    if not series:
        return None
    lo = min(float(v.min()) for _, v in series)
    hi = max(float(np.percentile(v, 99.5)) for _, v in series)
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1e-3)
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    traces = []
    for k, (p, v) in enumerate(series):
        counts, _ = np.histogram(np.clip(v, lo, hi), bins=edges)
        above = int((v > hi).sum())
        name = (names[points.index(p)] if names else point_label(p)) + (f" ({above} above)" if above else "")
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hvh", "color": PALETTE[k % len(PALETTE)]},
                "fill": "tozeroy",
                "opacity": 0.6,
                "name": name,
                "x": centers.round(6).tolist(),
                "y": (100.0 * counts / len(v)).round(3).tolist(),
                "hovertemplate": f"{unit_label} %{{x:.4g}}<br>%{{y:.1f}}% of values<extra>{name}</extra>",
            }
        )
    return figure(
        traces,
        f"{title} distribution",
        xaxis={"title": {"text": unit_label}},
        yaxis={"title": {"text": "% of values"}, "rangemode": "tozero"},
    )


def sweep_figures(
    points: list[PerfPoint], names: list[str] | None = None, groups: list[list[PerfPoint]] | None = None
) -> list[dict[str, Any]]:
    """Throughput and latency against concurrency (or rate) across the sweep.

    ``groups`` (with ``names``) draws one line per run, for comparisons.
    """
    groups = groups or [points]
    names = names or [""]
    x_title = sweep_axis([p for g in groups for p in g])[0]
    # embeddings/rerank: inputs/s on the right axis, and no TTFT lines (there is no first token)
    input_only = input_only_run([p for g in groups for p in g])
    right_name, right_field = (
        ("Inputs/s", "inputs_throughput") if input_only else ("Output tokens/s", "output_throughput")
    )
    thr, lat = [], []
    for g, (run_points, run_name) in enumerate(zip(groups, names, strict=True)):
        xs = [f"{x:g}" for x in sweep_axis(run_points)[1]]  # categories: a 1, 4, 16, 64 sweep spreads evenly
        suffix = f" · {run_name}" if run_name else ""
        dash = "solid" if g == 0 else "dash"
        # bars for requests/s, a line for tokens/s: with a fixed output length the two are
        # proportional, and two lines on twin axes would hide one another
        thr.append(
            {
                "type": "bar",
                "name": "Requests/s" + suffix,
                "x": xs,
                "opacity": 0.55 if g == 0 else 0.35,
                "y": [p.metrics.request_throughput for p in run_points],
                "yaxis": "y",
                "marker": {"color": PALETTE[0] if g == 0 else PALETTE[9]},
            }
        )
        thr.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": right_name + suffix,
                "x": xs,
                "y": [getattr(p.metrics, right_field) for p in run_points],
                "yaxis": "y2",
                "line": {"color": PALETTE[1], "dash": dash},
            }
        )
        lines = [("Latency p50", "latency", "50%"), ("Latency p99", "latency", "99%")]
        if not input_only:
            lines += [("TTFT p50", "ttft", "50%"), ("TTFT p99", "ttft", "99%")]
        for k, (label, column, q) in enumerate(lines):
            lat.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": label + suffix,
                    "x": xs,
                    "y": [_pct(p, column, q) for p in run_points],
                    "line": {"color": PALETTE[(k + 2) % len(PALETTE)], "dash": dash},
                }
            )
    return [
        figure(
            thr,
            f"Throughput against {x_title.lower()}",
            xaxis={"title": {"text": x_title}, "type": "category"},
            margin={"l": 60, "r": 70, "t": 48, "b": 50},
            yaxis={"title": {"text": "requests/s"}, "rangemode": "tozero"},
            yaxis2={
                "title": {"text": right_name.lower()},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
            },
            barmode="group",
        ),
        figure(
            lat,
            f"Latency against {x_title.lower()}",
            xaxis={"title": {"text": x_title}, "type": "category"},
            yaxis={"title": {"text": "seconds"}, "rangemode": "tozero"},
        ),
    ]


def timeline_figure(points: list[PerfPoint]) -> dict[str, Any] | None:
    """Every request as a bar from its intended send time to its end (waiting for the first token,
    then generating; failures in red), on one time axis across the sweep."""
    t0 = min((p.t0 for p in points if p.t0 is not None), default=None)
    if t0 is None:
        return None
    wait: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    gen: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    bad: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    y = 0
    sampled = False
    for p in points:
        total = (
            p.metrics.total_requests if "total_requests" in p.metrics.model_fields_set else len(p.timeline)
        )
        sampled |= len(p.timeline) < total
        for r in p.timeline:
            y += 1
            begin = r["intended"] - t0
            end = r["end"] - t0
            label = f"{p.key} #{r['i']}"
            if not r["ok"]:
                bad["x"] += [begin, end, None]
                bad["y"] += [y, y, None]
                bad["text"] += [f"{label}: {r['reason']}"] * 2 + [None]
                continue
            first = (r["first"] - t0) if r["first"] is not None else end
            wait["x"] += [begin, first, None]
            wait["y"] += [y, y, None]
            wait["text"] += [label] * 2 + [None]
            gen["x"] += [first, end, None]
            gen["y"] += [y, y, None]
            gen["text"] += [label] * 2 + [None]
    width = 3 if y < 400 else 1
    # WebGL only pays off for many segments (SVG is lighter for small runs, and prints)
    traces = []
    for name, part, color in (
        ("waiting for first token", wait, "#f0ad4e"),
        ("generating", gen, "#1f77b4"),
        ("failed", bad, "#d62728"),
    ):
        if part["x"]:
            # failures are often instant (an HTTP error): a marker keeps them visible
            traces.append(
                {
                    "type": "scattergl" if y > 1500 else "scatter",
                    "mode": "lines+markers" if part is bad else "lines",
                    "name": name,
                    "x": [_r(v) for v in part["x"]],
                    "y": part["y"],
                    "text": part["text"],
                    "line": {"color": color, "width": width},
                    "marker": {"color": color, "size": 6, "symbol": "x"},
                    "hovertemplate": "%{text}<br>t=%{x:.3f}s<extra>" + name + "</extra>",
                }
            )
    title = "Timeline of requests" + (" (evenly sampled)" if sampled else "")
    return figure(
        traces,
        title,
        xaxis={"title": {"text": "seconds since the first send"}},
        yaxis={"title": {"text": "request (in send order)"}, "autorange": "reversed"},
        height=420,
    )


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


def error_rows(points: list[PerfPoint]) -> list[dict[str, Any]]:
    """(sweep point, reason, count, example message) for every failure reason."""
    rows = []
    for p in points:
        examples = p.metrics.failure_examples
        for reason, count in p.metrics.failures_by_reason.items():
            rows.append({"point": p.key, "reason": reason, "count": count, "example": examples.get(reason)})
    return rows


def errors_figure(points: list[PerfPoint]) -> dict[str, Any] | None:
    """Failed requests by reason, stacked per sweep point."""
    reasons = sorted({r for p in points for r in p.metrics.failures_by_reason})
    if not reasons:
        return None
    traces = [
        {
            "type": "bar",
            "name": reason,
            "x": [point_label(p) for p in points],
            "y": [p.metrics.failures_by_reason.get(reason, 0) for p in points],
            "marker": {"color": PALETTE[(k + 3) % len(PALETTE)]},
        }
        for k, reason in enumerate(reasons)
    ]
    return figure(
        traces,
        "Failed requests by reason",
        xaxis={"title": {"text": "sweep point"}},
        yaxis={"title": {"text": "requests"}},
        barmode="stack",
    )


def run_title(folder: Path) -> str:
    """``<name> (<timestamp>)`` for an engine run folder ``<outputs>/<timestamp>/<name>``."""
    return f"{folder.name} ({folder.parent.name})"


def perf_context(folder: Path) -> dict[str, Any]:
    """Everything the perf template shows, plus the ``report_data`` JSON island for scripts."""
    points = load_perf_run(folder)
    figures: list[tuple[str, dict[str, Any]]] = []
    for fig in sweep_figures(points):
        figures.append(("sweep", fig))
    for metric, unit, title in DIST_METRICS:
        dist = histogram_figure(points, metric, unit, title)
        if dist is not None:
            figures.append(("dist", dist))
    timeline = timeline_figure(points)
    errors = errors_figure(points)
    first = redact_config(points[0].args)  # a folder written by another tool may hold a key in clear
    config = {
        k: first.get(k)
        for k in ("model", "url", "api", "dataset", "max_tokens", "stream", "rate")
        if k in first
    }
    if "rate" in config and (config["rate"] is None or config["rate"] <= 0):
        config["rate"] = "no limit (fixed concurrency)"
    report_data = {
        "kind": "perf",
        "run": str(folder),
        "points": [
            {
                "key": p.key,
                "parallel": p.parallel,
                "number": p.number,
                "summary": p.summary,
                "percentiles": p.percentiles,
            }
            for p in points
        ],
    }
    return {
        "title": f"Perf report · {run_title(folder)}",
        "run_title": run_title(folder),
        "folder": str(folder),
        "config": config,
        "columns": [(PointMetrics.key(f), title) for f, title in summary_fields(points)]
        + [
            ("P50 latency (s)", "P50 latency (s)"),
            ("P99 latency (s)", "P99 latency (s)"),
        ]
        + ([] if input_only_run(points) else [("P99 TTFT (s)", "P99 TTFT (s)")]),
        "rows": summary_rows(points),
        "points": points,
        "sweep_figs": [f for kind, f in figures if kind == "sweep"],
        "dist_figs": [f for kind, f in figures if kind == "dist"],
        "timeline_fig": timeline,
        "errors_fig": errors,
        "error_rows": error_rows(points),
        "warnings": [(p.key, w) for p in points for w in p.metrics.warnings],
        "report_data": report_data,
    }
