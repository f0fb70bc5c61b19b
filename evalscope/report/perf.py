"""The perf report: one run folder (its ``parallel_<p>_number_<n>/`` sweep points) -> ``report.html``.

Numbers in tables come from the files the engine wrote, read as typed results
(:func:`evalscope.perf.output.read_point`); distributions and the timeline are drawn from the request
records in ``benchmark_data.db`` (:func:`evalscope.perf.output.read_records`) with the engine's own
per-request definitions (:func:`evalscope.perf.metrics.request_values`), never re-derived here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evalscope.perf.metrics import measured_records, request_values
from evalscope.perf.output import (
    POINT_RE,
    SUMMARY_FILE,
    PerfReadError,
    point_dirs,
    read_point,
    read_point_args,
    read_records,
)
from evalscope.perf.results import (
    GENERATION_ONLY_FIELDS,
    PERCENTILES,
    PointMetrics,
    PointPercentiles,
    PointResult,
    SessionMetrics,
    TurnMetrics,
)
from evalscope.perf.slo_search import SLO_SEARCH_FILE, SloSearchResult
from evalscope.report.page import PALETTE, ReportError, figure, fmt_num
from evalscope.secrets import redact_config

#: the percentiles each ECDF curve is drawn at (0..100 by 1, the tail finer, and the engine's own)
ECDF_PROBS = np.unique(
    np.concatenate([np.linspace(0, 1, 101), [0.995, 0.999], np.asarray(PERCENTILES, dtype=float) / 100])
)
#: most time bins of the over-time charts
FLOW_BINS = 240
SCRAPES_FILE = "server_metrics.jsonl"
#: (scrape key, label, dash, axis, scale) of the server chart
SERVER_GAUGES = [
    ("running", "running", "solid", "y", 1.0),
    ("waiting", "waiting", "dash", "y", 1.0),
    ("kv_cache_usage", "KV-cache %", "dot", "y2", 100.0),
]
#: (percentile column, title, scale) of the side-by-side percentile tables
SIDE_BY_SIDE = [
    ("latency", "Latency (s)", 1.0),
    ("ttft", "TTFT (ms)", 1000.0),
    ("tpot", "TPOT (ms)", 1000.0),
    ("itl", "ITL (ms)", 1000.0),
]
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
#: (PointMetrics field, column title) of the load shapes' columns, shown when some point has the value:
#: ramp-up (what was left out), trace replay (the schedule's accuracy), multi-turn sessions
SHAPE_FIELDS = [
    ("ramp_up", "Ramp-up (s)"),
    ("ramp_requests", "Ramp-up requests (not measured)"),
    ("trace_speedup", "Trace speed-up"),
    ("send_error_p50_ms", "Send-time error p50 (ms)"),
    ("send_error_p99_ms", "Send-time error p99 (ms)"),
    ("send_error_max_ms", "Send-time error max (ms)"),
    ("sessions", "Sessions"),
    ("avg_turns", "Avg turns/session"),
    ("avg_first_turn_ttft", "Avg first-turn TTFT (s)"),
    ("avg_later_turn_ttft", "Avg later-turn TTFT (s)"),
]
#: (TurnMetrics field, column title) of a multi-turn point's per-turn table
TURN_FIELDS = [
    ("turn", "Turn"),
    ("requests", "Requests"),
    ("succeed_requests", "Succeeded"),
    ("avg_ttft", "Avg TTFT (s)"),
    ("p50_ttft", "P50 TTFT (s)"),
    ("p99_ttft", "P99 TTFT (s)"),
    ("avg_latency", "Avg latency (s)"),
    ("avg_input_tokens", "Avg input tok"),
    ("avg_output_tokens", "Avg output tok"),
]
#: an SLO search's point that met every SLO / that failed one
PASS_COLOR, FAIL_COLOR = "#15803d", "#b91c1c"
#: the shading of the ramp-up on the over-time charts
RAMP_FILL = "rgba(234,179,8,.18)"
#: (row key, column title): rows are keyed by the summary's JSON keys, as ``report_data`` shows them
SUMMARY_COLUMNS = [(PointMetrics.key(f), title) for f, title in SUMMARY_FIELDS]
#: (metric, unit, title, scale from seconds) of the percentile curves; TTFT, TPOT and ITL in ms
DIST_METRICS = [
    ("ttft", "ms", "Time to first token (TTFT)", 1000.0),
    ("tpot", "ms", "Time per output token (TPOT)", 1000.0),
    ("itl", "ms", "Inter-token latency (ITL)", 1000.0),
    ("latency", "s", "End-to-end latency", 1.0),
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
    #: every request's start, end, success and output tokens (arrays), for the over-time charts
    flow: dict[str, np.ndarray] = field(default_factory=dict)
    #: the server's scrapes during the point (``server_metrics.jsonl``; empty without them)
    scrapes: list[dict[str, Any]] = field(default_factory=list)

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
    # the distributions count what the metrics count: requests sent during --ramp-up are left out
    v = request_values(measured_records(records))
    point.values = {
        "ttft": np.asarray(v.ttft),
        "tpot": np.asarray(v.tpot),
        "itl": np.asarray(v.itl),
        "latency": np.asarray(v.latency),
    }
    point.t0 = records[0].intended  # read in send order
    point.flow = {
        "start": np.asarray([r.start for r in records], dtype=float),
        "end": np.asarray([r.end for r in records], dtype=float),
        "ok": np.asarray([bool(r.ok) for r in records]),
        "tokens": np.asarray([r.completion_tokens or 0 for r in records], dtype=float),
        "intended": np.asarray([r.intended for r in records], dtype=float),
        "ramp": np.asarray([bool(r.ramp) for r in records]),
    }
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
            point.scrapes = read_scrapes(sub)
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


def shape_fields(points: list[PerfPoint]) -> list[tuple[str, str]]:
    """(PointMetrics field, column title) of :data:`SHAPE_FIELDS` that some point has (a ramp-up, a
    trace replay, multi-turn sessions); none for a plain run."""
    return [(f, t) for f, t in SHAPE_FIELDS if any(getattr(p.metrics, f) is not None for p in points)]


def summary_rows(points: list[PerfPoint]) -> list[dict[str, Any]]:
    """One table row per sweep point with the engine's summary numbers (and p50/p99 from its files)."""
    rows = []
    input_only = input_only_run(points)
    for p in points:
        row: dict[str, Any] = {"key": p.key, "label": point_label(p)}
        for name, _ in summary_fields(points) + shape_fields(points):
            row[PointMetrics.key(name)] = getattr(p.metrics, name)
        row["P50 latency (s)"] = _pct(p, "latency", "50%")
        row["P99 latency (s)"] = _pct(p, "latency", "99%")
        if not input_only:
            row["P99 TTFT (s)"] = _pct(p, "ttft", "99%")
        rows.append(row)
    return rows


def ecdf_figure(
    points: list[PerfPoint],
    metric: str,
    unit_label: str,
    title: str,
    scale: float = 1.0,
    names: list[str] | None = None,
    dashes: list[str] | None = None,
) -> dict[str, Any] | None:
    """Percentile curves (an ECDF drawn at fixed percentiles): one line per sweep point, so points
    never hide each other as overlapping histograms do. The curve passes through the engine's own
    percentiles (numpy's linear interpolation, as ``benchmark_percentile.json``); ``scale`` turns
    seconds into milliseconds. A log/linear switch sits above the chart (tails read better on log)."""
    series = [(k, p, v) for k, p in enumerate(points) if (v := p.values.get(metric)) is not None and len(v)]
    if not series:
        return None
    traces = []
    for k, p, v in series:
        name = names[k] if names else point_label(p)
        xs = np.quantile(np.asarray(v, dtype=float) * scale, ECDF_PROBS)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "line": {"color": PALETTE[k % len(PALETTE)], "dash": (dashes[k] if dashes else "solid")},
                "x": [round(float(x), 6) for x in xs],
                "y": [round(float(q) * 100, 3) for q in ECDF_PROBS],
                "hovertemplate": f"p%{{y:.1f}}: %{{x:.4g}} {unit_label}<extra>{name}</extra>",
            }
        )
    return figure(
        traces,
        f"{title}: percentiles",
        xaxis={"title": {"text": f"{title.split(' (')[0]} ({unit_label})"}, "type": "linear"},
        yaxis={"title": {"text": "percentile (% of requests at or below)"}, "range": [0, 101], "dtick": 10},
        updatemenus=[log_toggle("xaxis")],
    )


def log_toggle(axis: str) -> dict[str, Any]:
    """A linear/log switch for ``axis`` drawn above the plot's top-right corner."""
    return {
        "type": "buttons",
        "direction": "left",
        "showactive": True,
        "x": 1.0,
        "xanchor": "right",
        "y": 1.02,
        "yanchor": "bottom",
        "pad": {"t": 0, "r": 0},
        "font": {"size": 11},
        "buttons": [
            {"label": "linear", "method": "relayout", "args": [{f"{axis}.type": "linear"}]},
            {"label": "log", "method": "relayout", "args": [{f"{axis}.type": "log"}]},
        ],
    }


def slo_of(points: list[PerfPoint]) -> dict[str, float]:
    """The run's SLOs in ms (``ttft``, ``e2el``, ``tpot``, ``itl``): the perf args' ``slo`` field, else
    what the summary recorded (``SLO (ms)``)."""
    for p in points:
        slo = p.args.get("slo") or p.summary.get("SLO (ms)")
        if isinstance(slo, dict) and slo:
            return {str(k): float(v) for k, v in slo.items() if isinstance(v, int | float)}
    return {}


def slo_metric(name: str) -> str:
    """The metric an SLO key bounds: ``ttft`` for ``ttft``, ``ttft_p99``, ``ttft_mean``."""
    return name.split("_", 1)[0]


def capacity_figures(
    points: list[PerfPoint],
    slo: dict[str, float],
    search: SloSearchResult | None = None,
    groups: list[list[PerfPoint]] | None = None,
    names: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Throughput against p99 latency, p99 TTFT and p99 TPOT (ms): one marker per sweep point (in
    order of load), labelled with its concurrency (or rate); each SLO on that metric as a vertical
    line. With an SLO search (``search``), markers are green where the point passed and red where it
    failed, and the capacity found is a horizontal line at its measured req/s with its point starred.
    Up and to the left is better; the knee is where the capacity is."""
    groups = groups or [points]
    names = names or [""]
    input_only = input_only_run([p for g in groups for p in g])
    specs = [("latency", 1000.0, "ms", "p99 latency", "e2el", 1.0)]  # ms like TTFT and TPOT (and the SLOs)
    if not input_only:
        specs.append(("ttft", 1000.0, "ms", "p99 TTFT", "ttft", 1.0))
        specs.append(("tpot", 1000.0, "ms", "p99 TPOT", "tpot", 1.0))
    passed = {sp.key: sp.passed for sp in search.points} if search else {}
    cap = search.capacity if search and search.capacity and search.capacity.value is not None else None
    figs = []
    for column, scale, unit, label, slo_key, slo_scale in specs:
        traces = []
        for g, (run_points, run_name) in enumerate(zip(groups, names, strict=True)):
            xs, ys, texts, colors = [], [], [], []
            for p in sorted(run_points, key=lambda p: (p.rate, p.parallel)):
                x = _pct(p, column, "99%")
                if x is None or not p.metrics.succeed_requests:
                    continue
                xs.append(round(x * scale, 6))
                ys.append(p.metrics.request_throughput)
                texts.append(f"{p.rate:g}/s" if p.rate > 0 else f"c={p.parallel}")
                verdict = passed.get(p.key)
                colors.append(
                    PALETTE[g % len(PALETTE)] if verdict is None else PASS_COLOR if verdict else FAIL_COLOR
                )
            if not xs and column == "tpot":
                continue  # nothing generated more than one token: no TPOT to draw
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers+text",
                    "name": run_name
                    or ("points tried (green: pass, red: fail)" if passed else "sweep points"),
                    "x": xs,
                    "y": ys,
                    "text": texts,
                    "textposition": "top left",
                    "textfont": {"size": 11},
                    "line": {"color": PALETTE[g % len(PALETTE)], "dash": "solid" if g == 0 else "dash"},
                    "marker": {"size": 9, "color": colors} if passed else {"size": 9},
                    "hovertemplate": f"%{{text}}<br>{label} %{{x:.4g}} {unit}<br>%{{y:.4g}} req/s<extra></extra>",
                }
            )
        if not traces:
            continue
        shapes, notes = [], []
        for name, threshold in slo.items():
            if slo_metric(name) != slo_key:
                continue
            at = threshold * slo_scale
            shapes.append(_vline(at))
            notes.append(_note(at, 1.0, f"SLO {name} {fmt_num(at)} {unit}", "x", "paper"))
        if cap is not None and cap.throughput_rps is not None:
            shapes.append(_hline(cap.throughput_rps))
            found = f"{_load_text(cap.value, cap.search)}: {fmt_num(cap.throughput_rps)} req/s"
            # at the left edge: the points near the capacity's throughput sit to the right (higher p99)
            notes.append(
                {**_note(0.01, cap.throughput_rps, f"capacity {found}", "paper", "y"), "xanchor": "left"}
            )
            at_point = next((p for p in points if p.key == cap.point), None)
            x = _pct(at_point, column, "99%") if at_point else None
            if x is not None:
                traces.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "name": "capacity",
                        "x": [round(x * scale, 6)],
                        "y": [cap.throughput_rps],
                        "marker": {"symbol": "star", "size": 18, "color": PASS_COLOR, "line": {"width": 1}},
                        "hovertemplate": f"capacity {found}<extra></extra>",
                    }
                )
        figs.append(
            figure(
                traces,
                f"Throughput against {label}",
                xaxis={"title": {"text": f"{label} ({unit})"}, "rangemode": "tozero"},
                yaxis={"title": {"text": "requests/s"}, "rangemode": "tozero"},
                shapes=shapes,
                annotations=notes,
                showlegend=len(groups) > 1,
            )
        )
    return figs


def _load_text(load: float | None, search: str) -> str:
    """``c=8`` for a concurrency, ``12.5/s`` for a rate."""
    if load is None:
        return "none"
    return f"c={load:g}" if search == "concurrency" else f"{load:g}/s"


def _vline(x: float) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": "#b91c1c", "dash": "dot", "width": 2},
    }


def _hline(y: float) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": "#15803d", "dash": "dot", "width": 2},
    }


def _note(x: float, y: float, text: str, xref: str, yref: str) -> dict[str, Any]:
    return {
        "x": x,
        "y": y,
        "xref": xref,
        "yref": yref,
        "text": text,
        "showarrow": False,
        "xanchor": "left" if xref == "x" else "right",
        "yanchor": "top" if yref == "paper" else "bottom",
        "font": {"size": 11, "color": "#374151"},
        "bgcolor": "rgba(255,255,255,.8)",
    }


def _time_bins(t0: float, t1: float) -> np.ndarray:
    """Bin edges over [t0, t1]: whole or round fractions of a second, at most :data:`FLOW_BINS` bins."""
    span = max(t1 - t0, 1e-3)
    width = next(
        (w for w in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60) if span / w <= FLOW_BINS),
        span / FLOW_BINS,
    )
    return t0 + np.arange(0, span + width, width)


def _busy_integral(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """∫ (requests in flight) dt from -∞ to each ``t``: Σ clip(t - start, 0, end - start), in
    O((n + len(t)) log n) with sorted starts and ends."""
    s, e = np.sort(start), np.sort(end)
    cs, ce = np.concatenate([[0.0], np.cumsum(s)]), np.concatenate([[0.0], np.cumsum(e)])
    ns, ne = np.searchsorted(s, t), np.searchsorted(e, t)
    return (ns * t - cs[ns]) - (ne * t - ce[ne])


def flow_figures(points: list[PerfPoint]) -> list[dict[str, Any]]:
    """Requests in flight (time-weighted mean per bin) and throughput over time (requests finishing
    per second, successful only, and output tokens per second), from every request record; every
    sweep point on one time axis (seconds since the run's first send)."""
    with_flow = [(k, p) for k, p in enumerate(points) if p.flow and len(p.flow["start"])]
    if not with_flow:
        return []
    t0 = min(float(p.flow["start"].min()) for _, p in with_flow)
    busy, thr = [], []
    input_only = input_only_run(points)
    for k, p in with_flow:
        start, end, ok, tokens = p.flow["start"], p.flow["end"], p.flow["ok"], p.flow["tokens"]
        edges = _time_bins(float(start.min()), float(end.max()))
        width = np.diff(edges)
        integral = _busy_integral(start, end, edges)
        inflight = np.diff(integral) / width
        mids = ((edges[:-1] + edges[1:]) / 2 - t0).round(4).tolist()
        color = PALETTE[k % len(PALETTE)]
        name = point_label(p)
        busy.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": mids,
                "y": inflight.round(3).tolist(),
                "line": {"color": color, "shape": "hv"},
                "legendgroup": p.key,
                "hovertemplate": "t=%{x:.2f}s<br>%{y:.2f} in flight<extra>" + name + "</extra>",
            }
        )
        done, _ = np.histogram(end[ok], bins=edges)
        thr.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": mids,
                "y": (done / width).round(3).tolist(),
                "line": {"color": color, "shape": "hv"},
                "legendgroup": p.key,
                "hovertemplate": "t=%{x:.2f}s<br>%{y:.3g} req/s<extra>" + name + "</extra>",
            }
        )
        if not input_only and tokens[ok].sum() > 0:
            toks, _ = np.histogram(end[ok], bins=edges, weights=tokens[ok])
            thr.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name + " · tok/s",
                    "x": mids,
                    "y": (toks / width).round(2).tolist(),
                    "yaxis": "y2",
                    "showlegend": False,
                    "legendgroup": p.key,
                    "line": {"color": color, "dash": "dot", "shape": "hv"},
                    "hovertemplate": "t=%{x:.2f}s<br>%{y:.4g} output tok/s<extra>" + name + "</extra>",
                }
            )
    x_title = {"title": {"text": "seconds since the first send"}, "rangemode": "tozero"}
    # the ramp-up's requests are drawn (they loaded the server) in a shaded window: the metrics leave them out
    ramp = ramp_shapes(ramp_windows([p for _, p in with_flow], t0))
    figs = [
        figure(
            busy,
            "Requests in flight over time",
            xaxis=x_title,
            yaxis={"title": {"text": "requests in flight"}, "rangemode": "tozero"},
            **ramp,
        ),
    ]
    extra: dict[str, Any] = dict(ramp)
    if any(t.get("yaxis") == "y2" for t in thr):
        extra["yaxis2"] = {
            "title": {"text": "output tokens/s (dotted)"},
            "overlaying": "y",
            "tickmode": "auto",  # its own round ticks (synced to the left grid they read 408, 816, ...)
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        }
        extra["margin"] = {"l": 60, "r": 70, "t": 48, "b": 50}
    figs.append(
        figure(
            thr,
            "Throughput over time (requests finishing per second)",
            xaxis=x_title,
            yaxis={"title": {"text": "requests/s (solid)"}, "rangemode": "tozero"},
            **extra,
        )
    )
    return figs


def read_scrapes(point_dir: Path) -> list[dict[str, Any]]:
    """The server's scrapes during a point (``server_metrics.jsonl``: one JSON object a line); a
    torn or foreign line is skipped, a missing file gives none."""
    path = point_dir / SCRAPES_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("time"), int | float):
            out.append(row)
    return out


def server_figure(points: list[PerfPoint]) -> dict[str, Any] | None:
    """The server's own gauges over time (running and waiting requests; KV-cache use in % on the
    right axis), from its scrapes; every point on one wall-clock axis."""
    scraped = [(k, p) for k, p in enumerate(points) if p.scrapes]
    if not scraped:
        return None
    t0 = min(float(p.scrapes[0]["time"]) for _, p in scraped)
    traces = []
    for k, p in scraped:
        xs = [round(float(r["time"]) - t0, 3) for r in p.scrapes]
        for key, label, dash, axis, scale in SERVER_GAUGES:
            ys = [(r[key] * scale if isinstance(r.get(key), int | float) else None) for r in p.scrapes]
            if all(y is None for y in ys):
                continue
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{label} · {point_label(p)}",
                    "x": xs,
                    "y": ys,
                    "yaxis": axis,
                    "marker": {"size": 4},
                    "line": {"color": PALETTE[k % len(PALETTE)], "dash": dash},
                }
            )
    if not traces:
        return None
    extra: dict[str, Any] = {}
    if any(t["yaxis"] == "y2" for t in traces):
        extra["yaxis2"] = {
            "title": {"text": "KV-cache use (%)"},
            "overlaying": "y",
            "tickmode": "auto",  # its own round ticks (synced to the left grid they read 408, 816, ...)
            "side": "right",
            "range": [0, 100],
            "showgrid": False,
        }
        extra["margin"] = {"l": 60, "r": 70, "t": 48, "b": 50}
    return figure(
        traces,
        "Server metrics over time (scraped from its /metrics)",
        xaxis={"title": {"text": "seconds since the first scrape"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "requests"}, "rangemode": "tozero"},
        height=380,
        **extra,
    )


def server_rows(points: list[PerfPoint]) -> tuple[list[str], list[dict[str, Any]]]:
    """The ``Server metrics`` summary of each point as written (keys, rows); empty when none has it."""
    rows, keys = [], []
    for p in points:
        data = p.summary.get("Server metrics")
        if isinstance(data, dict) and data:
            rows.append({"key": p.key, **data})
            keys += [k for k, v in data.items() if k not in keys and not isinstance(v, dict | list)]
    return keys, rows


def read_search(folder: Path) -> SloSearchResult | None:
    """``slo_search.json`` (an SLO search: its answer, points and why it stopped) when the run has one;
    a file that does not parse as one raises :class:`ReportError` naming it."""
    path = folder / SLO_SEARCH_FILE
    if not path.is_file():
        return None
    try:
        return SloSearchResult.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise ReportError(f"{path}: not an SLO search result ({str(exc).splitlines()[0]})") from None


def search_rows(search: SloSearchResult, points: list[PerfPoint]) -> list[dict[str, Any]]:
    """Every point the search tried, in the order tried: its load, rounds, requests, req/s, each SLO's
    estimate with its interval and verdict, pass/fail, and its p99 TTFT/TPOT/latency (ms) from the
    point's own percentile table."""
    by_key = {p.key: p for p in points}
    rows = []
    for sp in search.points:
        p = by_key.get(sp.key)
        p99 = {c: (_pct(p, c, "99%") if p else None) for c in ("ttft", "tpot", "latency")}
        rows.append(
            {
                "point": sp,
                "load": _load_text(sp.load, search.search),
                "p99_ms": {c: None if v is None else round(v * 1000, 3) for c, v in p99.items()},
            }
        )
    return rows


STOP_REASONS = {
    "running": "still running",
    "converged": "converged: the largest passing and the smallest failing load are one step apart",
    "max_load": "the largest load allowed (search_max) still meets every SLO",
    "min_load_fails": "the smallest load (search_min) already misses an SLO",
    "request_budget": "the request budget (search_max_requests) is spent",
    "time_budget": "the time budget (search_max_time) is spent",
    "error": "a point failed",
}


def percentile_side_by_side(points: list[PerfPoint]) -> list[dict[str, Any]]:
    """For each key metric, a table with a row per percentile and a column per sweep point (the
    engine's numbers; TTFT, TPOT and ITL in ms)."""
    input_only = input_only_run(points)
    tables = []
    for column, title, scale in SIDE_BY_SIDE:
        if input_only and column in ("ttft", "tpot", "itl"):
            continue
        labels = points[0].result.percentiles.labels
        rows = []
        for q in labels:
            vals = [_pct(p, column, q) for p in points]
            rows.append({"q": q, "values": [None if v is None else round(v * scale, 4) for v in vals]})
        if any(v is not None for r in rows for v in r["values"]):
            tables.append({"column": column, "title": title, "rows": rows})
    return tables


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
    thr: list[dict[str, Any]] = []
    lat: list[dict[str, Any]] = []
    ttft: list[dict[str, Any]] = []
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
        # TTFT in ms on a chart of its own: on the latency chart's seconds it is a flat line at 0
        charts = [(lat, "latency", 1.0)] + ([] if input_only else [(ttft, "ttft", 1000.0)])
        for target, column, scale in charts:
            for k, q in enumerate(("50%", "99%")):
                values = [_pct(p, column, q) for p in run_points]
                target.append(
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": f"p{q[:-1]}{suffix}",
                        "x": xs,
                        "y": [None if v is None else round(v * scale, 6) for v in values],
                        "line": {"color": PALETTE[(k + 2) % len(PALETTE)], "dash": dash},
                    }
                )
    ttft_fig = figure(
        ttft,
        f"TTFT against {x_title.lower()}",
        xaxis={"title": {"text": x_title}, "type": "category"},
        yaxis={"title": {"text": "TTFT (ms)"}, "rangemode": "tozero", "type": "linear"},
        updatemenus=[log_toggle("yaxis")],
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
                "tickmode": "auto",  # its own round ticks (synced to the left grid they read 408, 816, ...)
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
            yaxis={"title": {"text": "latency (s)"}, "rangemode": "tozero"},
        ),
    ] + ([] if input_only else [ttft_fig])


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
        **ramp_shapes(ramp_windows(points, t0)),
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


def turn_tables(points: list[PerfPoint]) -> list[dict[str, Any]]:
    """Each multi-turn point's per-turn rows as the engine wrote them (``benchmark_multi_turn.json``'s
    ``turns``, keyed by its JSON keys); none for a one-turn run."""
    return [
        {"key": p.key, "label": point_label(p), "rows": [t.model_dump(mode="json") for t in p.result.turns]}
        for p in points
        if p.result.turns
    ]


#: (row key, title) of the per-turn tables (the JSON keys of :class:`TurnMetrics`)
TURN_COLUMNS = [(TurnMetrics.key(f), t) for f, t in TURN_FIELDS]


def session_rows(points: list[PerfPoint]) -> tuple[list[str], list[dict[str, Any]]]:
    """(keys, rows): each multi-turn point's ``sessions`` block as written (a row per point)."""
    rows = [{"key": p.key, **p.result.sessions.model_dump(mode="json")} for p in points if p.result.sessions]
    keys = [SessionMetrics.key(f) for f in SessionMetrics.model_fields]
    return [k for k in keys if any(k in r for r in rows)], rows


def turns_figure(points: list[PerfPoint]) -> dict[str, Any] | None:
    """TTFT p50 (solid) and p99 (dashed) in ms against the turn's index, a colour per sweep point:
    turn 1 pays the whole prefill, later turns show what the server's prefix cache saves."""
    traces = []
    for k, p in enumerate(points):
        if not p.result.turns:
            continue
        turns = [t for t in p.result.turns if t.succeed_requests]
        for q, dash in (("p50", "solid"), ("p99", "dash")):
            ys = [getattr(t, f"{q}_ttft") for t in turns]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{q} · {point_label(p)}",
                    "x": [t.turn for t in turns],
                    "y": [None if y is None else round(y * 1000, 4) for y in ys],
                    "customdata": [t.succeed_requests for t in turns],
                    "line": {"color": PALETTE[k % len(PALETTE)], "dash": dash},
                    "hovertemplate": "turn %{x}: %{y:.4g} ms (%{customdata} requests)<extra>"
                    + f"{q} · {point_label(p)}</extra>",
                }
            )
    if not traces:
        return None
    return figure(
        traces,
        "TTFT by turn (p50 solid, p99 dashed)",
        xaxis={"title": {"text": "turn in the session"}, "dtick": 1},
        yaxis={"title": {"text": "TTFT (ms)"}, "rangemode": "tozero", "type": "linear"},
        updatemenus=[log_toggle("yaxis")],
    )


def trace_points(points: list[PerfPoint]) -> list[PerfPoint]:
    """The points that replayed a trace (their summary has the speed-up and the send-time error)."""
    return [p for p in points if p.metrics.trace_speedup is not None]


def send_error_figure(points: list[PerfPoint]) -> dict[str, Any] | None:
    """A trace replay's schedule accuracy over the run: each request's send time minus its time in the
    trace (after the speed-up), in ms, against its trace time; the p99 the summary gives as a line."""
    replayed = [(k, p) for k, p in enumerate(points) if p in trace_points(points) and p.flow]
    if not replayed:
        return None
    t0 = min(float(p.flow["intended"].min()) for _, p in replayed)
    traces = []
    many = sum(len(p.flow["intended"]) for _, p in replayed) > 1500
    for k, p in replayed:
        step = max(1, -(-len(p.flow["intended"]) // TIMELINE_MAX))
        intended, start = p.flow["intended"][::step], p.flow["start"][::step]
        xs = (intended - t0).round(6)
        color = PALETTE[k % len(PALETTE)]
        name = f"trace ×{p.metrics.trace_speedup:g}" + (f" · {p.key}" if len(replayed) > 1 else "")
        traces.append(
            {
                "type": "scattergl" if many else "scatter",
                "mode": "markers",
                "name": f"send-time error · {name}",
                "x": xs.tolist(),
                "y": ((start - intended) * 1000).round(4).tolist(),
                "marker": {"color": color, "size": 4},
                "hovertemplate": "trace t=%{x:.3f}s<br>sent %{y:.3f} ms late<extra>" + name + "</extra>",
            }
        )
        p99 = p.metrics.send_error_p99_ms
        if p99 is not None and len(xs):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"p99 {fmt_num(p99)} ms · {name}",
                    "x": [float(xs.min()), float(xs.max())],
                    "y": [p99, p99],
                    "line": {"color": color, "dash": "dash", "width": 1},
                    "hoverinfo": "skip",
                }
            )
    return figure(
        traces,
        "Send-time error over the replay",
        xaxis={"title": {"text": "seconds into the trace (after the speed-up)"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "send time minus trace time (ms)"}},
        updatemenus=[log_toggle("yaxis")],
    )


def ramp_windows(points: list[PerfPoint], t0: float) -> list[tuple[float, float]]:
    """(from, to) in seconds since ``t0`` of each point's ``--ramp-up``: from its first intended send
    for the ramp's length (the summary's ``Ramp-up (s)``)."""
    out = []
    for p in points:
        if p.metrics.ramp_up and p.flow and len(p.flow["intended"]):
            begin = float(p.flow["intended"].min()) - t0
            out.append((round(begin, 6), round(begin + p.metrics.ramp_up, 6)))
    return out


def ramp_shapes(windows: list[tuple[float, float]]) -> dict[str, Any]:
    """Layout entries shading each ramp-up window and naming it (nothing without a ramp)."""
    if not windows:
        return {}
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": a,
            "x1": b,
            "y0": 0,
            "y1": 1,
            "fillcolor": RAMP_FILL,
            "line": {"width": 0},
            "layer": "below",
            "name": "ramp-up",
        }
        for a, b in windows
    ]
    notes = [
        {
            "x": a,
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "text": "ramp-up (not measured)",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "top",
            "font": {"size": 10, "color": "#92400e"},
        }
        for a, _ in windows
    ]
    return {"shapes": shapes, "annotations": notes}


def run_title(folder: Path) -> str:
    """``<name> (<timestamp>)`` for an engine run folder ``<outputs>/<timestamp>/<name>``."""
    return f"{folder.name} ({folder.parent.name})"


#: the summary columns every reader looks for first, left of the rest (visible at 1000 px)
KEY_COLUMNS = ["request_throughput", "output_throughput", "inputs_throughput"]


def table_columns(points: list[PerfPoint]) -> list[tuple[str, str]]:
    """(row key, title) of the summary table: throughput, p50/p99 latency, p99 TTFT and failures
    first (they fit a 1000 px window), then every other column of :func:`summary_fields`."""
    fields = summary_fields(points)
    key = [(PointMetrics.key(f), t) for f, t in fields if f in KEY_COLUMNS]
    key += [("P50 latency (s)", "P50 latency (s)"), ("P99 latency (s)", "P99 latency (s)")]
    if not input_only_run(points):
        key.append(("P99 TTFT (s)", "P99 TTFT (s)"))
    key.append((PointMetrics.key("failed_requests"), "Failed"))
    # the load shape's own columns next: they say what the numbers measured (a ramp left out, ...)
    key += [(PointMetrics.key(f), t) for f, t in shape_fields(points)]
    rest = [(PointMetrics.key(f), t) for f, t in fields if f not in KEY_COLUMNS and f != "failed_requests"]
    return key + rest


#: (perf argument, label, shown when) of the run box's load-shape settings
SHAPE_SETTINGS: list[tuple[str, str, Any]] = [
    ("dataset_path", "dataset path", bool),
    ("multi_turn", "multi-turn", bool),
    ("min_turns", "min turns", lambda v, a: a.get("multi_turn") and v and v > 1),
    ("max_turns", "max turns", lambda v, a: a.get("multi_turn") and v),
    ("think_time", "think time (s)", lambda v, a: a.get("multi_turn") and v),
    ("trace_speedup", "trace speed-up", lambda v, a: a.get("dataset") == "workload_trace" or v != 1),
    ("prefix_length", "prefix length (tokens)", bool),
    ("prefix_count", "prefix groups", lambda v, a: a.get("prefix_length") or (v or 1) > 1),
    ("cache_bust", "cache busting (every prompt unique)", bool),
    ("ramp_up", "ramp-up (s)", bool),
]


def shape_settings(args: dict[str, Any]) -> dict[str, Any]:
    """The load-shape settings a run used (multi-turn, trace replay, prefix groups, cache busting,
    ramp-up), labelled for the run box; defaults are left out."""
    out: dict[str, Any] = {}
    for name, label, shown in SHAPE_SETTINGS:
        value = args.get(name)
        if value is None:
            continue
        keep = shown(value) if shown is bool else shown(value, args)
        if keep:
            if isinstance(value, list):
                value = " – ".join(f"{v:g}" for v in value)
            out[label] = "yes" if value is True else value
    return out


def perf_context(folder: Path) -> dict[str, Any]:
    """Everything the perf template shows, plus the ``report_data`` JSON island for scripts."""
    points = load_perf_run(folder)
    slo = slo_of(points)
    search = read_search(folder)
    if search is not None and search.slo:
        slo = dict(search.slo)  # the bounds the search decided by
    dist_figs = [
        f
        for metric, unit, title, scale in DIST_METRICS
        if (f := ecdf_figure(points, metric, unit, title, scale=scale)) is not None
    ]
    first = redact_config(points[0].args)  # a folder written by another tool may hold a key in clear
    config: dict[str, Any] = {
        k: first.get(k)
        for k in ("model", "url", "api", "dataset", "max_tokens", "stream", "rate")
        if k in first
    }
    if "rate" in config and (config["rate"] is None or config["rate"] <= 0):
        config["rate"] = "no limit (fixed concurrency)"
    config.update(shape_settings(first))
    if slo:
        config["slo (ms)"] = ", ".join(f"{k} {fmt_num(v)}" for k, v in slo.items())
    server_keys, server_table = server_rows(points)
    session_keys, session_table = session_rows(points)
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
                # a multi-turn point's per-turn rows and sessions block, as benchmark_multi_turn.json
                **{k: v for k, v in p.result.model_dump(mode="json").items() if k in ("turns", "sessions")},
            }
            for p in points
        ],
        "slo": slo,
        "capacity": search.model_dump(mode="json") if search else None,
    }
    return {
        "title": f"Perf report · {run_title(folder)}",
        "run_title": run_title(folder),
        "folder": str(folder),
        "config": config,
        "columns": table_columns(points),
        "rows": summary_rows(points),
        "points": points,
        "search": search,
        "search_rows": search_rows(search, points) if search else [],
        "stop_reason": STOP_REASONS.get(search.stop_reason, search.stop_reason) if search else None,
        "capacity_figs": capacity_figures(points, slo, search),
        "side_by_side": percentile_side_by_side(points),
        "sweep_figs": sweep_figures(points),
        "dist_figs": dist_figs,
        "flow_figs": flow_figures(points),
        "server_fig": server_figure(points),
        "server_keys": server_keys,
        "server_rows": server_table,
        "timeline_fig": timeline_figure(points),
        "errors_fig": errors_figure(points),
        "error_rows": error_rows(points),
        "warnings": [(p.key, w) for p in points for w in p.metrics.warnings],
        "turn_columns": TURN_COLUMNS,
        "turn_tables": turn_tables(points),
        "session_keys": session_keys,
        "session_rows": session_table,
        "turns_fig": turns_figure(points),
        "trace_points": trace_points(points),
        "send_error_fig": send_error_figure(points),
        "ramp": any(p.metrics.ramp_up for p in points),
        "report_data": report_data,
    }
