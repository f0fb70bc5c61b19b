"""The eval report: one run folder (``reports/<model>/<benchmark>.json`` and
``predictions/<model>/<benchmark>.jsonl``) -> ``report.html``.

Scores, standard errors and state counts are the engine's report numbers, shown as written; the
sample browser lists the first :data:`SAMPLE_CAP` prediction lines of each benchmark (the page says
so where a benchmark has more; the predictions file has them all), so the page's size and the memory
to render it stay bounded whatever the run's size. Model output is untrusted: it travels only inside a
JSON island (``<`` ``>`` ``&`` escaped) and the page's script puts it in the DOM as text, never HTML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalscope.eval.results import BenchmarkReport, EvalRun, RunReadError, SampleResult, read_run
from evalscope.eval.scoring import STATES
from evalscope.report.page import PALETTE, STATE_COLORS, ReportError, figure
from evalscope.secrets import redact_config

#: longest text kept per field of a sample in the page (the predictions file keeps it whole)
TEXT_LIMIT = 12000
#: most samples per benchmark embedded in the sample browser (the first ones in the predictions file)
SAMPLE_CAP = 500


def is_eval_run(folder: Path) -> bool:
    """An eval run folder holds ``reports/<model>/<benchmark>.json``."""
    return any((folder / "reports").glob("*/*.json"))


def _clip(text: Any) -> Any:
    if not isinstance(text, str) or len(text) <= TEXT_LIMIT:
        return text
    # the end of a prompt holds the question (few-shot examples come first), so keep the end
    return (
        f"[… {len(text) - TEXT_LIMIT} characters left out; the predictions file has the full text]\n"
        + text[-TEXT_LIMIT:]
    )


def _prompt_text(rec: SampleResult) -> str:
    if isinstance(rec.messages, list):
        parts = []
        for m in rec.messages:
            if isinstance(m, dict):
                content = m.get("content")
                if not isinstance(content, str):
                    content = json.dumps(content, ensure_ascii=False)
                parts.append(f"[{m.get('role', '?')}]\n{content}")
        return "\n\n".join(parts)
    return str((rec.model_extra or {}).get("prompt") or "")  # a line written by another tool


def _tokens(usage: dict[str, Any]) -> int | None:
    """The sample's total tokens (prompt + completion) from its usage, None when unknown."""
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    parts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens")]
    return sum(p for p in parts if isinstance(p, int)) if any(isinstance(p, int) for p in parts) else None


def _sample(model: str, benchmark: str, rec: SampleResult) -> dict[str, Any]:
    return {
        "model": model,
        "benchmark": benchmark,
        # a repeats run: one line per (question, repeat); the browser's id names the repeat
        "id": str(rec.id) if rec.repeat is None else f"{rec.id} #{rec.repeat}",
        "subset": rec.subset,
        "state": rec.state,
        # a failed request (state error) was never scored: the page says n/a, not 0
        "score": None if rec.state == "error" else rec.score,
        "extracted": rec.extracted,
        "gold": rec.target,
        "prompt": _clip(_prompt_text(rec)),
        "output": _clip(rec.output),
        "reasoning": _clip(rec.reasoning or None),
        "error": _clip(rec.error),
        "finish_reason": rec.finish_reason,
        "latency": rec.latency,
        "tokens": _tokens(rec.usage),
        # what an async scorer saw (a judge's verdict and reasoning, a code run's output and exit):
        # the browser shows known keys in their own blocks and any other as key / value
        "details": {k: _clip(v) for k, v in rec.details.items()},
    }


def load_eval_run(folder: Path, sample_limit: int | None = None) -> EvalRun:
    """The run (``evalscope.eval.read_run``): reports sorted by model and benchmark, with their samples
    (the first ``sample_limit`` of each benchmark when given)."""
    try:
        return read_run(folder, sample_limit=sample_limit)
    except RunReadError as exc:
        raise ReportError(str(exc)) from None


def sample_rows(run: EvalRun) -> list[dict[str, Any]]:
    """Every sample the run holds as the page's sample browser shows it (long texts clipped)."""
    return [
        _sample(rep.model_name, rep.dataset_name, rec)
        for key, rep in run.result.items()
        for rec in run.samples(key)
    ]


def capped_benchmarks(run: EvalRun) -> list[dict[str, Any]]:
    """The benchmarks whose sample browser shows only some samples: how many of how many, and the
    predictions file (relative to the run folder) that holds them all."""
    out = []
    for key, rep in run.result.items():
        shown, total = len(run.samples(key)), run.sample_total(key)
        if shown < total:
            out.append(
                {
                    "model": rep.model_name,
                    "benchmark": rep.dataset_name,
                    "shown": shown,
                    "total": total,
                    "file": run.predictions_file(key),
                }
            )
    return out


def score_rows(run: EvalRun) -> list[dict[str, Any]]:
    """One row per benchmark (OVERALL) followed by its subsets when it has more than one."""
    rows = []
    for rep in run.result.values():
        base = {"model": rep.model_name, "benchmark": rep.dataset_name, "metric": rep.metric_name}
        rows.append(
            {
                **base,
                "subset": "OVERALL",
                "num": sum(rep.counts.values()),
                "score": rep.score,
                "stderr": rep.stderr,
                "coverage": rep.coverage,
                "counts": rep.counts,
                "overall": True,
            }
        )
        if len(rep.subsets) > 1:
            category = subset_categories(rep)
            for sub in rep.subsets:
                rows.append(
                    {
                        **base,
                        "category": category.get(sub.name),
                        "subset": sub.name,
                        "num": sub.num,
                        "score": sub.score,
                        "stderr": sub.stderr,
                        "coverage": sub.coverage,
                        "counts": sub.counts,
                        "overall": False,
                    }
                )
    return rows


def subset_categories(rep: BenchmarkReport) -> dict[str, str]:
    """subset -> its category (``STEM``, ``Humanities``, ...; nested names joined with ' / ') for the
    benchmarks that group subsets (ceval, mmlu, mmlu_pro, cmmlu); empty when there is only one."""
    if not rep.metrics:
        return {}
    cats = rep.metrics[0].categories
    if all(c.name == ["default"] for c in cats):  # the engine's name when a benchmark has none
        return {}
    return {sub.name: " / ".join(c.name) or "other" for c in cats for sub in c.subsets}


def category_scores(run: EvalRun) -> dict[tuple[str, str, str], float | None]:
    """(model, benchmark, category) -> the engine's score of the category (over its samples)."""
    return {
        (rep.model_name, rep.dataset_name, " / ".join(c.name) or "other"): c.score
        for rep in run.result.values()
        if rep.metrics
        for c in rep.metrics[0].categories
    }


def category_groups(
    rows: list[dict[str, Any]], scores: dict[tuple[str, str, str], float | None]
) -> list[dict[str, Any]]:
    """The score table's rows grouped for the page: per benchmark its OVERALL row, then its subsets
    under their categories (``scores``: the engine's category scores), best first, or flat when the
    benchmark has no categories."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if r["overall"]:
            out.append({"overall": r, "categories": [], "subsets": []})
            continue
        bench = out[-1]
        if r.get("category") is None:
            bench["subsets"].append(r)
            continue
        cat = next((c for c in bench["categories"] if c["name"] == r["category"]), None)
        if cat is None:
            cat = {"name": r["category"], "rows": [], "num": 0, "counts": {}}
            bench["categories"].append(cat)
        cat["rows"].append(r)
    for bench in out:
        o = bench["overall"]
        for cat in bench["categories"]:
            cat["num"] = sum(x["num"] for x in cat["rows"])
            cat["score"] = scores.get((o["model"], o["benchmark"], cat["name"]))
            for x in cat["rows"]:
                for k, v in x["counts"].items():
                    cat["counts"][k] = cat["counts"].get(k, 0) + v
            cat["rows"].sort(key=lambda x: (x["score"] is None, -(x["score"] or 0)))
        bench["categories"].sort(key=lambda c: c["name"])
    return out


def headlines(run: EvalRun) -> list[dict[str, Any]]:
    """One headline per benchmark: score ± SE, samples, state shares (%), tokens, mean sample
    latency and duration, from the engine's report and the samples the page holds."""
    out = []
    for key, rep in run.result.items():
        total = sum(rep.counts.values())
        lat = [s.latency for s in run.samples(key) if s.latency is not None]
        out.append(
            {
                "model": rep.model_name,
                "benchmark": rep.dataset_name,
                "metric": rep.metrics[0].name if rep.metrics else "",
                "score": rep.score,
                "stderr": rep.stderr,
                "num": total,
                "shares": {k: (100.0 * v / total if total else 0.0) for k, v in rep.counts.items()},
                "tokens": rep.usage.total_tokens,
                "prompt_tokens": rep.usage.prompt_tokens,
                "completion_tokens": rep.usage.completion_tokens,
                "mean_latency": sum(lat) / len(lat) if lat else None,
                "duration": rep.timing.duration_s,
            }
        )
    return out


def repeat_rows(run: EvalRun) -> list[dict[str, Any]]:
    """The repeat metrics (``repeats`` k > 1: pass@n, maj@k over questions), overall then per subset
    when a benchmark has several; empty for runs without repeats."""
    rows = []
    for rep in run.result.values():
        for m in rep.repeat_metrics:
            base = {"model": rep.model_name, "benchmark": rep.dataset_name, "metric": m.name}
            rows.append({**base, "subset": "OVERALL", "num": m.num, "score": m.score, "stderr": m.stderr})
            subs = [s for c in m.categories for s in c.subsets]
            if len(subs) > 1:
                rows += [
                    {**base, "subset": s.name, "num": s.num, "score": s.score, "stderr": s.stderr}
                    for s in subs
                ]
    return rows


def scores_hbar_figure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Score per benchmark and subset as horizontal bars, best first within each benchmark (its
    OVERALL bar on top), with ±1 standard error bars; tall enough for every label."""
    ordered: list[dict[str, Any]] = []
    for r in rows:
        if r["overall"]:
            ordered.append(r)
    items = []
    for o in ordered:
        subs = [
            r
            for r in rows
            if not r["overall"] and r["benchmark"] == o["benchmark"] and r["model"] == o["model"]
        ]
        subs.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0)))
        items += [o, *subs]
    labels = [
        f"{r['benchmark']} · {r['subset']}" if not r["overall"] else f"<b>{r['benchmark']}</b>" for r in items
    ]
    bar = {
        "type": "bar",
        "orientation": "h",
        "name": "score",
        "y": labels,
        "x": [r["score"] for r in items],
        "error_x": {"type": "data", "array": [r["stderr"] or 0 for r in items], "visible": True},
        "marker": {"color": [PALETTE[0] if r["overall"] else "#7aa6d6" for r in items]},
        "customdata": [[r["num"], r["stderr"]] for r in items],
        "hovertemplate": "%{y}<br>score %{x:.4f} ± %{customdata[1]:.4f}<br>n=%{customdata[0]}<extra></extra>",
    }
    return figure(
        [bar],
        "Score per benchmark and subset, best first (error bars: ±1 standard error)",
        xaxis={"title": {"text": "score"}, "range": [0, 1.05], "dtick": 0.1},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        showlegend=False,
        height=max(260, 90 + 22 * len(items)),
    )


def scores_figure(groups: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Score per benchmark and subset with ±1 standard error bars; one bar colour per run."""
    traces = []
    for k, (name, rows) in enumerate(groups):
        xs = [[r["benchmark"] for r in rows], [r["subset"] for r in rows]]
        traces.append(
            {
                "type": "bar",
                "name": name or "score",
                "x": xs,
                "y": [r["score"] for r in rows],
                "error_y": {"type": "data", "array": [r["stderr"] or 0 for r in rows], "visible": True},
                "marker": {"color": PALETTE[k % len(PALETTE)]},
                "customdata": [[r["num"], r["stderr"]] for r in rows],
                "hovertemplate": "%{x}<br>score %{y:.4f} ± %{customdata[1]:.4f}<br>n=%{customdata[0]}<extra></extra>",
            }
        )
    return figure(
        traces,
        "Score per benchmark and subset (error bars: ±1 standard error)",
        yaxis={"title": {"text": "score"}, "range": [0, 1.05]},
        barmode="group",
        showlegend=len(groups) > 1,
        height=400,
    )


def states_figure(groups: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Sample counts per state, stacked, per benchmark (and per run for comparisons)."""
    traces = []
    for state in STATES:
        xs_bench, xs_run, ys = [], [], []
        for name, rows in groups:
            for r in rows:
                if r["overall"]:
                    xs_bench.append(r["benchmark"])
                    xs_run.append(name or r["model"])
                    ys.append(r["counts"].get(state, 0))
        traces.append(
            {
                "type": "bar",
                "name": state,
                "x": [xs_bench, xs_run] if len(groups) > 1 else xs_bench,
                "y": ys,
                "marker": {"color": STATE_COLORS[state]},
            }
        )
    return figure(
        traces,
        "Samples per state",
        yaxis={"title": {"text": "samples"}},
        barmode="stack",
        height=360,
        legend={"orientation": "h", "y": -0.2, "traceorder": "normal"},
    )


def eval_context(folder: Path) -> dict[str, Any]:
    """Everything the eval template shows, plus the ``report_data`` JSON island for scripts."""
    run = load_eval_run(folder, sample_limit=SAMPLE_CAP)
    rows = score_rows(run)  # the reports' numbers: computed by the engine from all samples
    title = f"{', '.join(run.models)} · {folder.name}"
    config = redact_config(run.config)  # a folder written by another tool may hold a key in clear
    return {
        "title": f"Eval report · {title}",
        "run_title": title,
        "folder": str(folder),
        "config": {
            k: config.get(k)
            for k in ("model", "api_url", "api", "datasets", "limit", "eval_batch_size", "generation_config")
            if k in config
        },
        "rows": rows,
        "repeat_rows": repeat_rows(run),
        "states": STATES,
        "state_colors": STATE_COLORS,
        "scores_fig": scores_hbar_figure(rows),
        "headlines": headlines(run),
        "groups": category_groups(rows, category_scores(run)),
        "states_fig": states_figure([("", rows)]),
        "samples": sample_rows(run),
        "capped": capped_benchmarks(run),
        "report_data": {
            "kind": "eval",
            "run": str(folder),
            "rows": rows,
            "repeat_rows": repeat_rows(run),
            "reports": [_report_json(r) for r in run.result.values()],
        },
    }


def _report_json(rep: BenchmarkReport) -> dict[str, Any]:
    """The report fields the page's JSON island carries for scripts (today's keys, in this order)."""
    data = rep.model_dump(mode="json", by_alias=True)
    return {
        k: data.get(k)
        for k in ("model_name", "dataset_name", "score", "stderr", "coverage", "counts", "subsets")
    }
