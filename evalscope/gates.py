"""CI gates: turn a finished run's JSON into pass/fail checks and JUnit XML (one home for both CLIs).

Used by the local commands (``evalscope eval --fail-under``, ``evalscope perf --slo``) and by the remote
ones (``evalscope remote eval|perf|wait``), so a gate means the same thing wherever a run happened.

- **eval**: ``--fail-under gsm8k=0.75 mmlu_pro=0.5``: a benchmark passes when its ``score`` (0..1) is at
  least the threshold. A benchmark with no score (nothing could be scored) fails. Every benchmark of
  the run becomes a test case; one without a threshold passes and carries its score.
- **perf**: ``--slo ttft:500 e2el_p95:3s ttft_mean:300ms`` (the spellings of :mod:`evalscope.slo`): an
  SLO passes at a sweep point when its percentile (its own, else ``--slo-percentile``, default 99) of
  its column (``ttft``: "TTFT (s)", ``tpot``: "TPOT (s)", ``itl``: "ITL (s)", ``e2el``: "Latency (s)"),
  or its mean for ``_mean``, is within it. A point with no value for the column (every request
  failed; embeddings have no TTFT) fails.
  One test case per (sweep point, SLO); without SLOs, one per point (it fails when every request did).

Works on the runs' JSON (the keys users read), not on the engines' types: this module is in the base
layer and both the local CLIs (entry layer) and the remote client use it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from xml.etree import ElementTree as ET

from pydantic import BaseModel

from evalscope import slo as slo_specs

#: the percentiles a perf run's tables hold (evalscope/slo.py, the SLOs' one home)
SLO_PERCENTILES = slo_specs.PERCENTILES
#: SLO metric -> the percentile table's column (its JSON key, in seconds)
SLO_COLUMNS = slo_specs.PERCENTILE_COLUMNS
#: exit code of a command whose run finished but missed a gate (1: the run failed; 2: bad input)
EXIT_GATE_MISSED = 3

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class Check(BaseModel):
    """One test case: a benchmark's score against its threshold, or one SLO at one sweep point."""

    suite: str  # the JUnit class name: "eval.<model>" / "perf.<model>.<point>"
    name: str  # "gsm8k", "ttft p99 <= 500 ms"
    kind: Literal["fail_under", "score", "slo", "point", "run"]
    passed: bool
    error: bool = False  # the run itself failed (JUnit <error>, not <failure>)
    value: float | None = None
    threshold: float | None = None
    message: str  # one line: why it passed or failed


# -- parsing -------------------------------------------------------------------------------------
def parse_fail_under(items: Iterable[str] | None, datasets: Iterable[str] | None = None) -> dict[str, float]:
    """``["gsm8k=0.75", "mmlu_pro=0.5"]`` -> ``{"gsm8k": 0.75, ...}``; ValueError ``--fail-under: ...``
    on a bad item, a threshold outside 0..1, or a benchmark the run does not evaluate."""
    out: dict[str, float] = {}
    wanted = list(datasets) if datasets is not None else None
    for item in items or ():
        name, sep, raw = str(item).partition("=")
        name = name.strip()
        if not sep or not name or not _NAME.match(name):
            raise ValueError(f"--fail-under: {item!r} is not benchmark=score (e.g. gsm8k=0.75)")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"--fail-under: {name}: {raw!r} is not a number") from None
        if not 0.0 <= value <= 1.0:  # NaN fails this too
            raise ValueError(f"--fail-under: {name}: {raw} is outside 0..1 (scores are fractions)")
        if wanted is not None and name not in wanted:
            raise ValueError(
                f"--fail-under: {name}: not one of the benchmarks run (--datasets {' '.join(wanted)})"
            )
        out[name] = value
    return out


def check_percentile(value: int) -> int:
    """The ``--slo-percentile`` value, or ValueError naming the flag."""
    if value not in SLO_PERCENTILES:
        raise ValueError(
            f"--slo-percentile: {value} is not one of the reported percentiles "
            f"({', '.join(map(str, SLO_PERCENTILES))})"
        )
    return value


# -- checks --------------------------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def eval_checks(run: Mapping[str, Any], fail_under: Mapping[str, float], model: str = "model") -> list[Check]:
    """One check per benchmark in ``run["result"]`` (and per gated benchmark missing from it)."""
    reports: Mapping[str, Any] = run.get("result") or {}
    suite = f"eval.{model}"
    checks = []
    for name in [*reports, *(n for n in fail_under if n not in reports)]:
        report = reports.get(name)
        score = report.get("score") if isinstance(report, Mapping) else None
        threshold = fail_under.get(name)
        if threshold is None:
            checks.append(
                Check(
                    suite=suite,
                    name=name,
                    kind="score",
                    passed=True,
                    value=score,
                    message=f"{name}: score {_fmt(score)} (no threshold)",
                )
            )
        elif report is None:
            checks.append(
                Check(
                    suite=suite,
                    name=name,
                    kind="fail_under",
                    passed=False,
                    threshold=threshold,
                    message=f"{name}: no result (the run did not report this benchmark)",
                )
            )
        elif score is None:
            checks.append(
                Check(
                    suite=suite,
                    name=name,
                    kind="fail_under",
                    passed=False,
                    threshold=threshold,
                    message=f"{name}: score n/a (nothing could be scored) < {threshold:g}",
                )
            )
        else:
            ok = score >= threshold
            checks.append(
                Check(
                    suite=suite,
                    name=name,
                    kind="fail_under",
                    passed=ok,
                    value=score,
                    threshold=threshold,
                    message=f"{name}: score {_fmt(score)} {'>=' if ok else '<'} {threshold:g}",
                )
            )
        # A partly failed run (some samples errored) still passes on its score: the score says how many.
    return checks


def perf_checks(
    run: Mapping[str, Any], slo: Mapping[str, float], percentile: int = 99, model: str = "model"
) -> list[Check]:
    """One check per (sweep point, SLO) of ``run["results"]``; one per point without SLOs."""
    checks = []
    for point, data in (run.get("results") or {}).items():
        metrics: Mapping[str, Any] = data.get("metrics") or {}
        pcts: Mapping[str, Any] = data.get("percentiles") or {}
        suite = f"perf.{model}.{point}"
        succeeded = metrics.get("Succeed requests")
        total = metrics.get("Total requests")
        if not slo:
            ok = bool(succeeded)
            checks.append(
                Check(
                    suite=suite,
                    name="requests",
                    kind="point",
                    passed=ok,
                    value=succeeded,
                    message=f"{point}: {succeeded} of {total} requests succeeded",
                )
            )
            continue
        for spec in slo_specs.specs(slo):
            key, limit_ms, stat = spec.metric, spec.threshold_ms, spec.stat(percentile)
            column = slo_specs.MEAN_COLUMNS[key] if spec.mean else SLO_COLUMNS[key]
            value = slo_specs.value_in({"metrics": metrics, "percentiles": pcts}, spec, percentile)
            name = f"{key} {stat} <= {limit_ms:g} ms"
            if value is None:
                checks.append(
                    Check(
                        suite=suite,
                        name=name,
                        kind="slo",
                        passed=False,
                        threshold=limit_ms,
                        message=f"{point}: {key} {stat} n/a (no {column} values: "
                        f"{succeeded} of {total} requests succeeded) vs SLO {limit_ms:g} ms",
                    )
                )
                continue
            ms = value * 1000.0
            ok = ms <= limit_ms
            checks.append(
                Check(
                    suite=suite,
                    name=name,
                    kind="slo",
                    passed=ok,
                    value=round(ms, 3),
                    threshold=limit_ms,
                    message=f"{point}: {key} {stat} {ms:.1f} ms {'<=' if ok else '>'} SLO {limit_ms:g} ms",
                )
            )
    return checks


def run_failed_checks(kind: str, names: Iterable[str], message: str, model: str = "model") -> list[Check]:
    """A run that failed (or a job that ended failed / cancelled / interrupted): one erroring case per
    benchmark (eval) or one for the run (perf, or when nothing is known), each carrying ``message``."""
    names = list(names) or ["run"]
    return [
        Check(
            suite=f"{kind}.{model}", name=n, kind="run", passed=False, error=True, message=f"{n}: {message}"
        )
        for n in names
    ]


def missed(checks: Iterable[Check]) -> list[Check]:
    """The checks that did not pass."""
    return [c for c in checks if not c.passed]


# -- JUnit XML -----------------------------------------------------------------------------------
def junit_xml(checks: list[Check], suite_name: str, time_s: float | None = None) -> str:
    """JUnit XML (the Jenkins/GitLab/GitHub-reporter dialect): one ``<testsuite>``, a ``<testcase>``
    per check; a missed gate is ``<failure>``, a failed run ``<error>``; values as ``<properties>``."""
    failures = sum(1 for c in checks if not c.passed and not c.error)
    errors = sum(1 for c in checks if c.error)
    attrs = {"name": suite_name, "tests": str(len(checks)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {**attrs, "skipped": "0"})
    if time_s is not None:
        suite.set("time", f"{time_s:.3f}")
    for c in checks:
        case = ET.SubElement(suite, "testcase", {"classname": c.suite, "name": c.name})
        props = {"value": c.value, "threshold": c.threshold}
        if any(v is not None for v in props.values()):
            pe = ET.SubElement(case, "properties")
            for key, val in props.items():
                if val is not None:
                    ET.SubElement(pe, "property", {"name": key, "value": f"{val:g}"})
        if c.error:
            ET.SubElement(case, "error", {"message": c.message, "type": c.kind}).text = c.message
        elif not c.passed:
            ET.SubElement(case, "failure", {"message": c.message, "type": c.kind}).text = c.message
        else:
            ET.SubElement(case, "system-out").text = c.message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(
    path: str | os.PathLike[str], checks: list[Check], suite_name: str, time_s: float | None = None
) -> None:
    """Write :func:`junit_xml` to ``path`` atomically (a CI job never reads half a file)."""
    from evalscope.fsio import atomic_write_text

    atomic_write_text(path, junit_xml(checks, suite_name, time_s))


def report_lines(checks: Iterable[Check]) -> list[str]:
    """One line per missed gate: ``gate missed: gsm8k: score 0.6 < 0.75``."""
    return [f"gate missed: {c.message}" for c in missed(checks)]


# -- the command lines ---------------------------------------------------------------------------
def add_eval_gate_arguments(p: Any) -> None:
    """``--fail-under`` and ``--junit-xml`` (``evalscope eval``, ``evalscope remote eval|wait``)."""
    p.add_argument(
        "--fail-under",
        nargs="+",
        metavar="BENCHMARK=SCORE",
        default=None,
        help="CI gate: exit 3 when a benchmark scores below its threshold (0..1), e.g. gsm8k=0.75",
    )
    add_junit_argument(p)


def add_perf_gate_arguments(p: Any) -> None:
    """``--slo-percentile`` and ``--junit-xml`` (``--slo`` itself is the perf run's own flag)."""
    p.add_argument(
        "--slo-percentile",
        type=int,
        default=99,
        metavar="P",
        help="CI gate: an --slo passes when this percentile of its metric is within it (99); "
        "a missed SLO exits 3",
    )
    add_junit_argument(p)


def add_junit_argument(p: Any) -> None:
    """``--junit-xml FILE``."""
    p.add_argument(
        "--junit-xml",
        default=None,
        metavar="FILE",
        help="write the gates as JUnit XML (a test case per benchmark, or per SLO and sweep point)",
    )


def conclude(
    checks: list[Check], junit_path: str | None, suite_name: str, time_s: float | None = None, out: Any = None
) -> int:
    """Write the JUnit file (when asked), print one line per miss; the exit code: 0 when every check
    passed, 1 when the run failed, :data:`EXIT_GATE_MISSED` when a gate was missed."""
    import sys

    if junit_path:
        write_junit(junit_path, checks, suite_name, time_s)
    out = out or sys.stderr
    for line in report_lines(c for c in checks if not c.error):
        print(line, file=out)
    if any(c.error for c in checks):
        return 1
    return EXIT_GATE_MISSED if missed(checks) else 0
