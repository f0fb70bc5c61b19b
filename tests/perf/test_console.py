"""The perf console at 80 columns: tables whole (names and numbers never cut), the pause between
sweep points said on the progress line, and the report's path as the last line."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from evalscope.perf.api import run_perf
from evalscope.perf.console import _fmt, print_result

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@pytest.fixture
def measured(mock_server, tmp_path, prompts_file):
    """Summary and percentiles of a real run against the mock."""
    srv = mock_server(output_tokens=12)
    out = run_perf(
        {
            "model": "m",
            "url": srv.url + "/v1/chat/completions",
            "parallel": 2,
            "number": 8,
            "dataset": "line_by_line",
            "dataset_path": str(prompts_file),
            "outputs_dir": str(tmp_path / "out"),
        },
        show_progress=False,
        show_summary=False,
    )
    point = out["results"]["parallel_2_number_8"]
    return point["metrics"], point["percentiles"]


def render(width: int, summary: dict, percentiles: dict) -> str:
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    print_result(console, "parallel_2_number_8", summary, percentiles)
    console.file.close()
    return console.export_text()


def assert_whole(text: str, width: int, summary: dict, percentiles: dict) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    server = summary.get("Server metrics") or {}  # a table of its own: each of its rows whole too
    for name, value in [*summary.items(), *server.items()]:
        if name in ("Failure examples", "Warnings", "Server metrics"):
            continue
        row = next((line for line in lines if f" {name} " in line), None)
        assert row is not None, f"metric name {name!r} not on one line"
        if " " in _fmt(value):  # several words (failure reasons, notes) may wrap, at spaces only
            assert all(w in text for w in _fmt(value).split()), f"{name}: {_fmt(value)!r} cut"
        else:
            assert _fmt(value) in row, f"{name}: {_fmt(value)!r} not whole on its row"
    cells = {cell.strip() for line in lines for cell in line.split("│")}
    for column, values in percentiles.items():
        for word in column.split():
            assert word in text
        for v in values:
            assert _fmt(v) in cells, f"{column}: {_fmt(v)!r} cut or wrapped"


def test_tables_whole_at_80_columns(measured):
    summary, percentiles = measured
    assert summary["Succeed requests"] == 8
    text = render(80, summary, percentiles)
    assert_whole(text, 80, summary, percentiles)
    # nine percentile columns do not fit 80 columns: two tables, each with the percentile labels
    assert "Percentiles (1/2)" in text and "Percentiles (2/2)" in text
    # the 99% row once in each table (counted as a cell: a client-load warning may also say "99%")
    cells = [cell.strip() for line in text.splitlines() for cell in line.split("│")]
    assert cells.count("99%") == 2


def test_large_numbers_whole_at_80_and_narrower(measured):
    summary, percentiles = measured
    summary = {
        **summary,
        "Output token throughput (tok/s)": 1234567.891,
        "Failures by reason": {"HTTP 500": 3, "timeout": 2},
    }
    percentiles = {
        **percentiles,
        "Total (tok/s)": [1234567.89 + i for i in range(len(percentiles["Percentiles"]))],
    }
    for width in (80, 64):
        assert_whole(render(width, summary, percentiles), width, summary, percentiles)
    assert "1,234,567.9" in render(80, summary, percentiles)


def test_wide_console_keeps_one_table(measured):
    summary, percentiles = measured
    text = render(160, summary, percentiles)
    assert_whole(text, 160, summary, percentiles)
    assert "Percentiles (1/" not in text and "Percentiles" in text


def _run_in_pty(argv: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdout/stderr (so the progress bar shows), 80 columns."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "25", "TERM": "xterm"}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=cwd, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return rc, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def test_cli_at_80_columns_says_sleeping_and_prints_the_report(mock_server, tmp_path, prompts_file):
    srv = mock_server(output_tokens=6)
    rc, text = _run_in_pty(
        [
            sys.executable,
            "-m",
            "evalscope",
            "perf",
            "--model",
            "m",
            "--url",
            srv.url + "/v1/chat/completions",
            "--parallel",
            "1",
            "2",
            "--number",
            "2",
            "4",
            "--sleep-interval",
            "2",
            "--dataset",
            "line_by_line",
            "--dataset-path",
            str(prompts_file),
            "--outputs-dir",
            str(tmp_path / "out"),
        ],
        tmp_path,
    )
    assert rc == 0, text
    # the 2 s pause before the second sweep point is on the progress line (refreshed 5 times a second)
    assert "sleeping 2 s" in text
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last.startswith("report: ")
    report = Path(last.removeprefix("report: ").strip())
    assert report.name == "report.html" and report.is_file()
    assert report.parent.parent.parent == tmp_path / "out"
    tables = text[text.index("Benchmark summary") :]
    assert "…" not in tables
    assert "Average time to first token (s)" in tables and "Percentiles (2/2)" in tables
