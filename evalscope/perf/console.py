"""Console output: a rich progress bar with live requests/s, and the summary tables."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


class ConsoleReporter:
    """Progress bar (only when enabled) and result tables; cheap no-ops when disabled."""

    def __init__(self, total: int, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console()
        self.total = total
        self._progress: Progress | None = None
        self._task = None
        self._t0 = 0.0
        self._base = 0
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rps]} req/s"), TimeElapsedColumn(),
                console=self.console, transient=False, refresh_per_second=5)
            self._progress.start()
            self._task = self._progress.add_task("perf", total=total, rps="-")

    def start_point(self, key: str, number: int) -> None:
        self._t0 = time.perf_counter()
        if self._progress is not None:
            self._base = int(self._progress.tasks[0].completed)
            self._progress.update(self._task, description=key)

    def update(self, done: int) -> None:
        if self._progress is None:
            return
        elapsed = time.perf_counter() - self._t0
        rps = (done - self._base) / elapsed if elapsed > 0 else 0.0
        self._progress.update(self._task, completed=done, rps=f"{rps:,.0f}")

    def end_point(self) -> None:
        pass

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def print_result(self, key: str, summary: dict[str, Any], percentiles: dict[str, Any]) -> None:
        """The summary and percentile tables of one sweep point."""
        print_result(self.console, key, summary, percentiles)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.1f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {x}" for k, x in v.items()) or "-"
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    return "-" if v is None else str(v)


def print_result(console: Console, key: str, summary: dict[str, Any], percentiles: dict[str, Any]) -> None:
    """Print one sweep point's summary and percentile tables."""
    t = Table(title=f"Benchmark summary: {key}", show_header=True, header_style="bold")
    t.add_column("Metric")
    t.add_column("Value", justify="right")
    for k, v in summary.items():
        if k not in ("Failure examples", "Warnings"):
            t.add_row(k, _fmt(v))
    console.print(t)
    p = Table(title="Percentiles", show_header=True, header_style="bold")
    cols = list(percentiles)
    for c in cols:
        p.add_column(c, justify="right")
    for i in range(len(percentiles["Percentiles"])):
        p.add_row(*(_fmt(percentiles[c][i]) for c in cols))
    console.print(p)
    for w in summary.get("Warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}")
