"""Report files opened from disk in chromium with every network request refused: the charts draw,
the key columns fit 1000 px, the sample browser filters and keeps its filters in the URL, injected
markup stays text, a comparison names B's regression, legends overlap nothing; a service-written report
holds no plotly.js yet works when served. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from report.conftest import (  # noqa: F401 - fixtures shared with tests/report
    XSS,
    eval_runs,
    perf_runs,
    search_run,
    shape_runs,
)

from evalscope.mock import MockConfig, MockServer
from evalscope.report import write_comparison, write_report

from .conftest import ARTIFACTS, TOKEN, WebService, shot

pytestmark = pytest.mark.timeout(240)

#: the summary's key columns: visible without scrolling sideways at 1000 px
KEY_COLUMNS = ["Req/s", "Output tok/s", "P50 latency (s)", "P99 latency (s)", "P99 TTFT (s)", "Failed"]


def open_offline(page, path: Path, width: int = 1360) -> list[str]:
    """Open a file:// report, refusing (and recording) every http(s) request it makes; console
    errors are collected in ``page.console_errors``."""
    refused: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    if not hasattr(page, "console_errors"):
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.set_viewport_size({"width": width, "height": 900})
    page.route("http://**/*", refuse)
    page.route("https://**/*", refuse)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    return refused


def _clean(page) -> None:
    assert page.errors == [] and page.console_errors == [], (page.errors, page.console_errors)


def _legends_overlap(page) -> list[str]:
    """Each plot whose legend box intersects its x-axis title or tick labels, or another plot's box."""
    return page.evaluate(
        """() => {
        const bad = [];
        const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
        document.querySelectorAll('div.plot.js-plotly-plot').forEach(div => {
          const legend = div.querySelector('g.legend');
          if (!legend) return;
          const lb = legend.getBoundingClientRect();
          if (lb.width === 0) return;
          div.querySelectorAll('g.xtick text, text.xtitle, g.xaxislayer-above text, g.updatemenu-container').forEach(t => {
            if (hit(lb, t.getBoundingClientRect())) bad.push(div.id + ': legend over ' + (t.textContent || t.className.baseVal));
          });
          const box = div.getBoundingClientRect();
          if (lb.bottom > box.bottom + 1 || lb.right > box.right + 1) bad.push(div.id + ': legend outside its plot');
        });
        return bad;
    }"""
    )


def test_perf_report_draws_offline_with_key_columns_at_1000px(page, perf_runs):  # noqa: F811
    _, b = perf_runs
    refused = open_offline(page, Path(b["output_dir"]) / "report.html")
    # throughput/latency/TTFT across the sweep, 2 capacity, 4 percentile curves, 2 over time, timeline, errors
    assert page.locator("div.plot.js-plotly-plot .main-svg").count() >= 13
    assert page.locator("#errors-plot .main-svg").count() >= 1
    assert page.locator("#summary-table tbody tr").count() == 2
    assert page.locator("table.side-by-side").count() == 4
    # the log switch of the TTFT chart changes its axis
    assert page.evaluate("document.getElementById('dist-1').layout.xaxis.type") == "linear"
    page.locator("#dist-1 .updatemenu-button").nth(1).click()
    page.wait_for_function("document.getElementById('dist-1').layout.xaxis.type === 'log'")
    assert refused == [] and _legends_overlap(page) == []
    _clean(page)
    shot(page, "report-perf.png")

    open_offline(page, Path(b["output_dir"]) / "report.html", width=1000)
    box = page.locator("#summary > .scroll").bounding_box()
    headers = page.locator("#summary-table thead th")
    titles = headers.all_inner_texts()
    for title in KEY_COLUMNS:
        th = headers.nth(titles.index(title)).bounding_box()
        assert th["x"] >= box["x"] and th["x"] + th["width"] <= box["x"] + box["width"] + 0.5, title
    # and the cells show the engine's numbers: failures per point as in the summary JSON
    fail_col = titles.index("Failed")
    for key, res in b["results"].items():
        cell = page.locator(f'#summary-table tr[data-key="{key}"] td').nth(fail_col)
        assert cell.inner_text() == str(res["metrics"]["Failed requests"])
    assert _legends_overlap(page) == []
    _clean(page)
    shot(page, "report-perf-1000.png")


def test_eval_report_filters_in_the_url_and_output_inert(page, eval_runs):  # noqa: F811
    a, _ = eval_runs
    report = Path(a["output_dir"]) / "report.html"
    refused = open_offline(page, report)
    assert page.locator("#scores-plot .main-svg").count() >= 1
    rows = page.locator("#sample-table tbody tr.sample-row")
    assert rows.count() == 6
    # the sample that was never scored (its request failed) says n/a
    assert page.locator("#sample-table tr[data-state='error'] td.score").inner_text() == "n/a"
    assert page.locator("#sample-table tr[data-state='correct'] td.tokens").first.inner_text().isdigit()
    page.select_option("#f-state", "correct")
    assert rows.count() == 3
    page.select_option("#f-subset", "logic")
    assert rows.count() == 1 and page.inner_text("#sample-count").startswith("1 of 6")
    assert "state=correct" in page.url and "subset=logic" in page.url
    # a reload (or a shared link) shows the same rows
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert rows.count() == 1 and page.input_value("#f-state") == "correct"
    assert page.input_value("#f-subset") == "logic"
    page.goto(report.as_uri() + "#state=unparsed")
    page.wait_for_selector("body[data-ready='1']")
    assert rows.count() == 1
    rows.first.click()
    texts = page.locator("tr.detail pre.text").all_inner_texts()
    assert XSS in texts and "逆否命题" in texts[0]
    assert page.locator("tr.detail img").count() == 0
    # ceval's subsets sit under their category, closed until clicked
    subset_rows = page.locator("#scores-table tr.subset")
    assert subset_rows.count() == 2 and not subset_rows.first.is_visible()
    page.locator("#scores-table tr.category").first.click()
    assert subset_rows.first.is_visible()
    assert page.dialogs == [] and refused == []
    _clean(page)
    shot(page, "report-eval.png")


def test_comparison_names_the_regression(page, perf_runs, eval_runs, tmp_path):  # noqa: F811
    a, b = perf_runs  # B: slower mock with injected failures
    perf = write_comparison(
        a["output_dir"], b["output_dir"], tmp_path / "perf.html", label_a="fast", label_b="slow"
    )
    assert open_offline(page, perf) == []
    fails = {
        r: sum(x["metrics"]["Failed requests"] for x in r_["results"].values())
        for r, r_ in (("a", a), ("b", b))
    }
    line = page.inner_text("#verdict-line")
    assert line.startswith("slow: ") and f"{fails['b'] - fails['a']:+d} failures" in line
    req_a = [x["metrics"]["Request throughput (req/s)"] for x in a["results"].values()]
    req_b = [x["metrics"]["Request throughput (req/s)"] for x in b["results"].values()]
    mean_pct = sum(100 * (vb - va) / va for va, vb in zip(req_a, req_b, strict=True)) / len(req_a)
    # the page rounds from the engine's unrounded figures, the test from the JSON's: 0.1 point apart at most
    shown = float(re.search(r"([+-][0-9.]+) % req/s", line).group(1))
    assert shown == pytest.approx(mean_pct, abs=0.11)
    assert page.inner_text("#verdict h2") == "Verdict: regression"
    first = page.locator("#regressions-table tbody tr").first
    assert "Failed" in first.inner_text()  # failures first
    color = first.locator("td").first.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(185, 28, 28)"
    assert page.locator("div.plot .main-svg").count() >= 6
    assert page.locator("#compare-table tbody tr").count() == 2
    assert _legends_overlap(page) == []
    _clean(page)
    shot(page, "report-compare-perf.png")

    ev = write_comparison(eval_runs[0]["output_dir"], eval_runs[1]["output_dir"], tmp_path / "eval.html")
    assert open_offline(page, ev) == []
    assert page.locator("#changed-table tbody tr").count() >= 1
    assert page.inner_text("#verdict-line").startswith("B: ") or "ceval" in page.inner_text("#verdict-line")
    assert _legends_overlap(page) == []
    _clean(page)
    shot(page, "report-compare-eval.png")


def test_service_report_holds_no_plotly_and_works_served(page, tmp_path):
    """A job's report.html leaves plotly.js out (one copy, served at /report-assets/); the file the
    service hands out has it back inline and draws offline; a copy opened from disk says why it
    has no charts."""
    with MockServer(MockConfig(ttft=0.002, itl=0.001, output_tokens=4), mode="thread") as mock:
        with WebService(tmp_path / "svc") as svc:
            body = {
                "model": "m",
                "url": mock.url + "/v1/chat/completions",
                "parallel": [1],
                "number": [3],
                "prompt": "hi",
                "max_tokens": 4,
            }
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            req = urllib.request.Request(svc.url + "/api/v1/jobs/perf", json.dumps(body).encode(), headers)
            job = json.loads(urllib.request.urlopen(req).read())
            deadline = time.monotonic() + 120
            while True:
                get = urllib.request.Request(f"{svc.url}/api/v1/jobs/{job['id']}", headers=headers)
                state = json.loads(urllib.request.urlopen(get).read())
                if state["state"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert state["state"] == "succeeded", state
            on_disk = Path(state["output_dir"]) / "report.html"
            assert on_disk.stat().st_size < 400_000  # no plotly.js in the job folder
            get = urllib.request.Request(
                f"{svc.url}/api/v1/jobs/{job['id']}/files/report.html", headers=headers
            )
            served = urllib.request.urlopen(get).read()
            assert len(served) > 4_000_000 and b"data-evalscope-plotly" not in served
            bundle = urllib.request.urlopen(svc.url + "/report-assets/plotly.min.js").read()  # no token
            assert len(bundle) > 4_000_000
    downloaded = tmp_path / "downloaded.html"
    downloaded.write_bytes(served)
    assert open_offline(page, downloaded) == []
    assert page.locator("div.plot.js-plotly-plot .main-svg").count() >= 8
    assert page.locator("#no-plotly").is_hidden()
    _clean(page)
    # the bare job-folder copy, opened offline: tables and a plain note, no charts, no script error
    refused = open_offline(page, on_disk)
    assert refused == [] or all("plotly" in u for u in refused)
    assert page.locator("#no-plotly").is_visible() and page.locator("#summary-table tbody tr").count() == 1
    assert page.errors == []
    # regenerating with the CLI's default makes it self-contained again
    assert write_report(on_disk.parent).stat().st_size > 4_000_000


def test_load_shape_sections_draw_offline(page, shape_runs, search_run):  # noqa: F811
    """Multi-turn (per-turn chart and tables), trace replay (send-time error), ramp-up (shaded
    window) and SLO search (points tried, capacity) reports draw offline with no page or console error."""
    mt = Path(shape_runs["multi_turn"]["output_dir"]) / "report.html"
    assert open_offline(page, mt) == []
    assert page.locator("#turns-plot .main-svg").count() >= 1
    assert page.locator("table.turns tbody tr").count() == 4  # turns 1..4
    assert page.locator("#sessions-table tbody tr").count() == 1
    assert _legends_overlap(page) == []
    _clean(page)
    shot(page, "report-perf-multi-turn.png")

    trace = Path(shape_runs["trace"]["output_dir"]) / "report.html"
    assert open_offline(page, trace) == []
    assert page.locator("#send-error-plot .main-svg").count() >= 1
    assert page.locator("#trace-table tbody tr").count() == 1
    assert _legends_overlap(page) == []
    _clean(page)
    page.locator("#trace-replay").screenshot(path=str(ARTIFACTS / "report-perf-trace.png"))

    ramp = Path(shape_runs["ramp"]["output_dir"]) / "report.html"
    assert open_offline(page, ramp) == []
    # the ramp's window is drawn as a shaded rectangle in the over-time charts
    assert page.locator("#flow-1 .shapelayer path, #flow-1 .layer-below .shapelayer path").count() >= 1
    assert page.locator("#ramp-note").is_visible()
    assert _legends_overlap(page) == []
    _clean(page)
    page.locator("#over-time").screenshot(path=str(ARTIFACTS / "report-perf-ramp.png"))

    search = Path(search_run["output_dir"])
    assert open_offline(page, search / "report.html") == []
    tried = json.loads((search / "slo_search.json").read_text())["points"]
    assert page.locator("#search-table tbody tr").count() == len(tried)
    assert page.locator("#capacity-value").is_visible()
    # throughput against p99 latency, TTFT and TPOT, each with the capacity's star drawn
    for k in (1, 2, 3):
        assert page.locator(f"#capacity-{k} .main-svg").count() >= 1
        assert page.locator(f"#capacity-{k} path.point").count() >= len(tried)
    assert _legends_overlap(page) == []
    _clean(page)
    page.locator("#capacity").screenshot(path=str(ARTIFACTS / "report-perf-slo-search.png"))
