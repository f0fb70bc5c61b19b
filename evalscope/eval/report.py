"""Per-benchmark report (EvalScope's report fields plus states, coverage, stderr and tokens) and the
console summary table.

Definitions, written once here:
- ``score`` (AverageAccuracy): mean sample score over the samples that got an answer, i.e. every
  state but ``error``. Truncated and unparsed answers score 0. For general_qa the sample score is
  ROUGE-L recall and the metric is named ``Rouge-L-R``. With no answered sample the score (and its
  stderr) is None ("n/a"), never 0.0: nothing was measured. With ``repeats`` k > 1 it is avg@k: the
  mean over questions of each question's mean over its answered repeats (the same number when k = 1).
- ``coverage``: answered samples / all samples (1.0 when no request failed for good); with repeats
  each (question, repeat) answer is a sample here, as in ``num`` and ``counts``.
- ``stderr``: standard error of that mean, sqrt(var / n) with the sample variance (n - 1), n the
  questions (with repeats: across questions, of the per-question means).
- ``macro_score``: the unweighted mean of the subset scores that exist (None when none does).
- With k > 1, ``metrics`` also holds ``mean_acc_pass@n`` and ``mean_acc_vote@k`` (maj@k), each with
  its ``stderr``, per category and subset too; ``evalscope/eval/repeats.py`` defines them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from evalscope.eval.repeats import MetricValue, question_groups, repeat_metric_names, repeat_metrics
from evalscope.eval.results import BenchmarkReport, SampleResult
from evalscope.eval.scoring import STATES


def _question_scores(records: list[SampleResult], repeats: int) -> list[float]:
    """One value per question that got an answer: its score, or with repeats its mean over them."""
    if repeats == 1:
        return [float(r.score) for r in records if r.state != "error"]
    out = []
    for group in question_groups(records):
        answered = [float(r.score) for r in group if r.state != "error"]
        if answered:
            out.append(sum(answered) / len(answered))
    return out


def _agg(records: list[SampleResult], repeats: int = 1) -> dict[str, Any]:
    counts = Counter(r.state for r in records)
    scores = _question_scores(records, repeats)
    n = len(scores)
    mean = sum(scores) / n if n else 0.0
    var = sum((x - mean) ** 2 for x in scores) / (n - 1) if n > 1 else 0.0
    num_scored = len(records) - counts.get("error", 0)
    return {
        "num": len(records),
        "num_scored": num_scored,
        "score": round(mean, 4) if n else None,
        "stderr": (round(math.sqrt(var / n), 4) if n > 1 else 0.0) if n else None,
        "coverage": round(num_scored / len(records), 4) if records else 0.0,
        "counts": {s: counts.get(s, 0) for s in STATES},
    }


def _repeat_metric_rows(
    by_subset: dict[str, list[SampleResult]],
    category_of: dict[str, str],
    overall: list[SampleResult],
    repeats: int,
) -> list[dict[str, Any]]:
    """The ``metrics`` entries of a k-repeat report: one per repeat metric, overall, per category
    and per subset (EvalScope's metric layout, plus the standard error of each value)."""
    per_subset = {name: repeat_metrics(rows, repeats) for name, rows in by_subset.items()}
    cat_records: dict[str, list[SampleResult]] = {}
    cat_subsets: dict[str, list[str]] = {}
    for name, rows in by_subset.items():
        cat = category_of.get(name, "default")
        cat_records.setdefault(cat, []).extend(rows)
        cat_subsets.setdefault(cat, []).append(name)
    per_cat = {cat: repeat_metrics(rows, repeats) for cat, rows in cat_records.items()}
    total = repeat_metrics(overall, repeats)

    def subset_row(name: str, v: MetricValue) -> dict[str, Any]:
        return {"name": name, "num": v.num, "score": v.score, "stderr": v.stderr}

    out = []
    for metric in repeat_metric_names(repeats):
        categories = [
            {
                "name": [cat],
                "num": per_cat[cat][metric].num,
                "score": per_cat[cat][metric].score,
                "macro_score": _mean([per_subset[s][metric].score for s in names]),
                "subsets": [subset_row(s, per_subset[s][metric]) for s in names],
            }
            for cat, names in cat_subsets.items()
        ]
        out.append(
            {
                "name": metric,
                "num": total[metric].num,
                "score": total[metric].score,
                "macro_score": _mean([per_subset[s][metric].score for s in by_subset]),
                "categories": categories,
                "stderr": total[metric].stderr,
            }
        )
    return out


def _mean(scores: list[float | None]) -> float | None:
    """Unweighted mean of the scores that exist (a subset with nothing scored has none)."""
    present = [s for s in scores if s is not None]
    return round(sum(present) / len(present), 4) if present else None


def _aggregate_rows(benchmark: Any, by_subset: dict[str, list[SampleResult]]) -> list[dict[str, Any]]:
    """The ``metrics`` entries of a benchmark's own ``aggregate`` hook (IFEval's four accuracies):
    the value over all samples, ``macro_score`` the mean of the subsets' values, no category rows.
    The one named like the main metric is skipped: it is the first entry already."""
    overall = benchmark.aggregate([r for rows in by_subset.values() for r in rows])
    per_subset = {name: benchmark.aggregate(rows) for name, rows in by_subset.items()}
    num = sum(len(rows) for rows in by_subset.values())
    return [
        {
            "name": name,
            "num": num,
            "score": value,
            "macro_score": _mean([per_subset[s].get(name) for s in by_subset]),
            "categories": [],
        }
        for name, value in overall.items()
        if name != benchmark.metric_name
    ]


def fmt_score(value: float | None) -> str:
    """A score or stderr for tables: four decimals, or ``n/a`` when nothing was scored."""
    return "n/a" if value is None else f"{value:.4f}"


def judge_usage(records: Iterable[SampleResult]) -> dict[str, Any] | None:
    """The benchmark's ``judge`` entry from its samples' ``details`` (the judge scorer writes
    ``judge_model``, ``judge_usage`` and, when it failed, ``judge_error_reason``); None when no sample
    was graded by a judge."""
    models: list[str] = []
    requests = failed = prompt = completion = 0
    for r in records:
        d = r.details
        if "judge_model" not in d:
            continue
        requests += 1
        if d["judge_model"] not in models:
            models.append(str(d["judge_model"]))
        if d.get("judge_error_reason"):
            failed += 1
        usage = d.get("judge_usage") or {}
        prompt += int(usage.get("prompt_tokens") or 0)
        completion += int(usage.get("completion_tokens") or 0)
    if not requests:
        return None
    return {
        "models": models,
        "requests": requests,
        "failed": failed,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def build_report(
    *,
    benchmark: Any,
    model: str,
    subsets: list[str],
    records: Iterable[SampleResult],
    duration_s: float | None = None,
    asked: int = 0,
    files: dict[str, str] | None = None,
    repeats: int = 1,
) -> BenchmarkReport:
    """The report of one benchmark from its finished samples (with ``repeats`` k > 1: every
    (question, repeat) answer, and the repeat metrics besides)."""
    records = list(records)
    by_subset: dict[str, list[SampleResult]] = {s: [] for s in subsets}
    for r in records:
        by_subset.setdefault(r.subset, []).append(r)
    subset_rows = []
    for name, rows in by_subset.items():
        a = _agg(rows, repeats)
        subset_rows.append(
            {
                "name": name,
                "num": a["num"],
                "score": a["score"],
                "stderr": a["stderr"],
                "coverage": a["coverage"],
                "counts": a["counts"],
            }
        )
    overall = _agg(records, repeats)
    macro = _mean([s["score"] for s in subset_rows])

    category_of = benchmark.extra.get("categories", {})
    categories: dict[str, list[dict[str, Any]]] = {}
    for row in subset_rows:
        categories.setdefault(category_of.get(row["name"], "default"), []).append(row)
    category_rows = []
    for cat, cat_rows in categories.items():
        cat_records = [r for row in cat_rows for r in by_subset[row["name"]]]
        a = _agg(cat_records, repeats)
        category_rows.append(
            {
                "name": [cat],
                "num": a["num"],
                "score": a["score"],
                "macro_score": _mean([r["score"] for r in cat_rows]),
                "subsets": [{"name": r["name"], "num": r["num"], "score": r["score"]} for r in cat_rows],
            }
        )

    judge = judge_usage(records)
    prompt_tokens = sum(r.usage.get("prompt_tokens") or 0 for r in records)
    completion_tokens = sum(r.usage.get("completion_tokens") or 0 for r in records)
    metric = {
        "name": benchmark.metric_name,
        "num": overall["num"],
        "score": overall["score"],
        "macro_score": macro,
        "categories": category_rows,
    }
    metrics = [metric]
    if benchmark.aggregate is not None:
        metrics += _aggregate_rows(benchmark, by_subset)
    if repeats > 1:
        metrics += _repeat_metric_rows(by_subset, category_of, records, repeats)
    return BenchmarkReport.model_validate(
        {
            "name": f"{model}@{benchmark.name}",
            "dataset_name": benchmark.name,
            "dataset_pretty_name": benchmark.pretty_name,
            "model_name": model,
            "score": overall["score"],
            "metrics": metrics,
            "stderr": overall["stderr"],
            "coverage": overall["coverage"],
            "num_scored": overall["num_scored"],
            "counts": overall["counts"],
            "subsets": subset_rows,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "judge": judge,
            "timing": {
                "duration_s": round(duration_s, 3) if duration_s is not None else None,
                "requests_asked": asked,
                "samples_per_s": round(asked / duration_s, 2) if duration_s and asked else None,
            },
            "files": files or {},
            "repeats": repeats,
        }
    )


def summary_table(reports: dict[str, BenchmarkReport] | dict[str, dict[str, Any]]):
    """A rich Table: one row per benchmark subset (when few) and one OVERALL row per benchmark.

    ``States`` reads correct/wrong/unparsed/truncated/error. Reports may be typed or their JSON.
    """
    from rich.table import Table

    table = Table(title="Evaluation summary")
    for col in (
        "Model",
        "Dataset",
        "Metric",
        "Subset",
        "Num",
        "Score",
        "± SE",
        "States c/w/u/t/e",
        "Coverage",
    ):
        table.add_column(col, justify="right" if col in ("Num", "Score", "± SE", "Coverage") else "left")

    def states(counts: dict[str, int]) -> str:
        return "/".join(str(counts[s]) for s in STATES)

    for name, raw in reports.items():
        rep = BenchmarkReport.model_validate(raw)
        metric = rep.metric_name if rep.repeats == 1 else f"{rep.metric_name} (avg@{rep.repeats})"
        if 1 < len(rep.subsets) <= 12:
            for sub in rep.subsets:
                table.add_row(
                    rep.model_name,
                    name,
                    metric,
                    sub.name,
                    str(sub.num),
                    fmt_score(sub.score),
                    fmt_score(sub.stderr),
                    states(sub.counts),
                    f"{sub.coverage:.0%}",
                )
        table.add_row(
            rep.model_name,
            name,
            metric,
            "OVERALL",
            str(sum(rep.counts.values())),
            fmt_score(rep.score),
            fmt_score(rep.stderr),
            states(rep.counts),
            f"{rep.coverage:.0%}",
            style="bold",
        )
        for extra in rep.repeat_metrics:  # pass@n and maj@k over questions (Num: questions counted)
            table.add_row(
                rep.model_name,
                name,
                extra.name,
                "OVERALL",
                str(extra.num),
                fmt_score(extra.score),
                fmt_score(extra.stderr),
                "",
                "",
            )
    return table
