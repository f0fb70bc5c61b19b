"""The eval report: one run folder (``reports/<model>/<benchmark>.json`` and
``predictions/<model>/<benchmark>.jsonl``) -> ``report.html``.

Scores, standard errors and state counts are the engine's report numbers, shown as written; the
sample browser lists every prediction line. Model output is untrusted: it travels only inside a
JSON island (``<`` ``>`` ``&`` escaped) and the page's script puts it in the DOM as text, never HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalscope.report.page import PALETTE, STATE_COLORS, ReportError, figure
from evalscope.secrets import redact_config

STATES = ("correct", "wrong", "unparsed", "truncated", "error")
#: longest text kept per field of a sample in the page (the predictions file keeps it whole)
TEXT_LIMIT = 12000


@dataclass
class EvalRun:
    """The reports and predictions of one eval run folder."""

    folder: Path
    reports: list[dict[str, Any]]                      # engine report json, one per (model, benchmark)
    samples: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return sorted({r.get("model_name", "") for r in self.reports})


def is_eval_run(folder: Path) -> bool:
    """An eval run folder holds ``reports/<model>/<benchmark>.json``."""
    return any((folder / "reports").glob("*/*.json"))


def _clip(text: Any) -> Any:
    if not isinstance(text, str) or len(text) <= TEXT_LIMIT:
        return text
    # the end of a prompt holds the question (few-shot examples come first), so keep the end
    return f"[… {len(text) - TEXT_LIMIT} characters left out; the predictions file has the full text]\n" + \
        text[-TEXT_LIMIT:]


def _prompt_text(rec: dict[str, Any]) -> str:
    messages = rec.get("messages")
    if isinstance(messages, list):
        parts = []
        for m in messages:
            if isinstance(m, dict):
                content = m.get("content")
                if not isinstance(content, str):
                    content = json.dumps(content, ensure_ascii=False)
                parts.append(f"[{m.get('role', '?')}]\n{content}")
        return "\n\n".join(parts)
    return str(rec.get("prompt") or "")


def _sample(model: str, benchmark: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": model, "benchmark": benchmark, "id": str(rec.get("id")), "subset": rec.get("subset"),
        "state": rec.get("state"), "score": rec.get("score"), "extracted": rec.get("extracted"),
        "gold": rec.get("target"), "prompt": _clip(_prompt_text(rec)), "output": _clip(rec.get("output")),
        "reasoning": _clip(rec.get("reasoning") or None), "error": _clip(rec.get("error")),
        "finish_reason": rec.get("finish_reason"), "latency": rec.get("latency"),
    }


def load_eval_run(folder: Path) -> EvalRun:
    """The run's reports (sorted by model, benchmark) and every sample of its predictions files."""
    reports = []
    samples: list[dict[str, Any]] = []
    for path in sorted((folder / "reports").glob("*/*.json")):
        try:
            rep = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ReportError(f"{path}: cannot read ({exc})") from None
        if not isinstance(rep, dict) or "score" not in rep:
            continue
        reports.append(rep)
        model = rep.get("model_name") or path.parent.name
        bench = rep.get("dataset_name") or path.stem
        pred = folder / "predictions" / path.parent.name / f"{path.stem}.jsonl"
        if pred.is_file():
            with pred.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a torn last line of a crashed run
                    if isinstance(rec, dict):
                        samples.append(_sample(model, bench, rec))
    if not reports:
        raise ReportError(f"{folder}: no reports/<model>/<benchmark>.json inside (not an eval run)")
    config = {}
    if (folder / "config.json").is_file():
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            config = {}
    return EvalRun(folder=folder, reports=reports, samples=samples, config=config)


def score_rows(run: EvalRun) -> list[dict[str, Any]]:
    """One row per benchmark (OVERALL) followed by its subsets when it has more than one."""
    rows = []
    for rep in run.reports:
        metric = (rep.get("metrics") or [{}])[0].get("name", "score")
        subsets = rep.get("subsets") or []
        base = {"model": rep.get("model_name"), "benchmark": rep.get("dataset_name"), "metric": metric}
        rows.append({**base, "subset": "OVERALL", "num": sum((rep.get("counts") or {}).values()),
                     "score": rep.get("score"), "stderr": rep.get("stderr"), "coverage": rep.get("coverage"),
                     "counts": rep.get("counts") or {}, "overall": True})
        if len(subsets) > 1:
            for sub in subsets:
                rows.append({**base, "subset": sub.get("name"), "num": sub.get("num"), "score": sub.get("score"),
                             "stderr": sub.get("stderr"), "coverage": sub.get("coverage"),
                             "counts": sub.get("counts") or {}, "overall": False})
    return rows


def scores_figure(groups: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Score per benchmark and subset with ±1 standard error bars; one bar colour per run."""
    traces = []
    for k, (name, rows) in enumerate(groups):
        xs = [[r["benchmark"] for r in rows], [r["subset"] for r in rows]]
        traces.append({
            "type": "bar", "name": name or "score", "x": xs, "y": [r["score"] for r in rows],
            "error_y": {"type": "data", "array": [r["stderr"] or 0 for r in rows], "visible": True},
            "marker": {"color": PALETTE[k % len(PALETTE)]},
            "customdata": [[r["num"], r["stderr"]] for r in rows],
            "hovertemplate": "%{x}<br>score %{y:.4f} ± %{customdata[1]:.4f}<br>n=%{customdata[0]}<extra></extra>",
        })
    return figure(traces, "Score per benchmark and subset (error bars: ±1 standard error)",
                  yaxis={"title": {"text": "score"}, "range": [0, 1.05]}, barmode="group",
                  showlegend=len(groups) > 1, height=400)


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
        traces.append({"type": "bar", "name": state, "x": [xs_bench, xs_run] if len(groups) > 1 else xs_bench,
                       "y": ys, "marker": {"color": STATE_COLORS[state]}})
    return figure(traces, "Samples per state", yaxis={"title": {"text": "samples"}}, barmode="stack", height=360,
                  legend={"orientation": "h", "y": -0.2, "traceorder": "normal"})


def eval_context(folder: Path) -> dict[str, Any]:
    """Everything the eval template shows, plus the ``report_data`` JSON island for scripts."""
    run = load_eval_run(folder)
    rows = score_rows(run)
    title = f"{', '.join(run.models)} · {folder.name}"
    config = redact_config(run.config)  # a folder written by another tool may hold a key in clear
    return {
        "title": f"Eval report · {title}",
        "run_title": title,
        "folder": str(folder),
        "config": {k: config.get(k) for k in ("model", "api_url", "api", "datasets", "limit",
                                                  "eval_batch_size", "generation_config") if k in config},
        "rows": rows,
        "states": STATES,
        "state_colors": STATE_COLORS,
        "scores_fig": scores_figure([("", rows)]),
        "states_fig": states_figure([("", rows)]),
        "samples": run.samples,
        "report_data": {"kind": "eval", "run": str(folder), "rows": rows,
                        "reports": [{k: r.get(k) for k in ("model_name", "dataset_name", "score", "stderr",
                                                            "coverage", "counts", "subsets")} for r in run.reports]},
    }
