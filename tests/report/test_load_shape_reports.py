"""The perf report of each load shape (multi-turn sessions, trace replay, ramp-up, prefix groups),
from real runs against the mock: every number in the page is checked against the engine's files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from evalscope.perf.output import MULTI_TURN_FILE, read_records
from evalscope.report.page import fmt_num
from evalscope.report.perf import load_perf_run

from .conftest import island


def _html(result: dict) -> str:
    return (Path(result["output_dir"]) / "report.html").read_text(encoding="utf-8")


def _only_point(result: dict) -> Path:
    (point,) = [p for p in Path(result["output_dir"]).iterdir() if p.name.startswith("parallel_")]
    return point


def _run_box(html: str) -> dict[str, str]:
    box = re.search(r'<section class="card" id="run-config">(.*?)</section>', html, re.S).group(1)
    cells = re.findall(r"<div>([^<]*)</div>", box)
    return dict(zip(cells[::2], cells[1::2], strict=True))


def _pct(point: Path, column: str, q: str) -> float:
    """Percentile ``q`` of ``column`` as the engine wrote it (benchmark_percentile.json, by column)."""
    table = json.loads((point / "benchmark_percentile.json").read_text())
    return table[column][table["Percentiles"].index(q)]


def _p99(point: Path, column: str) -> float:
    return _pct(point, column, "99%")


def _cell(html: str, row_re: str, key: str) -> str:
    row = re.search(row_re, html, re.S)
    assert row, row_re
    m = re.search(rf'data-metric="{re.escape(key)}">([^<]*)<', row.group(1))
    assert m, key
    return m.group(1)


def test_multi_turn_report_shows_turns_and_sessions(shape_runs):
    res = shape_runs["multi_turn"]
    html = _html(res)
    point = _only_point(res)
    multi = json.loads((point / MULTI_TURN_FILE).read_text())
    summary = json.loads((point / "benchmark_summary.json").read_text())
    data = island(html, "report-data")
    (p,) = data["points"]
    assert p["turns"] == multi["turns"] and p["sessions"] == multi["sessions"]
    # the per-turn table: one row per turn index, the engine's numbers
    assert [t["Turn"] for t in multi["turns"]] == [1, 2, 3, 4]
    table = re.search(rf'<table class="turns" data-key="{point.name}">(.*?)</table>', html, re.S).group(1)
    for turn in multi["turns"]:
        for key in ("Requests", "Average time to first token (s)", "P99 time to first token (s)",
                    "Average input tokens per request"):  # fmt: skip
            got = _cell(table, rf'<tr data-turn="{turn["Turn"]}">(.*?)</tr>', key)
            assert got == fmt_num(turn[key]), (turn["Turn"], key)
    # the sessions block
    for key in ("Sessions", "Completed sessions", "Turns sent", "Average session duration (s)",
                "Session throughput (sessions/s)"):  # fmt: skip
        got = _cell(html, rf'<table id="sessions-table">.*?<tr data-key="{point.name}">(.*?)</tr>', key)
        assert got == fmt_num(multi["sessions"][key]), key
    # TTFT p50 / p99 by turn, in ms
    fig = island(html, "turns-plot-spec")
    for q, key in (("p50", "P50 time to first token (s)"), ("p99", "P99 time to first token (s)")):
        trace = next(t for t in fig["data"] if t["name"].startswith(q))
        assert trace["x"] == [1, 2, 3, 4]
        assert trace["y"] == [pytest.approx(t[key] * 1000, abs=1e-3) for t in multi["turns"]]
    # the summary row shows the session columns; the run box says what ran
    row = rf'<tr data-key="{point.name}">(.*?)</tr>'
    assert _cell(html, row, "Sessions") == fmt_num(summary["Sessions"]) == "5"
    assert _cell(html, row, "Average first-turn TTFT (s)") == fmt_num(summary["Average first-turn TTFT (s)"])
    box = _run_box(html)
    assert box["multi-turn"] == "yes" and box["think time (s)"] == "0.001 – 0.005"
    assert 'id="trace-replay"' not in html


def test_trace_report_shows_the_send_time_error(shape_runs):
    res = shape_runs["trace"]
    html = _html(res)
    point = _only_point(res)
    summary = json.loads((point / "benchmark_summary.json").read_text())
    assert summary["Trace speed-up"] == 2
    for key in (
        "Trace speed-up",
        "Send-time error p50 (ms)",
        "Send-time error p99 (ms)",
        "Send-time error max (ms)",
    ):
        assert _cell(
            html, rf'<table id="trace-table">.*?<tr data-key="{point.name}">(.*?)</tr>', key
        ) == fmt_num(summary[key])
        assert _cell(
            html, rf'<table id="summary-table">.*?<tr data-key="{point.name}">(.*?)</tr>', key
        ) == fmt_num(summary[key])
    # the chart: one marker per request at its trace time (15 ms apart / 2) with its send-time error
    fig = island(html, "send-error-plot-spec")
    markers = next(t for t in fig["data"] if t["mode"] == "markers")
    records = read_records(point / "benchmark_data.db")
    assert len(markers["x"]) == len(records) == 30
    assert markers["x"] == [pytest.approx(i * 0.0075, abs=1e-6) for i in range(30)]
    want = [(r.start - r.intended) * 1000 for r in records]
    assert markers["y"] == [pytest.approx(w, abs=1e-3) for w in want]
    assert float(np.percentile(markers["y"], 50)) == pytest.approx(
        summary["Send-time error p50 (ms)"], abs=2e-3
    )
    p99 = next(t for t in fig["data"] if t["name"].startswith("p99"))
    assert p99["y"] == [summary["Send-time error p99 (ms)"]] * 2
    assert _run_box(html)["trace speed-up"] == "2.0"
    assert 'id="multi-turn"' not in html


def test_ramp_up_is_shaded_and_left_out_of_the_distributions(shape_runs):
    res = shape_runs["ramp"]
    html = _html(res)
    point = _only_point(res)
    summary = json.loads((point / "benchmark_summary.json").read_text())
    records = read_records(point / "benchmark_data.db")
    n_ramp = sum(r.ramp for r in records)
    assert 0 < n_ramp < len(records) == 30
    assert summary["Ramp-up requests (not measured)"] == n_ramp and summary["Total requests"] == 30 - n_ramp
    row = rf'<table id="summary-table">.*?<tr data-key="{point.name}">(.*?)</tr>'
    assert _cell(html, row, "Ramp-up (s)") == "0.3"
    assert _cell(html, row, "Ramp-up requests (not measured)") == str(n_ramp)
    # the distributions hold the measured requests only, and pass through the engine's percentiles
    (loaded,) = load_perf_run(Path(res["output_dir"]))
    assert len(loaded.values["latency"]) == summary["Succeed requests"] == 30 - n_ramp
    latency = island(html, "dist-4-spec")["data"][0]
    for q in ("50%", "90%", "99%"):
        engine = _pct(point, "Latency (s)", q)
        assert latency["x"][latency["y"].index(float(q[:-1]))] == pytest.approx(engine, abs=1e-6)
    # the over-time charts and the timeline draw every request, with the ramp's window shaded
    for fig_id in ("flow-1", "flow-2", "timeline-plot"):
        (shape,) = [
            s for s in island(html, f"{fig_id}-spec")["layout"]["shapes"] if s.get("name") == "ramp-up"
        ]
        assert shape["x1"] - shape["x0"] == pytest.approx(0.3, abs=1e-6)
    flow = island(html, "flow-1-spec")
    (shape,) = flow["layout"]["shapes"]
    t0 = min(r.start for r in records)
    assert all(shape["x0"] - 1e-3 <= r.start - t0 < shape["x1"] for r in records if r.ramp)
    assert all(r.start - t0 >= shape["x1"] - 1e-3 for r in records if not r.ramp)
    thr = next(t for t in island(html, "flow-2-spec")["data"] if t.get("yaxis") != "y2")
    width = thr["x"][1] - thr["x"][0]
    assert sum(thr["y"]) * width == pytest.approx(summary["Succeed requests"] + n_ramp, rel=0.01)
    assert 'id="ramp-note"' in html and _run_box(html)["ramp-up (s)"] == "0.3"


def test_prefix_groups_and_cache_busting_in_the_run_box(mock_server, evalscope_cli, word_tokenizer, tmp_path):
    srv = mock_server()
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", srv.url, "--dataset", "random", "--tokenizer-path", word_tokenizer,
        "--prefix-length", 16, "--prefix-count", 2, "--min-prompt-length", 4, "--max-prompt-length", 4,
        "--number", 4, "--parallel", 1, "--max-tokens", 2, "--cache-bust", "--outputs-dir", out,
        "--no-test-connection",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (report,) = out.rglob("report.html")
    box = _run_box(report.read_text(encoding="utf-8"))
    assert box["prefix groups"] == "2" and box["prefix length (tokens)"] == "16"
    assert box["cache busting (every prompt unique)"] == "yes"
    assert "multi-turn" not in box and "ramp-up (s)" not in box


def test_a_plain_run_has_no_load_shape_sections(perf_runs):
    a, _ = perf_runs
    html = _html(a)
    for section in (
        'id="multi-turn"',
        'id="trace-replay"',
        'id="ramp-note"',
        "Ramp-up (s)",
        "Send-time error",
    ):
        assert section not in html
    assert set(_run_box(html)) <= {"model", "url", "api", "dataset", "max_tokens", "stream", "rate"}


def test_slo_search_shows_every_point_the_capacity_and_why_it_stopped(search_run):
    run = Path(search_run["output_dir"])
    html = (run / "report.html").read_text(encoding="utf-8")
    search = json.loads((run / "slo_search.json").read_text())
    assert search["state"] == "finished" and search["points"]
    assert island(html, "report-data")["capacity"] == search
    cap = search["capacity"]
    assert cap["value"] is not None  # the mock's knee is above c=1
    assert re.search(r'<span id="capacity-value">([^<]*)<', html).group(1) == fmt_num(cap["value"])
    assert (
        re.search(r'<div id="capacity-rps">([^<]*)<', html).group(1)
        == f"{fmt_num(cap['throughput_rps'])} req/s"
    )
    stop = re.search(r'<div id="stop-reason">([^<]*)<', html).group(1)
    assert stop.startswith(search["stop_reason"]) and search["stop_detail"] in stop
    # every point tried, in order, with its pass/fail, its req/s and its p99 TTFT from its own folder
    table = re.search(r'<table id="search-table">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr data-key="([^"]+)" data-passed="(true|false)">(.*?)</tr>', table, re.S)
    assert [(k, p == "true") for k, p, _ in rows] == [(sp["key"], sp["passed"]) for sp in search["points"]]
    for (_, _, row), sp in zip(rows, search["points"], strict=True):
        assert re.search(r'data-metric="throughput_rps">([^<]*)<', row).group(1) == fmt_num(
            sp["throughput_rps"]
        )
        p99 = _p99(run / sp["key"], "TTFT (s)")
        assert re.search(r'data-metric="p99_ttft_ms">([^<]*)<', row).group(1) == fmt_num(round(p99 * 1000, 3))
        (check,) = sp["checks"]
        assert f'data-slo="ttft_p99">ttft_p99 {fmt_num(check["value_ms"])}' in row and check["verdict"] in row
    assert {p == "true" for _, p, _ in rows} == {True, False}  # the mock's knee: some pass, some fail
    # the TTFT chart: the SLO at 40 ms, the capacity's req/s as a line, its point starred, markers by verdict
    fig = island(html, "capacity-2-spec")
    assert "TTFT" in fig["layout"]["title"]["text"]
    lines = fig["layout"]["shapes"]
    assert [s["x0"] for s in lines if s["xref"] == "x"] == [40.0]
    assert [s["y0"] for s in lines if s["yref"] == "y"] == [cap["throughput_rps"]]
    star = next(t for t in fig["data"] if t["name"] == "capacity")
    assert star["y"] == [cap["throughput_rps"]]
    p99 = _p99(run / cap["point"], "TTFT (s)")
    assert star["x"] == [pytest.approx(p99 * 1000, abs=1e-6)]
    tried = fig["data"][0]
    by_load = sorted(search["points"], key=lambda sp: sp["load"])
    assert tried["text"] == [f"c={sp['load']}" for sp in by_load]
    assert tried["marker"]["color"] == ["#15803d" if sp["passed"] else "#b91c1c" for sp in by_load]
    # throughput against p99 TPOT too (issue 17.4)
    assert "TPOT" in island(html, "capacity-3-spec")["layout"]["title"]["text"]
