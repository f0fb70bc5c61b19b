"""Self-contained HTML reports (tables and plotly charts) for perf and eval runs.

```python
from evalscope.report import write_report, write_comparison, find_runs

write_report("outputs/20250101_120000/my-model")      # -> .../report.html (perf or eval, detected)
write_comparison(run_a, run_b, "a_vs_b.html")          # two runs of one kind side by side
```

The engines call :func:`try_write_report` at the end of every run; ``evalscope report`` regenerates.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from evalscope.report.page import ReportError

__all__ = [
    "REPORT_NAME",
    "ReportError",
    "comparison_html",
    "detect_kind",
    "find_runs",
    "missing_report_packages",
    "report_line",
    "try_write_report",
    "write_comparison",
    "write_report",
]

log = logging.getLogger("evalscope.report")

REPORT_NAME = "report.html"
Kind = Literal["perf", "eval"]
#: what report.html needs beyond the base install (the report, perf and service extras bring them)
REPORT_PACKAGES = ("jinja2", "plotly")
INSTALL_HINT = "pip install 'evalscope[report]'"


def missing_report_packages() -> list[str]:
    """The packages report.html needs that cannot be imported here (empty: reports can be written)."""
    missing = []
    for name in REPORT_PACKAGES:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    return missing


def report_line(folder: str | Path) -> str:
    """The last line a CLI prints about a run's report: its path, or that it was skipped and why."""
    path = Path(folder) / REPORT_NAME
    if path.is_file():
        return f"report: {path}"
    missing = missing_report_packages()
    if missing:
        return f"report: skipped, report.html needs {' and '.join(missing)} ({INSTALL_HINT})"
    return "report: skipped (see the warning above)"


def detect_kind(folder: str | Path) -> Kind:
    """``perf`` or ``eval`` for a run folder; :class:`ReportError` naming what was expected otherwise."""
    from evalscope.report.evaluation import is_eval_run
    from evalscope.report.perf import is_perf_run

    path = Path(folder)
    if not path.is_dir():
        raise ReportError(f"{path}: not a folder")
    if is_eval_run(path):
        return "eval"
    if is_perf_run(path):
        return "perf"
    raise ReportError(
        f"{path}: not a run folder (expected reports/<model>/<benchmark>.json of an eval run "
        "or parallel_<p>_number_<n>/ folders of a perf run)"
    )


def find_runs(folder: str | Path, depth: int = 3) -> list[tuple[Kind, Path]]:
    """The run folders at or below ``folder`` (a run folder itself, a service job folder holding
    ``<timestamp>/<name>/``, or an outputs folder), up to ``depth`` levels down."""
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise ReportError(f"{root}: not a folder")
    found: list[tuple[Kind, Path]] = []

    def walk(path: Path, level: int) -> None:
        try:
            found.append((detect_kind(path), path))
            return
        except ReportError:
            pass
        if level >= depth:
            return
        for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            walk(sub, level + 1)

    walk(root, 0)
    return found


def write_report(
    folder: str | Path, output: str | Path | None = None, plotly: str = "inline", partial: str | None = None
) -> Path:
    """Render ``report.html`` for one run folder (perf or eval, detected); returns its path.

    ``output`` defaults to ``<folder>/report.html``. ``plotly="service"`` leaves plotly.js out for
    the service to put back when it serves the file (``evalscope.report.page``); the default
    inlines it (a self-contained file). ``partial``: the run stopped midway; the page opens with the
    banner "partial: <partial>" (e.g. "cancelled after 3 of 10 samples").
    """
    from evalscope.report.page import render

    path = Path(folder).expanduser().resolve()
    kind = detect_kind(path)
    target = Path(output) if output else path / REPORT_NAME
    if kind == "perf":
        from evalscope.report.perf import perf_context

        return render("perf.html", target, plotly, partial=partial, **perf_context(path))
    from evalscope.report.evaluation import eval_context

    return render("eval.html", target, plotly, partial=partial, **eval_context(path))


def comparison_html(
    a: str | Path,
    b: str | Path,
    label_a: str | None = None,
    label_b: str | None = None,
    plotly: str = "inline",
) -> str:
    """The comparison page of two runs of the same kind (B against A), as text: a verdict line,
    regressions first, then the details. ``label_a``/``label_b`` name the runs (default: their
    folder names). What :func:`write_comparison` writes; the service can answer it as is."""
    from evalscope.report.compare import eval_compare_context, perf_compare_context
    from evalscope.report.page import render_html

    pa, pb = Path(a).expanduser().resolve(), Path(b).expanduser().resolve()
    ka, kb = detect_kind(pa), detect_kind(pb)
    if ka != kb:
        raise ReportError(f"cannot compare a {ka} run ({pa}) with a {kb} run ({pb})")
    if ka == "perf":
        return render_html("compare_perf.html", plotly, **perf_compare_context(pa, pb, label_a, label_b))
    return render_html("compare_eval.html", plotly, **eval_compare_context(pa, pb, label_a, label_b))


def write_comparison(
    a: str | Path,
    b: str | Path,
    output: str | Path | None = None,
    label_a: str | None = None,
    label_b: str | None = None,
) -> Path:
    """Write :func:`comparison_html` (self-contained) to a file; returns its path.

    ``output`` defaults to ``./comparison_<A>_vs_<B>.html`` in the current folder.
    """
    from evalscope.fsio import atomic_write_text
    from evalscope.report.compare import default_output

    html = comparison_html(a, b, label_a, label_b)
    pa, pb = Path(a).expanduser().resolve(), Path(b).expanduser().resolve()
    target = Path(output) if output else default_output(pa, pb)
    atomic_write_text(target, html, mode=0o644)
    return target


def try_write_report(folder: str | Path, plotly: str = "inline", partial: str | None = None) -> Path | None:
    """Write the run's report, logging (never raising) when it cannot: a report is a by-product,
    and a run that measured or scored everything must not fail because of it (``partial``: see
    :func:`write_report`)."""
    missing = missing_report_packages()
    if missing:  # a bare install: say so once, plainly, rather than fail deep inside the renderer
        log.warning(
            "report.html skipped: it needs %s, not installed (%s)", " and ".join(missing), INSTALL_HINT
        )
        return None
    try:
        path = write_report(folder, plotly=plotly, partial=partial)
    except ImportError as exc:
        log.warning("report.html skipped: %s (%s)", exc, INSTALL_HINT)
        return None
    except Exception as exc:  # noqa: BLE001 - see docstring
        log.warning("no report.html for %s: %s", folder, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return None
    log.info("report: %s", path)
    return path
