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
    capacity_figures,
    ecdf_figure,
    load_perf_run,
    point_label,
    run_title,
    slo_of,
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
#: a change smaller than this (in %) is noise, neither a regression nor an improvement
NOISE_PCT = 5.0
#: (row key, short name) of the perf verdict line, in its order
VERDICT_METRICS = [
    (_key("request_throughput"), "req/s"),
    ("P99 latency (s)", "p99 latency"),
    ("P99 TTFT (s)", "p99 TTFT"),
]


def labels(
    a: Path, b: Path, title_a: str, title_b: str, label_a: str | None = None, label_b: str | None = None
) -> tuple[str, str]:
    """Display names for the two runs: the user's labels when given, else the runs' titles (made
    distinct with an A:/B: prefix when they are equal)."""
    title_a, title_b = (label_a or "").strip() or title_a, (label_b or "").strip() or title_b
    if title_a == title_b:
        return f"A: {title_a}", f"B: {title_b}"
    return title_a, title_b


def _signed(value: float, unit: str = " %") -> str:
    return f"{value:+.1f}{unit}"


def perf_verdict(rows: list[dict[str, Any]], name_b: str) -> dict[str, Any]:
    """The one-line answer and the regressions of a perf comparison.

    Over the sweep points both runs have: each metric's %-change is the mean of its per-point changes,
    failures the difference of the totals. A regression is a point and metric where B is worse by
    more than :data:`NOISE_PCT` %, or any point where B failed more; they are listed most severe
    first (failures, then the largest change)."""
    both = [r for r in rows if r["both"]]
    parts: list[str] = []
    regressions: list[dict[str, Any]] = []
    improvements: list[dict[str, Any]] = []
    titles = {m: t for m, t, _ in PERF_COMPARE}
    for metric, short in VERDICT_METRICS:
        idx = next(i for i, (m, _, _) in enumerate(PERF_COMPARE) if m == metric)
        deltas = [r["cells"][idx]["delta"] for r in both if r["cells"][idx]["delta"] is not None]
        if deltas:
            parts.append(f"{_signed(sum(deltas) / len(deltas))} {short}")
    fail_idx = next(i for i, (m, _, _) in enumerate(PERF_COMPARE) if m == _key("failed_requests"))
    fa = sum(r["cells"][fail_idx]["a"] or 0 for r in both)
    fb = sum(r["cells"][fail_idx]["b"] or 0 for r in both)
    parts.append(f"{fb - fa:+d} failures")
    for r in both:
        for (metric, _, higher), c in zip(PERF_COMPARE, r["cells"], strict=True):
            if metric == _key("failed_requests"):
                diff = (c["b"] or 0) - (c["a"] or 0)
                if diff:
                    item = {
                        "point": r["key"],
                        "metric": "Failed",
                        "a": c["a"],
                        "b": c["b"],
                        "change": f"{diff:+d} failures",
                        "severity": 1e9 + abs(diff),
                    }
                    (regressions if diff > 0 else improvements).append(item)
                continue
            d = c["delta"]
            if d is None or abs(d) < NOISE_PCT:
                continue
            item = {
                "point": r["key"],
                "metric": titles[metric],
                "a": c["a"],
                "b": c["b"],
                "change": _signed(d),
                "severity": abs(d),
            }
            (improvements if (d > 0) == higher else regressions).append(item)
    regressions.sort(key=lambda i: -i["severity"])
    improvements.sort(key=lambda i: -i["severity"])
    verdict = "regression" if regressions else ("improvement" if improvements else "no change")
    return {
        "verdict": verdict,
        "line": f"{name_b}: " + ", ".join(parts) if parts else f"{name_b}: no sweep point in common",
        "points": len(both),
        "regressions": regressions,
        "improvements": improvements,
    }


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
    for metric, _, _, _ in DIST_METRICS:
        arrays = [p.values[metric] for p in points if metric in p.values and len(p.values[metric])]
        merged.values[metric] = np.concatenate(arrays) if arrays else np.asarray([])
    return merged


def perf_compare_context(
    a: Path, b: Path, label_a: str | None = None, label_b: str | None = None
) -> dict[str, Any]:
    """Sweep points of both runs matched by their folder name, with B's change relative to A, and
    the verdict (:func:`perf_verdict`)."""
    pa, pb = load_perf_run(a), load_perf_run(b)
    name_a, name_b = labels(a, b, run_title(a), run_title(b), label_a, label_b)
    ra = {r["key"]: r for r in summary_rows(pa)}
    rb = {r["key"]: r for r in summary_rows(pb)}
    keys = list(ra) + [k for k in rb if k not in ra]
    rows = []
    for key in keys:
        row = {
            "key": key,
            "label": (ra.get(key) or rb[key])["label"],
            "cells": [],
            "both": key in ra and key in rb,
        }
        for metric, _, higher_better in PERF_COMPARE:
            va = (ra.get(key) or {}).get(metric)
            vb = (rb.get(key) or {}).get(metric)
            d = _delta(va, vb)
            better = None if d is None or d == 0 else (d > 0) == higher_better
            row["cells"].append({"a": va, "b": vb, "delta": d, "better": better})
        rows.append(row)
    dists = []
    merged = [_merged(pa, name_a), _merged(pb, name_b)]
    for metric, unit, title, scale in DIST_METRICS:
        fig = ecdf_figure(
            merged,
            metric,
            unit,
            f"{title}, all sweep points",
            scale=scale,
            names=[name_a, name_b],
            dashes=["solid", "dash"],
        )
        if fig is not None:
            dists.append(fig)
    verdict = perf_verdict(rows, name_b)
    return {
        "title": f"Perf comparison · {name_a} vs {name_b}",
        "kind": "perf",
        "name_a": name_a,
        "name_b": name_b,
        "folder_a": str(a),
        "folder_b": str(b),
        "columns": [(title, higher) for _, title, higher in PERF_COMPARE],
        "rows": rows,
        "verdict": verdict,
        "capacity_figs": capacity_figures(pa + pb, slo_of(pa + pb), groups=[pa, pb], names=[name_a, name_b]),
        "sweep_figs": sweep_figures(pa + pb, names=[name_a, name_b], groups=[pa, pb]),
        "dist_figs": dists,
        "report_data": {
            "kind": "perf-compare",
            "a": str(a),
            "b": str(b),
            "label_a": name_a,
            "label_b": name_b,
            "verdict": {k: v for k, v in verdict.items()},
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


def eval_verdict(rows: list[dict[str, Any]], changed: list[dict[str, Any]], name_b: str) -> dict[str, Any]:
    """The one-line answer of an eval comparison: each benchmark's change of score in points
    (``*``: beyond two combined standard errors), B's extra failed samples (state ``error``) and the
    samples that got worse or better; regressions (lower scores, more errors) first, worst first."""
    parts: list[str] = []
    regressions: list[dict[str, Any]] = []
    improvements: list[dict[str, Any]] = []
    for r in rows:
        if r["diff"] is None:
            continue
        pts = 100 * r["diff"]
        if r["overall"]:
            parts.append(f"{r['benchmark']} {pts:+.1f} pts{'*' if r['significant'] else ''}")
        if r["diff"] == 0:
            continue
        item = {
            "benchmark": r["benchmark"],
            "subset": r["subset"],
            "a": (r["a"] or {}).get("score"),
            "b": (r["b"] or {}).get("score"),
            "change": f"{pts:+.1f} pts",
            "significant": r["significant"],
            "severity": (1 if r["significant"] else 0, abs(pts)),
        }
        (regressions if r["diff"] < 0 else improvements).append(item)
    err_a = sum(((r["a"] or {}).get("counts") or {}).get("error", 0) for r in rows if r["overall"])
    err_b = sum(((r["b"] or {}).get("counts") or {}).get("error", 0) for r in rows if r["overall"])
    if err_b != err_a:
        item = {
            "benchmark": "all",
            "subset": "OVERALL",
            "a": err_a,
            "b": err_b,
            "change": f"{err_b - err_a:+d} failed samples",
            "significant": True,
            "severity": (2, 0.0),
        }
        (regressions if err_b > err_a else improvements).append(item)
    parts.append(f"{err_b - err_a:+d} failed samples")
    worse = sum(1 for c in changed if c["state_a"] == "correct")
    better = sum(1 for c in changed if c["state_b"] == "correct")
    if changed:
        parts.append(f"{worse} samples worse, {better} better")
    regressions.sort(key=lambda i: i["severity"], reverse=True)
    improvements.sort(key=lambda i: i["severity"], reverse=True)
    for item in regressions + improvements:
        item["severity"] = list(item["severity"])
    verdict = "regression" if regressions else ("improvement" if improvements else "no change")
    return {
        "verdict": verdict,
        "line": f"{name_b}: " + ", ".join(parts),
        "regressions": regressions,
        "improvements": improvements,
    }


def eval_compare_context(
    a: Path, b: Path, label_a: str | None = None, label_b: str | None = None
) -> dict[str, Any]:
    """Scores of both runs per (model, benchmark, subset), the samples whose state changed, and the
    verdict (:func:`eval_verdict`)."""
    ea, eb = load_eval_run(a), load_eval_run(b)
    name_a, name_b = labels(
        a, b, f"{', '.join(ea.models)} · {a.name}", f"{', '.join(eb.models)} · {b.name}", label_a, label_b
    )
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
    # regressions first: a worse state in B (correct in A) at the top of the list
    changed.sort(key=lambda c: (c["state_a"] != "correct", c["state_b"] == "correct"))
    verdict = eval_verdict(rows, changed, name_b)
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
        "verdict": verdict,
        "report_data": {
            "kind": "eval-compare",
            "a": str(a),
            "b": str(b),
            "label_a": name_a,
            "label_b": name_b,
            "verdict": verdict,
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
