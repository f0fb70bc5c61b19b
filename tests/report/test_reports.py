"""Report files written at the end of real runs against the mock: they hold the engine's numbers,
load no script from the network, and keep model output inert."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evalscope.cli import main
from evalscope.report import ReportError, find_runs, write_comparison, write_report
from evalscope.report.page import fmt_num, json_island_text

from .conftest import XSS, island


def _tags(html: str) -> list[str]:
    from html.parser import HTMLParser

    tags: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Collect().feed(html)
    return tags


def _no_remote_scripts(html: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I), "a report must inline its scripts"
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", html, re.I)
    assert not re.search(r"@import|url\(\s*[\"']?https?:", html[:200_000] + html[-200_000:])
    # exactly one plotly.js bundle per report, not one per figure
    assert html.count("plotly.js v") <= 2 and html.count("<script>") == 2


def test_perf_report_holds_the_summary_numbers(perf_runs):
    a, _ = perf_runs
    run = Path(a["output_dir"])
    html = (run / "report.html").read_text(encoding="utf-8")  # written by run_perf itself
    _no_remote_scripts(html)
    data = island(html, "report-data")
    assert data["kind"] == "perf"
    assert [p["key"] for p in data["points"]] == ["parallel_1_number_5", "parallel_3_number_12"]
    for point in data["points"]:
        on_disk = json.loads((run / point["key"] / "benchmark_summary.json").read_text())
        assert point["summary"] == on_disk
        assert point["summary"] == a["results"][point["key"]]["metrics"]
        # the table shows the same numbers
        row = re.search(rf'<tr data-key="{point["key"]}">(.*?)</tr>', html, re.S).group(1)
        for key in ("Request throughput (req/s)", "Average latency (s)", "Succeed requests"):
            cell = re.search(rf'data-metric="{re.escape(key)}">([^<]*)<', row).group(1)
            assert cell == fmt_num(on_disk[key])
    # every chart is present: throughput, latency and TTFT across the sweep, capacity (req/s against p99
    # latency and p99 TTFT), 4 percentile curves, in flight and throughput over time, the timeline;
    # no failures -> no error chart
    for fig_id in (
        "sweep-1",
        "sweep-2",
        "sweep-3",
        "capacity-1",
        "capacity-2",
        "dist-1",
        "dist-2",
        "dist-3",
        "dist-4",
        "flow-1",
        "flow-2",
        "timeline-plot",
    ):
        assert island(html, f"{fig_id}-spec")["data"], fig_id
    assert 'id="no-errors"' in html
    # the percentile curves are drawn from the request records and pass through the engine's percentiles
    ttft = island(html, "dist-1-spec")
    assert "Time to first token" in ttft["layout"]["title"]["text"]
    assert ttft["layout"]["xaxis"]["title"]["text"].endswith("(ms)")
    assert [b["args"][0]["xaxis.type"] for b in ttft["layout"]["updatemenus"][0]["buttons"]] == [
        "linear",
        "log",
    ]
    for trace, point in zip(ttft["data"], data["points"], strict=True):
        assert trace["y"][0] == 0 and trace["y"][-1] == 100 and trace["x"] == sorted(trace["x"])
        pct = point["percentiles"]
        for q in ("50%", "90%", "99%"):
            engine_ms = pct["TTFT (s)"][pct["Percentiles"].index(q)] * 1000
            assert trace["x"][trace["y"].index(float(q[:-1]))] == pytest.approx(engine_ms, abs=1e-3)
    # TTFT across the sweep in ms, on its own chart with a log switch; p99 per point as the engine wrote it
    sweep_ttft = island(html, "sweep-3-spec")
    p99 = next(t for t in sweep_ttft["data"] if t["name"] == "p99")
    assert p99["y"] == [
        pytest.approx(p["percentiles"]["TTFT (s)"][p["percentiles"]["Percentiles"].index("99%")] * 1000)
        for p in data["points"]
    ]
    # capacity: one marker per sweep point at (p99 latency, req/s)
    spec = island(html, "capacity-1-spec")
    assert spec["layout"]["xaxis"]["title"]["text"] == "p99 latency (ms)"  # ms, as TTFT and the SLOs
    cap = spec["data"][0]
    assert cap["y"] == [p["summary"]["Request throughput (req/s)"] for p in data["points"]]
    assert cap["text"] == ["c=1", "c=3"]
    # requests in flight over time: the time-integral is the total busy time of all requests
    flow = island(html, "flow-1-spec")
    for trace, point in zip(flow["data"], data["points"], strict=True):
        assert max(trace["y"]) <= point["parallel"] + 1e-6
    # throughput over time: requests finishing per bin add up to the successful requests
    thr = island(html, "flow-2-spec")
    for point in data["points"]:
        trace = next(
            t
            for t in thr["data"]
            if t.get("yaxis") != "y2" and t["name"] == f"concurrency {point['parallel']}"
        )
        width = trace["x"][1] - trace["x"][0] if len(trace["x"]) > 1 else 1
        assert sum(trace["y"]) * width == pytest.approx(point["summary"]["Succeed requests"], rel=0.01)
    # percentiles with the sweep points side by side (TTFT in ms)
    table = re.search(r'<table class="side-by-side" data-column="ttft">(.*?)</table>', html, re.S).group(1)
    row99 = re.search(r"<tr class=\"p99\"><td>99%</td>(.*?)</tr>", table, re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row99)
    assert cells == [
        fmt_num(round(p["percentiles"]["TTFT (s)"][p["percentiles"]["Percentiles"].index("99%")] * 1000, 4))
        for p in data["points"]
    ]
    # the timeline has one segment per request (waiting + generating)
    timeline = island(html, "timeline-plot-spec")
    generating = next(t for t in timeline["data"] if t["name"] == "generating")
    assert sum(1 for x in generating["x"] if x is None) == 5 + 12


def test_perf_report_shows_errors_by_reason(perf_runs):
    _, b = perf_runs
    html = (Path(b["output_dir"]) / "report.html").read_text(encoding="utf-8")
    failures: dict[str, int] = {}
    for res in b["results"].values():
        for reason, n in res["metrics"]["Failures by reason"].items():
            failures[reason] = failures.get(reason, 0) + n
    assert failures, "the seeded mock injects failures"
    errors = island(html, "errors-plot-spec")
    drawn = {t["name"]: sum(t["y"]) for t in errors["data"]}
    assert drawn == failures
    timeline = island(html, "timeline-plot-spec")
    failed = next(t for t in timeline["data"] if t["name"] == "failed")
    assert sum(1 for x in failed["x"] if x is None) == sum(failures.values())


def test_eval_report_scores_states_and_samples(eval_runs):
    a, _ = eval_runs
    run = Path(a["output_dir"])
    html = (run / "report.html").read_text(encoding="utf-8")
    _no_remote_scripts(html)
    rep = a["result"]["ceval"]
    data = island(html, "report-data")
    overall = next(r for r in data["rows"] if r["subset"] == "OVERALL")
    assert (overall["score"], overall["stderr"], overall["counts"]) == (
        rep["score"],
        rep["stderr"],
        rep["counts"],
    )
    assert rep["counts"] == {"correct": 3, "wrong": 1, "unparsed": 1, "truncated": 0, "error": 1}
    subsets = {r["subset"]: r for r in data["rows"] if not r["overall"]}
    assert {k: v["score"] for k, v in subsets.items()} == {s["name"]: s["score"] for s in rep["subsets"]}
    # the chart: one bar per (benchmark, subset) with its standard error as the error bar
    # horizontal bars: the benchmark first, then its subsets best first, each with its standard error
    scores = island(html, "scores-plot-spec")["data"][0]
    assert scores["orientation"] == "h"
    subs = sorted(rep["subsets"], key=lambda s: -s["score"])
    assert scores["y"] == ["<b>ceval</b>"] + [f"ceval · {s['name']}" for s in subs]
    assert scores["x"] == [rep["score"]] + [s["score"] for s in subs]
    assert scores["error_x"]["array"] == [rep["stderr"]] + [s["stderr"] for s in subs]
    # the headline: score ± SE and the states as shares of the samples
    head = re.search(
        r'<div class="headline-card" data-benchmark="ceval">(.*?)</div>\s*</div>', html, re.S
    ).group(1)
    assert fmt_num(rep["score"]) in head and fmt_num(rep["stderr"]) in head
    total = sum(rep["counts"].values())
    for state, n in rep["counts"].items():
        if n:
            assert f"{state} {100 * n / total:.1f} %" in head
    # state cells: the share, with the count kept in data-count
    row = re.search(
        r'<tr class="overall" data-benchmark="ceval" data-subset="OVERALL">(.*?)</tr>', html, re.S
    ).group(1)
    for state, n in rep["counts"].items():
        cell = re.search(rf'data-state="{state}" data-count="(\d+)"[^>]*>([^<]*)<', row)
        assert int(cell.group(1)) == n and cell.group(2) == f"{100 * n / total:.1f} %"
    states = {t["name"]: t["y"][0] for t in island(html, "states-plot-spec")["data"]}
    assert states == rep["counts"]
    # the sample browser has every sample with prompt, raw output, extracted and gold answers
    samples = island(html, "samples")
    assert len(samples) == 6
    by_id = {s["id"]: s for s in samples}
    law0 = by_id["law/0"]
    assert (law0["state"], law0["extracted"], law0["gold"]) == ("correct", "C", "C")
    assert "根本大法" in law0["prompt"] and law0["output"].endswith("答案：C")
    assert [s["state"] for s in samples].count("error") == 1
    # a failed request was never scored: no score (the page shows n/a), tokens and latency per sample
    assert next(s for s in samples if s["state"] == "error")["score"] is None
    assert law0["tokens"] > 0 and law0["latency"] is not None


def test_eval_report_caps_the_sample_browser(eval_runs, tmp_path, monkeypatch):
    """A run with more samples than the browser's cap: the page embeds the first ones, says how many
    of how many and where all are, and its numbers still count every sample."""
    import shutil

    from evalscope.eval import read_run
    from evalscope.report import evaluation

    a, _ = eval_runs
    run = tmp_path / "run"
    shutil.copytree(a["output_dir"], run)
    (run / "report.html").unlink()
    html_uncapped = (Path(a["output_dir"]) / "report.html").read_text(encoding="utf-8")
    assert "showing the first" not in html_uncapped  # 6 samples, under the default cap

    monkeypatch.setattr(evaluation, "SAMPLE_CAP", 4)
    html = write_report(run).read_text(encoding="utf-8")
    assert "ceval: showing the first 4 of 6 samples; all are in predictions/mock-model/ceval.jsonl" in html
    file_ids = [json.loads(line)["id"] for line in (run / "predictions/mock-model/ceval.jsonl").open()]
    assert len(file_ids) == 6
    assert [s["id"] for s in island(html, "samples")] == file_ids[:4]
    # the tables and charts: every sample, as the engine's report has them
    rep = a["result"]["ceval"]
    overall = next(r for r in island(html, "report-data")["rows"] if r["subset"] == "OVERALL")
    assert overall["num"] == 6 and overall["counts"] == rep["counts"]
    assert {t["name"]: t["y"][0] for t in island(html, "states-plot-spec")["data"]} == rep["counts"]

    # read_run with a limit: the first samples, yet the totals and error counts of all of them
    full, capped = read_run(run), read_run(run, sample_limit=2)
    assert [s.id for s in capped.samples("ceval")] == file_ids[:2]
    assert capped.sample_total("ceval") == full.sample_total("ceval") == 6
    assert capped.error_counts == full.error_counts and full.error_counts["failed"] == 1


def test_model_output_is_escaped(eval_runs):
    a, _ = eval_runs
    html = (Path(a["output_dir"]) / "report.html").read_text(encoding="utf-8")
    # the raw markup never appears in the page, yet the JSON island gives the exact text back
    assert "<img src=x" not in html and "<script>alert" not in html
    # tokenized as a browser does, the page holds only its own elements: its islands and two scripts
    tags = _tags(html)
    assert "img" not in tags
    islands = len(re.findall(r'<script type="application/json" id="[a-z-]+">', html))
    assert islands == 5  # report-data, samples, state-colors, two figures
    assert tags.count("script") == islands + 2
    unparsed = next(s for s in island(html, "samples") if s["state"] == "unparsed")
    assert unparsed["output"] == XSS
    assert json_island_text({"t": "</script><!--"}) == '{"t":"\\u003c/script\\u003e\\u003c!--"}'


def test_cli_regenerates_and_compares(perf_runs, eval_runs, tmp_path, capsys, monkeypatch):
    a, b = perf_runs
    run_a = Path(a["output_dir"])
    (run_a / "report.html").unlink()
    assert main(["report", str(run_a)]) == 0
    assert f"perf report written to {run_a / 'report.html'}" in capsys.readouterr().out
    assert (run_a / "report.html").is_file()

    # an outputs folder holding several runs: a report in each
    root = run_a.parent.parent
    assert main(["report", str(root)]) == 0
    assert capsys.readouterr().out.count("report written to") == len(find_runs(root)) == 2

    # two runs: a comparison, by default in the current folder
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(run_a), b["output_dir"]]) == 0
    out = capsys.readouterr().out.strip()
    path = Path(out.removeprefix("comparison written to "))
    assert path.parent == tmp_path and path.name.startswith("comparison_") and path.suffix == ".html"
    html = path.read_text(encoding="utf-8")
    _no_remote_scripts(html)
    data = island(html, "report-data")
    row = next(r for r in data["rows"] if r["key"] == "parallel_3_number_12")
    got_a = a["results"]["parallel_3_number_12"]["metrics"]["Request throughput (req/s)"]
    got_b = b["results"]["parallel_3_number_12"]["metrics"]["Request throughput (req/s)"]
    assert row["Request throughput (req/s)"]["a"] == got_a and row["Request throughput (req/s)"]["b"] == got_b
    assert row["Request throughput (req/s)"]["delta_pct"] == pytest.approx(
        100 * (got_b - got_a) / got_a, abs=0.01
    )

    ea, eb = eval_runs
    target = tmp_path / "evals.html"
    assert main(["report", ea["output_dir"], eb["output_dir"], "-o", str(target)]) == 0
    data = island(target.read_text(encoding="utf-8"), "report-data")
    overall = next(r for r in data["rows"] if r["subset"] == "OVERALL")
    assert (overall["score_a"], overall["score_b"]) == (
        ea["result"]["ceval"]["score"],
        eb["result"]["ceval"]["score"],
    )
    # B answers C everywhere: the samples whose state differs are listed
    changed = sum(
        1
        for sa, sb in zip(
            island((Path(ea["output_dir"]) / "report.html").read_text(), "samples"),
            island((Path(eb["output_dir"]) / "report.html").read_text(), "samples"),
            strict=True,
        )
        if sa["state"] != sb["state"]
    )
    assert data["changed_total"] == changed > 0


def test_cli_errors(perf_runs, eval_runs, tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert f"error: {tmp_path}: no perf or eval run found" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["report", perf_runs[0]["output_dir"], eval_runs[0]["output_dir"]]) == 2
    assert "cannot compare a perf run" in capsys.readouterr().err
    with pytest.raises(ReportError, match="not a run folder"):
        write_report(tmp_path)
    with pytest.raises(ReportError):
        write_comparison(tmp_path, tmp_path)


def test_service_job_folder_is_found(perf_runs, tmp_path):
    # a service job folder holds the engine's <timestamp>/<name>/ run folder one level further down
    run = Path(perf_runs[0]["output_dir"])
    assert ("perf", run) in find_runs(run.parent.parent)
    assert find_runs(run) == [("perf", run)]
