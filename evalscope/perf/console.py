"""Console output: a rich progress bar with live requests/s, and the summary tables."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from evalscope.perf.results import PointMetrics, PointPercentiles, PointResult

#: summary keys left out of the table (printed as warnings, or too long for a cell)
_NOT_IN_TABLE = (
    PointMetrics.key("failure_examples"),
    PointMetrics.key("warnings"),
    PointMetrics.key("server_metrics"),  # a table of its own
)


class ConsoleReporter:
    """Progress bar (only when enabled) and result tables; cheap no-ops when disabled."""

    def __init__(self, total: int, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console()
        self.total = total
        self._progress: Progress | None = None
        self._task = TaskID(0)  # replaced by add_task when the bar is on
        self._t0 = 0.0
        self._base = 0
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rps]} req/s"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
                refresh_per_second=5,
            )
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

    def sleeping(self, seconds: float) -> None:
        """Say so on the progress line during the pause between sweep points (``sleep_interval``):
        a bar standing still for seconds otherwise looks like a hung run."""
        if self._progress is not None:
            self._progress.update(self._task, description=f"sleeping {seconds:g} s", rps="-")

    def end_point(self) -> None:
        pass

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def print_result(self, key: str, result: PointResult) -> None:
        """The summary and percentile tables of one sweep point."""
        print_result(
            self.console,
            key,
            result.metrics.model_dump(mode="json"),
            result.percentiles.model_dump(mode="json"),
        )
        if result.turns is not None:
            print_turns(self.console, result)


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
    # Metric names stay on one line; a long value (failure reasons) folds instead.
    t.add_column("Metric", no_wrap=True)
    t.add_column("Value", justify="right", overflow="fold")
    # an embeddings/rerank point: no rows or columns for what it cannot have (TTFT, output tokens)
    shown = PointMetrics.shown_keys(summary)
    for k in shown:
        if k not in _NOT_IN_TABLE:
            t.add_row(k, _fmt(summary[k]))
    console.print(t)
    input_only = summary.get(PointMetrics.key("avg_inputs")) is not None
    percentiles = PointPercentiles.shown(percentiles, input_only)
    cols = list(percentiles)
    rows = [[_fmt(percentiles[c][i]) for c in cols] for i in range(len(percentiles["Percentiles"]))]
    groups = _column_groups(console.width, cols, rows)
    for n, group in enumerate(groups, 1):
        title = "Percentiles" if len(groups) == 1 else f"Percentiles ({n}/{len(groups)})"
        p = Table(title=title, show_header=True, header_style="bold")
        for c, width in group:
            p.add_column(cols[c], justify="right", width=width)
        for row in rows:
            p.add_row(*(row[c] for c, _ in group))
        console.print(p)
    server = summary.get(PointMetrics.key("server_metrics"))
    if server:
        s = Table(title="Server metrics (the server's own /metrics)", show_header=True, header_style="bold")
        s.add_column("Metric", no_wrap=True)
        s.add_column("Value", justify="right", overflow="fold")
        for k, v in server.items():
            s.add_row(k, _fmt(v))
        console.print(s)
    for w in summary.get(PointMetrics.key("warnings"), []):
        console.print(f"[yellow]warning:[/yellow] {w}")


#: the per-turn table's columns: (TurnMetrics field, header)
_TURN_COLUMNS = (
    ("turn", "Turn"),
    ("requests", "Requests"),
    ("succeed_requests", "Succeed"),
    ("avg_ttft", "Avg TTFT (s)"),
    ("p50_ttft", "P50 TTFT (s)"),
    ("p99_ttft", "P99 TTFT (s)"),
    ("avg_latency", "Avg latency (s)"),
    ("avg_input_tokens", "Avg input tokens"),
    ("avg_output_tokens", "Avg output tokens"),
)


def print_turns(console: Console, result: PointResult) -> None:
    """A multi-turn point's table per turn index (turn 1 vs later turns shows the prefix cache) and its
    session figures."""
    headers = [h for _, h in _TURN_COLUMNS]
    rows = [[_fmt(getattr(t, f)) for f, _ in _TURN_COLUMNS] for t in result.turns or []]
    groups = _column_groups(console.width, headers, rows)
    for n, group in enumerate(groups, 1):
        title = "Per turn" if len(groups) == 1 else f"Per turn ({n}/{len(groups)})"
        p = Table(title=title, show_header=True, header_style="bold")
        for c, width in group:
            p.add_column(headers[c], justify="right", width=width)
        for row in rows:
            p.add_row(*(row[c] for c, _ in group))
        console.print(p)
    if result.sessions is not None:
        t = Table(title="Sessions", show_header=True, header_style="bold")
        t.add_column("Metric", no_wrap=True)
        t.add_column("Value", justify="right")
        for k, v in result.sessions.model_dump(mode="json").items():
            t.add_row(k, _fmt(v))
        console.print(t)


def _column_groups(
    width: int, headers: list[str], rows: list[list[str]]
) -> list[list[tuple[int, int | None]]]:
    """Split a table's columns into tables that fit ``width`` without cutting a number or a word.

    Returns groups of ``(column index, width or None)``; the first column (the row labels) starts
    every group.  A column needs its longest cell or header word (headers wrap at spaces), plus two
    spaces of padding and one border.  When a group's natural width does not fit, its widths are set
    here: rich would otherwise shrink the widest columns below their longest word and cut it.
    """

    def least(c: int) -> int:
        return max(*(len(w) for w in headers[c].split()), *(len(r[c]) for r in rows), 1)

    def natural(c: int) -> int:
        return max(len(headers[c]), *(len(r[c]) for r in rows), 1)

    groups: list[list[int]] = []
    current = [0]
    used = 1 + least(0) + 3  # the left border and the label column
    for c in range(1, len(headers)):
        if len(current) > 1 and used + least(c) + 3 > width:
            groups.append(current)
            current, used = [0], 1 + least(0) + 3
        current.append(c)
        used += least(c) + 3
    groups.append(current)
    # Same number of tables, columns shared out evenly when that fits too (5 + 4, not 7 + 2).
    rest, k = list(range(1, len(headers))), len(groups)
    even = [[0, *rest[i * len(rest) // k : (i + 1) * len(rest) // k]] for i in range(k)]
    if all(1 + sum(least(c) + 3 for c in g) <= width for g in even):
        groups = even

    sized: list[list[tuple[int, int | None]]] = []
    for group in groups:
        if 1 + sum(natural(c) + 3 for c in group) <= width:
            sized.append([(c, None) for c in group])
            continue
        spare = width - 1 - sum(least(c) + 3 for c in group)
        widths: list[tuple[int, int | None]] = []
        for c in group:  # spare room widens headers from the left, so fewer of them wrap
            grow = max(0, min(spare, natural(c) - least(c)))
            spare -= grow
            widths.append((c, least(c) + grow))
        sized.append(widths)
    return sized
