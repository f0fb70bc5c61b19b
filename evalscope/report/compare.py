"""Two runs of the same kind side by side: ``evalscope report A B``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from evalscope.perf.results import PointMetrics, PointPercentiles, PointResult
from evalscope.report.evaluation import load_eval_run, sample_rows, score_rows, scores_figure, states_figure
from evalscope.report.perf import (
    DIST_METRICS,
    PerfPoint,
    histogram_figure,
    load_perf_run,
    point_label,
    run_title,
    summary_rows,
    sweep_figures,
)

_key = PointMetrics.key
#: (row key of summary_rows: a summary JSON key or a percentile column, title, True when higher is better)
PERF_COMPARE = [
    (_key("request_throughput"), "Req/s", True),
    (_key("output_throughput"), "Output tok/s", True),
    (_key("avg_latency"), "Avg latency (s)", False),
    ("P99 latency (s)", "P99 latency (s)", False),
    (_key("avg_ttft"), "Avg TTFT (s)", False),
    ("P99 TTFT (s)", "P99 TTFT (s)", False),
    (_key("avg_tpot"), "Avg TPOT (s)", False),
    (_key("failed_requests"), "Failed", False),
]
CHANGED_LIMIT = 500


def labels(a: Path, b: Path, title_a: str, title_b: str) -> tuple[str, str]:
    """Distinct display names for the two runs."""
    if title_a == title_b:
        return f"A: {title_a}", f"B: {title_b}"
    return title_a, title_b


def default_output(a: Path, b: Path) -> Path:
    """``./comparison_<A>_vs_<B>.html`` in the current folder (names made file-safe)."""

    def safe(p: Path) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{p.parent.name}_{p.name}").strip("._")[:80] or "run"

    return Path.cwd() / f"comparison_{safe(a)}_vs_{safe(b)}.html"


def _delta(a: Any, b: Any) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or a == 0:
        return None
    return round(100.0 * (b - a) / abs(a), 2)


def _merged(points: list[PerfPoint], name: str) -> PerfPoint:
    merged = PerfPoint(
        key=name,
        parallel=0,
        number=0,
        result=PointResult(metrics=PointMetrics(), percentiles=PointPercentiles()),
        args={},
    )
    for metric, _, _ in DIST_METRICS:
        arrays = [p.values[metric] for p in points if metric in p.values and len(p.values[metric])]
        merged.values[metric] = np.concatenate(arrays) if arrays else np.asarray([])
    return merged


def perf_compare_context(a: Path, b: Path) -> dict[str, Any]:
    """Sweep points of both runs matched by their folder name, with B's change relative to A."""
    pa, pb = load_perf_run(a), load_perf_run(b)
    name_a, name_b = labels(a, b, run_title(a), run_title(b))
    ra = {r["key"]: r for r in summary_rows(pa)}
    rb = {r["key"]: r for r in summary_rows(pb)}
    keys = list(ra) + [k for k in rb if k not in ra]
    rows = []
    for key in keys:
        row = {"key": key, "label": (ra.get(key) or rb[key])["label"], "cells": []}
        for metric, _, higher_better in PERF_COMPARE:
            va = (ra.get(key) or {}).get(metric)
            vb = (rb.get(key) or {}).get(metric)
            d = _delta(va, vb)
            better = None if d is None or d == 0 else (d > 0) == higher_better
            row["cells"].append({"a": va, "b": vb, "delta": d, "better": better})
        rows.append(row)
    dists = []
    for metric, unit, title in DIST_METRICS:
        fig = histogram_figure(
            [_merged(pa, name_a), _merged(pb, name_b)],
            metric,
            unit,
            f"{title} (all sweep points)",
            names=[name_a, name_b],
        )
        if fig is not None:
            dists.append(fig)
    return {
        "title": f"Perf comparison · {name_a} vs {name_b}",
        "kind": "perf",
        "name_a": name_a,
        "name_b": name_b,
        "folder_a": str(a),
        "folder_b": str(b),
        "columns": [(title, higher) for _, title, higher in PERF_COMPARE],
        "rows": rows,
        "sweep_figs": sweep_figures(pa + pb, names=[name_a, name_b], groups=[pa, pb]),
        "dist_figs": dists,
        "report_data": {
            "kind": "perf-compare",
            "a": str(a),
            "b": str(b),
            "rows": [
                {
                    "key": r["key"],
                    **{
                        m: {"a": c["a"], "b": c["b"], "delta_pct": c["delta"]}
                        for (m, _, _), c in zip(PERF_COMPARE, r["cells"], strict=True)
                    },
                }
                for r in rows
            ],
        },
        "point_label": point_label,
    }


def eval_compare_context(a: Path, b: Path) -> dict[str, Any]:
    """Scores of both runs per (model, benchmark, subset), and the samples whose state changed."""
    ea, eb = load_eval_run(a), load_eval_run(b)
    name_a, name_b = labels(a, b, f"{', '.join(ea.models)} · {a.name}", f"{', '.join(eb.models)} · {b.name}")
    rows_a, rows_b = score_rows(ea), score_rows(eb)

    def key(r: dict[str, Any]) -> tuple:
        return (r["benchmark"], r["subset"])

    ia = {key(r): r for r in rows_a}
    ib = {key(r): r for r in rows_b}
    keys = list(ia) + [k for k in ib if k not in ia]
    rows = []
    for k in keys:
        ra, rb = ia.get(k), ib.get(k)
        sa = ra["score"] if ra else None
        sb = rb["score"] if rb else None
        diff = round(sb - sa, 4) if sa is not None and sb is not None else None
        # a difference beyond two combined standard errors is unlikely to be noise
        se = ((ra or {}).get("stderr") or 0) ** 2 + ((rb or {}).get("stderr") or 0) ** 2
        rows.append(
            {
                "benchmark": k[0],
                "subset": k[1],
                "overall": k[1] == "OVERALL",
                "a": ra,
                "b": rb,
                "diff": diff,
                "significant": diff is not None and se > 0 and abs(diff) > 2 * se**0.5,
            }
        )
    by_a = {(s["benchmark"], s["id"]): s for s in sample_rows(ea)}
    changed = []
    for s in sample_rows(eb):
        old = by_a.get((s["benchmark"], s["id"]))
        if old is not None and old["state"] != s["state"]:
            changed.append(
                {
                    "benchmark": s["benchmark"],
                    "subset": s["subset"],
                    "id": s["id"],
                    "gold": s["gold"],
                    "state_a": old["state"],
                    "state_b": s["state"],
                    "extracted_a": old["extracted"],
                    "extracted_b": s["extracted"],
                }
            )
    return {
        "title": f"Eval comparison · {name_a} vs {name_b}",
        "kind": "eval",
        "name_a": name_a,
        "name_b": name_b,
        "folder_a": str(a),
        "folder_b": str(b),
        "rows": rows,
        "scores_fig": scores_figure([(name_a, rows_a), (name_b, rows_b)]),
        "states_fig": states_figure([(name_a, rows_a), (name_b, rows_b)]),
        "changed": changed[:CHANGED_LIMIT],
        "changed_total": len(changed),
        "report_data": {
            "kind": "eval-compare",
            "a": str(a),
            "b": str(b),
            "rows": [
                {
                    "benchmark": r["benchmark"],
                    "subset": r["subset"],
                    "score_a": (r["a"] or {}).get("score"),
                    "score_b": (r["b"] or {}).get("score"),
                    "diff": r["diff"],
                }
                for r in rows
            ],
            "changed_total": len(changed),
        },
    }
