"""Report files opened from disk in chromium with every network request refused: the charts draw,
the sample browser filters, injected markup stays text. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from report.conftest import XSS, eval_runs, perf_runs  # noqa: F401 - fixtures shared with tests/report

from evalscope.report import write_comparison

from .conftest import shot

pytestmark = pytest.mark.timeout(180)


def open_offline(page, path: Path) -> list[str]:
    """Open a file:// report, refusing (and recording) every http(s) request it makes."""
    refused: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    page.route("http://**/*", refuse)
    page.route("https://**/*", refuse)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    return refused


def test_perf_report_draws_offline(page, perf_runs):  # noqa: F811
    _, b = perf_runs
    refused = open_offline(page, Path(b["output_dir"]) / "report.html")
    assert page.locator("div.plot.js-plotly-plot .main-svg").count() >= 8  # incl. the errors chart
    assert page.locator("#errors-plot .main-svg").count() >= 1
    assert page.locator("#summary-table tbody tr").count() == 2
    assert refused == [] and page.errors == []
    shot(page, "report-perf.png")


def test_eval_report_filters_offline_and_keeps_output_inert(page, eval_runs):  # noqa: F811
    a, _ = eval_runs
    refused = open_offline(page, Path(a["output_dir"]) / "report.html")
    assert page.locator("#scores-plot .main-svg").count() >= 1
    rows = page.locator("#sample-table tbody tr.sample-row")
    assert rows.count() == 6
    page.select_option("#f-state", "correct")
    assert rows.count() == 3
    page.select_option("#f-subset", "logic")
    assert rows.count() == 1 and page.inner_text("#sample-count").startswith("1 of 6")
    page.select_option("#f-subset", "")
    page.select_option("#f-state", "unparsed")
    rows.first.click()
    texts = page.locator("tr.detail pre.text").all_inner_texts()
    assert XSS in texts and "逆否命题" in texts[0]
    assert page.locator("tr.detail img").count() == 0
    assert page.dialogs == [] and refused == [] and page.errors == []
    shot(page, "report-eval.png")


def test_comparisons_draw_offline(page, perf_runs, eval_runs, tmp_path):  # noqa: F811
    perf = write_comparison(perf_runs[0]["output_dir"], perf_runs[1]["output_dir"], tmp_path / "perf.html")
    assert open_offline(page, perf) == []
    assert page.locator("div.plot .main-svg").count() >= 4
    assert page.locator("#compare-table tbody tr").count() == 2
    shot(page, "report-compare-perf.png")
    ev = write_comparison(eval_runs[0]["output_dir"], eval_runs[1]["output_dir"], tmp_path / "eval.html")
    assert open_offline(page, ev) == []
    assert page.locator("#changed-table tbody tr").count() >= 1
    assert page.errors == []
    shot(page, "report-compare-eval.png")
