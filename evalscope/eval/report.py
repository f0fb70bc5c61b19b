"""Per-benchmark report (EvalScope's report fields plus states, coverage, stderr and tokens) and the
console summary table.

Definitions, written once here:
- ``score`` (AverageAccuracy): mean sample score over the samples that got an answer, i.e. every
  state but ``error``. Truncated and unparsed answers score 0. For general_qa the sample score is
  ROUGE-L recall and the metric is named ``Rouge-L-R``. With no answered sample the score (and its
  stderr) is None ("n/a"), never 0.0: nothing was measured.
- ``coverage``: answered samples / all samples (1.0 when no request failed for good).
- ``stderr``: standard error of that mean, sqrt(var / n) with the sample variance (n - 1).
- ``macro_score``: the unweighted mean of the subset scores that exist (None when none does).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from evalscope.eval.results import BenchmarkReport, SampleResult
from evalscope.eval.scoring import STATES


def _agg(records: list[SampleResult]) -> dict[str, Any]:
    counts = Counter(r.state for r in records)
    answered = [float(r.score) for r in records if r.state != "error"]
    n = len(answered)
    mean = sum(answered) / n if n else 0.0
    var = sum((x - mean) ** 2 for x in answered) / (n - 1) if n > 1 else 0.0
    return {
        "num": len(records),
        "num_scored": n,
        "score": round(mean, 4) if n else None,
        "stderr": (round(math.sqrt(var / n), 4) if n > 1 else 0.0) if n else None,
        "coverage": round(n / len(records), 4) if records else 0.0,
        "counts": {s: counts.get(s, 0) for s in STATES},
    }


def _mean(scores: list[float | None]) -> float | None:
    """Unweighted mean of the scores that exist (a subset with nothing scored has none)."""
    present = [s for s in scores if s is not None]
    return round(sum(present) / len(present), 4) if present else None


def fmt_score(value: float | None) -> str:
    """A score or stderr for tables: four decimals, or ``n/a`` when nothing was scored."""
    return "n/a" if value is None else f"{value:.4f}"


def build_report(
    *,
    benchmark: Any,
    model: str,
    subsets: list[str],
    records: Iterable[SampleResult],
    duration_s: float | None = None,
    asked: int = 0,
    files: dict[str, str] | None = None,
) -> BenchmarkReport:
    """The report of one benchmark from its finished samples."""
    records = list(records)
    by_subset: dict[str, list[SampleResult]] = {s: [] for s in subsets}
    for r in records:
        by_subset.setdefault(r.subset, []).append(r)
    subset_rows = []
    for name, rows in by_subset.items():
        a = _agg(rows)
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
    overall = _agg(records)
    macro = _mean([s["score"] for s in subset_rows])

    category_of = benchmark.extra.get("categories", {})
    categories: dict[str, list[dict[str, Any]]] = {}
    for row in subset_rows:
        categories.setdefault(category_of.get(row["name"], "default"), []).append(row)
    category_rows = []
    for cat, cat_rows in categories.items():
        cat_records = [r for row in cat_rows for r in by_subset[row["name"]]]
        a = _agg(cat_records)
        category_rows.append(
            {
                "name": [cat],
                "num": a["num"],
                "score": a["score"],
                "macro_score": _mean([r["score"] for r in cat_rows]),
                "subsets": [{"name": r["name"], "num": r["num"], "score": r["score"]} for r in cat_rows],
            }
        )

    prompt_tokens = sum(r.usage.get("prompt_tokens") or 0 for r in records)
    completion_tokens = sum(r.usage.get("completion_tokens") or 0 for r in records)
    metric = {
        "name": benchmark.metric_name,
        "num": overall["num"],
        "score": overall["score"],
        "macro_score": macro,
        "categories": category_rows,
    }
    return BenchmarkReport.model_validate(
        {
            "name": f"{model}@{benchmark.name}",
            "dataset_name": benchmark.name,
            "dataset_pretty_name": benchmark.pretty_name,
            "model_name": model,
            "score": overall["score"],
            "metrics": [metric],
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
            "timing": {
                "duration_s": round(duration_s, 3) if duration_s is not None else None,
                "requests_asked": asked,
                "samples_per_s": round(asked / duration_s, 2) if duration_s and asked else None,
            },
            "files": files or {},
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
        metric = rep.metric_name
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
    return table
