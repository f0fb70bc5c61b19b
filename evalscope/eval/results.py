"""The eval engine's typed results: what crosses the seam to ``report/``, ``jobs/`` and ``service/``.

- :class:`SampleResult`: one finished sample, one line of ``predictions/<model>/<benchmark>.jsonl``.
- :class:`BenchmarkReport`: one benchmark's report, ``reports/<model>/<benchmark>.json``.
- :class:`EvalRun`: a whole run (``output_dir``, ``result`` per benchmark, ``warnings``, ``error_counts``);
  ``run_task`` returns its ``model_dump(mode="json", by_alias=True)``.
- :func:`read_run`: an :class:`EvalRun` back from a run folder (the report and the service read this).

Field order is the JSON key order users see on disk and in answers: keep it when adding a field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from evalscope.errors import error_counts
from evalscope.eval.storage import iter_predictions, read_predictions
from evalscope.rundir import RunDir

__all__ = [
    "BenchmarkReport",
    "CategoryReport",
    "CategorySubset",
    "EvalRun",
    "JudgeReport",
    "MetricReport",
    "RunReadError",
    "SampleResult",
    "SubsetReport",
    "TimingReport",
    "UsageReport",
    "failure_warnings",
    "read_run",
    "read_samples",
    "run_error_counts",
]


class RunReadError(ValueError):
    """A run folder that cannot be read as an eval run; the message names the file and why."""


class _Model(BaseModel):
    # extra keys (a newer or older writer) are kept, so reading and writing back loses nothing
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _absent(value: Any) -> bool:
    """Keys written only when set (a repeats run's keys), so k = 1 files keep today's keys."""
    return value is None


def _empty(value: Any) -> bool:
    return not value


class SampleResult(_Model):
    """One finished sample: the prompt, the model's answer, and its verdict."""

    id: str
    # repeats > 1 only (keys absent otherwise): which of the k answers, and the seed it was asked with
    repeat: int | None = Field(None, ge=0, exclude_if=_absent)
    seed: int | None = Field(None, exclude_if=_absent)
    subset: str = "default"
    prompt_hash: str | None = None  # identifies the exact prompt (a changed one is asked again)
    messages: list[dict[str, Any]] | None = None
    target: str = ""  # the gold answer (a letter, a number, a text)
    output: str | None = None  # None: the request failed
    reasoning: str = ""
    finish_reason: str | None = None
    extracted: str | None = None
    state: str = "error"  # one of scoring.STATES
    score: float = 0.0
    metrics: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, Any] = Field(default_factory=dict)
    latency: float | None = None
    attempts: int = 1
    error: str | None = None
    error_reason: str | None = None  # ApiError.reason (http_500, connection, timeout, ...); "scorer"
    metadata: dict[str, Any] = Field(default_factory=dict)
    # an async scorer's view (a code run's output, a judge's verdict and reasoning); absent when empty
    details: dict[str, Any] = Field(default_factory=dict, exclude_if=_empty)
    # which async scorer gave the verdict (AsyncScorer.fingerprint): resume keeps only its own verdicts
    scored_by: str | None = Field(None, exclude_if=_absent)

    def to_json(self) -> str:
        """The predictions line (without the newline)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), ensure_ascii=False)


class SubsetReport(_Model):
    """One subset's row of a report."""

    name: str
    num: int
    score: float | None
    stderr: float | None
    coverage: float
    counts: dict[str, int]


class CategorySubset(_Model):
    name: str
    num: int
    score: float | None
    stderr: float | None = Field(None, exclude_if=_absent)  # repeat metrics only (eval/repeats.py)


class CategoryReport(_Model):
    """Subsets grouped by the benchmark's category (``default`` when it declares none)."""

    name: list[str]
    num: int
    score: float | None
    macro_score: float | None
    subsets: list[CategorySubset]


class MetricReport(_Model):
    name: str
    num: int
    score: float | None
    macro_score: float | None
    categories: list[CategoryReport] = Field(default_factory=list)
    stderr: float | None = Field(None, exclude_if=_absent)  # repeat metrics only (eval/repeats.py)


class UsageReport(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class JudgeReport(_Model):
    """What the judge model did for one benchmark (``judge_strategy`` asked it; absent otherwise):
    verdicts asked (``requests``, cached ones from a resumed run included), how many failed (HTTP
    error or unparsable: those samples are ``error``), and the judge's tokens as its server counted
    them. EvalScope has no price notion for the judge, so there is no cost: multiply the tokens."""

    models: list[str] = Field(default_factory=list)
    requests: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class TimingReport(_Model):
    duration_s: float | None = None
    requests_asked: int = 0
    samples_per_s: float | None = None


class BenchmarkReport(_Model):
    """One benchmark's report (eval/report.py ``build_report`` says how each number is made)."""

    name: str  # "<model>@<benchmark>"
    dataset_name: str
    dataset_pretty_name: str = ""
    model_name: str
    score: float | None  # None: nothing could be scored (n/a)
    metrics: list[MetricReport] = Field(default_factory=list)
    stderr: float | None = None
    coverage: float = 0.0
    num_scored: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    subsets: list[SubsetReport] = Field(default_factory=list)
    usage: UsageReport = Field(default_factory=UsageReport)
    # the judge's work (evalscope/eval/judge); written only when a judge graded this benchmark
    judge: JudgeReport | None = Field(None, exclude_if=_absent)
    timing: TimingReport = Field(default_factory=TimingReport)
    files: dict[str, str] = Field(default_factory=dict)
    repeats: int = Field(1, exclude_if=lambda v: v == 1)  # k; written only when > 1

    @property
    def metric_name(self) -> str:
        return self.metrics[0].name if self.metrics else "score"

    @property
    def repeat_metrics(self) -> list[MetricReport]:
        """The repeat metrics (``mean_acc_pass@n``, ``mean_acc_vote@k``; eval/repeats.py), in order."""
        if self.repeats == 1:
            return []
        return [m for m in self.metrics[1:] if m.name.startswith(("mean_acc_pass@", "mean_acc_vote@"))]


class EvalRun(_Model):
    """A run: its folder, the report of each benchmark, and what went wrong on the way.

    ``error_counts`` is ``{"total": n, "failed": k, "by_reason": {...}}`` (evalscope.errors).
    A run read back from its folder (:func:`read_run`) also holds the samples and the config.
    """

    output_dir: str
    result: dict[str, BenchmarkReport]
    warnings: list[str] = Field(default_factory=list)
    error_counts: dict[str, Any] = Field(default_factory=lambda: error_counts(0, []))
    _samples: dict[str, list[SampleResult]] = PrivateAttr(default_factory=dict)
    _config: dict[str, Any] = PrivateAttr(default_factory=dict)
    _sample_totals: dict[str, int] = PrivateAttr(default_factory=dict)
    _sample_files: dict[str, str] = PrivateAttr(default_factory=dict)

    def samples(self, benchmark: str) -> list[SampleResult]:
        """The samples of one benchmark (key of ``result``), in file order; read runs only (the
        first ``sample_limit`` of them when :func:`read_run` was given one)."""
        return self._samples.get(benchmark, [])

    def sample_total(self, benchmark: str) -> int:
        """How many samples the benchmark's predictions file holds (all of them, whatever
        ``sample_limit``); read runs only."""
        return self._sample_totals.get(benchmark, len(self.samples(benchmark)))

    def predictions_file(self, benchmark: str) -> str:
        """The benchmark's predictions file, relative to the run folder (``predictions/<model>/<bench>.jsonl``);
        read runs only."""
        return self._sample_files.get(benchmark, "")

    @property
    def config(self) -> dict[str, Any]:
        """The run's ``config.json`` as written (secrets already redacted by the engine); read runs only."""
        return self._config

    @property
    def models(self) -> list[str]:
        return sorted({r.model_name for r in self.result.values()})

    def to_json(self) -> dict[str, Any]:
        """What ``run_task`` returns and the service answers: today's JSON keys."""
        return self.model_dump(mode="json", by_alias=True)


def failure_warnings(
    reports: dict[str, BenchmarkReport], max_retries: int | None, scorer_errors: dict[str, int] | None = None
) -> list[str]:
    """One warning per benchmark where samples failed: none scored (n/a), or some failed.
    ``scorer_errors``: per benchmark, how many of its errors are the scorer's (sandbox, judge), not
    the model's."""
    out = []
    for name, rep in reports.items():
        bad, num = rep.counts.get("error", 0), sum(rep.counts.values())
        by_scorer = (scorer_errors or {}).get(name, 0)
        if num and not rep.num_scored:
            why = (
                f"all {num} requests failed"
                if not by_scorer
                else f"the scorer failed on {by_scorer} of {num}"
            )
            out.append(f"{name}: no sample could be scored ({why}); its score is n/a")
        elif bad:
            parts = []
            if bad - by_scorer:
                parts.append(
                    f"{bad - by_scorer} of {num} samples failed (no answer after {max_retries} retries)"
                )
            if by_scorer:
                parts.append(f"{by_scorer} of {num} samples could not be scored (the scorer failed)")
            out.append(f"{name}: {'; '.join(parts)}; the score covers the other {num - bad}")
    return out


def run_error_counts(samples: Iterable[SampleResult]) -> dict[str, Any]:
    """``error_counts`` of a run from its samples (a failed one counted under its error reason)."""
    samples = list(samples)
    return error_counts(len(samples), [s.error_reason or "error" for s in samples if s.state == "error"])


def read_samples(path: Path) -> dict[tuple[str, int], SampleResult]:
    """The samples of one predictions file by (id, repeat index), the last line for a key winning;
    a torn last line (a crash mid-write) or a line that is not a sample is skipped."""
    out: dict[tuple[str, int], SampleResult] = {}
    for key, rec in read_predictions(path).items():
        try:
            out[key] = SampleResult.model_validate(rec)
        except ValidationError:
            continue
    return out


def _scan_samples(path: Path, limit: int) -> tuple[list[SampleResult], list[str | None]]:
    """One pass over a predictions file keeping only the first ``limit`` samples (by first line,
    the last line for a key winning, as in :func:`read_samples`) and, for every sample, its error
    reason (None when it did not fail): memory bounded by ``limit``, not by the file."""
    kept: dict[tuple[str, int], SampleResult] = {}
    failed: dict[tuple[str, int], str | None] = {}
    for key, rec in iter_predictions(path):
        try:
            sample = SampleResult.model_validate(rec)
        except ValidationError:
            continue
        failed[key] = (sample.error_reason or "error") if sample.state == "error" else None
        if key in kept or len(kept) < limit:
            kept[key] = sample
    return list(kept.values()), list(failed.values())


def read_run(path: str | Path | RunDir, *, sample_limit: int | None = None) -> EvalRun:
    """The run in an eval run folder: every ``reports/<model>/<benchmark>.json`` (sorted), the
    samples of its predictions file, ``config.json``, and the warnings and error counts that the
    files tell (the connection test's warning lives only in the live result).

    ``sample_limit``: keep only the first that many samples of each benchmark (``EvalRun.samples``);
    ``EvalRun.sample_total`` and the error counts still cover all of them.

    ``result`` is keyed by benchmark name (``<model>@<benchmark>`` when a folder holds two models).
    Raises :class:`RunReadError` when no report is there or one cannot be read.
    """
    root = path.root if isinstance(path, RunDir) else Path(path).expanduser().resolve()
    reports: dict[str, BenchmarkReport] = {}
    samples: dict[str, list[SampleResult]] = {}
    totals: dict[str, int] = {}
    files: dict[str, str] = {}
    failed: list[str | None] = []  # per sample: its error reason, None when it did not fail
    for file in sorted((root / "reports").glob("*/*.json")):
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunReadError(f"{file}: cannot read ({exc})") from None
        if not isinstance(raw, dict) or "score" not in raw:
            continue  # not a benchmark report (another tool's file)
        raw.setdefault("model_name", file.parent.name)
        raw.setdefault("dataset_name", file.stem)
        raw.setdefault("name", f"{raw['model_name']}@{raw['dataset_name']}")
        try:
            rep = BenchmarkReport.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err.get("loc", ()))
            raise RunReadError(f"{file}: {where}: {err.get('msg')}") from None
        key = rep.dataset_name if rep.dataset_name not in reports else rep.name
        reports[key] = rep
        pred = root / "predictions" / file.parent.name / f"{file.stem}.jsonl"
        files[key] = pred.relative_to(root).as_posix()
        if sample_limit is None:
            samples[key] = list(read_samples(pred).values())
            totals[key] = len(samples[key])
            failed += [(s.error_reason or "error") if s.state == "error" else None for s in samples[key]]
        else:
            samples[key], reasons = _scan_samples(pred, sample_limit)
            totals[key] = len(reasons)
            failed += reasons
    if not reports:
        raise RunReadError(f"{root}: no reports/<model>/<benchmark>.json inside (not an eval run)")
    config: dict[str, Any] = {}
    try:
        loaded = json.loads((root / "config.json").read_text(encoding="utf-8"))
        config = loaded if isinstance(loaded, dict) else {}
    except (OSError, json.JSONDecodeError):
        pass
    run = EvalRun(
        output_dir=str(root),
        result=reports,
        warnings=failure_warnings(reports, config.get("max_retries")),
        error_counts=error_counts(len(failed), [r for r in failed if r is not None]),
    )
    run._samples = samples
    run._sample_totals = totals
    run._sample_files = files
    run._config = config
    return run
