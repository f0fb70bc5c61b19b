"""The web page in a real headless chromium: it loads (with the token flow), a perf job submitted
through the form completes against the mock and its report draws its plots, an eval job's sample
browser filters by state. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

import pytest

from evalscope.mock import MockConfig, MockServer, ScriptedAnswer

from .conftest import FIXTURES, TOKEN, shot

pytestmark = pytest.mark.timeout(240)

# gsm8k fixture rows -> scripted replies giving 2 correct, 1 wrong, 1 unparsed, 1 truncated, 1 error
GSM8K_ANSWERS = [
    ScriptedAnswer(match="Tom has 3 apples", reply="Tom has 3 + 4 = 7 apples. \\boxed{7}"),
    ScriptedAnswer(match="Mia buys 600 pens", reply="She pays $1,200.00 in total. The answer is $1,200.00"),
    ScriptedAnswer(match="Lena reads 5 pages", reply="ANSWER: 31"),
    ScriptedAnswer(
        match="Sam walks 2 km", reply="<b>I cannot</b> solve this. </script><script>alert('x')</script>"
    ),
    ScriptedAnswer(
        match="A train travels 60 km", reply="60 * 3 = 180 so \\boxed{180}", finish_reason="length"
    ),
    ScriptedAnswer(match="Ben saves 10 dollars", status=500, retry_after=0),
]


@pytest.fixture(scope="module")
def mock():
    with MockServer(
        MockConfig(ttft=0.01, itl=0.002, output_tokens=12, answers=GSM8K_ANSWERS, error_rate=0.0),
        mode="thread",
    ) as srv:
        yield srv


def login(page, url):
    """Open the page, see the token banner (the API answers 401), then save the token."""
    page.goto(url + "/")
    page.wait_for_selector("#banner:not([hidden])")
    assert "token" in page.inner_text("#banner").lower()
    page.fill("#token-input", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("#banner", state="hidden")


def wait_job_final(page, timeout_ms=120_000) -> str:
    page.wait_for_function(
        "['succeeded','failed','cancelled','interrupted']"
        ".includes(document.getElementById('job-state').getAttribute('data-state'))",
        timeout=timeout_ms,
    )
    return page.get_attribute("#job-state", "data-state")


def test_index_page_loads_and_lists_jobs(page, web_service):
    login(page, web_service.url)
    assert page.title() == "EvalScope service"
    assert page.is_visible("#eval-form") and page.is_visible("#perf-form")
    page.wait_for_selector("#jobs-count:has-text('job')")
    assert page.errors == []
    shot(page, "web-index.png")


def test_perf_job_from_the_form_completes_and_its_report_draws(page, web_service, mock):
    login(page, web_service.url)
    form = page.locator("#perf-form")
    form.locator("[name=model]").fill("mock-model")
    form.locator("[name=url]").fill(mock.url + "/v1/chat/completions")
    form.locator("[name=parallel]").fill("1 2")
    form.locator("[name=number]").fill("4 8")
    form.locator("[name=prompt]").fill("Say hello")
    form.locator("[name=max_tokens]").fill("12")
    form.locator("[name=extra]").fill(json.dumps({"sleep_interval": 0}))
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    job_id = page.url.rsplit("/", 1)[1]
    assert wait_job_final(page) == "succeeded", page.inner_text("#job-error")
    assert page.inner_text("#job-progress-text").startswith("12 / 12")

    page.wait_for_selector("#report-frame:not([hidden])")
    frame = page.frame_locator("#report-frame")
    frame.locator("body[data-ready='1']").wait_for(timeout=30_000)
    # every chart is drawn by plotly.js into an SVG (sweep x2, TTFT/TPOT/ITL/latency, timeline)
    plots = frame.locator("div.plot.js-plotly-plot")
    assert plots.count() >= 7
    assert frame.locator("div.plot .main-svg").count() >= 7
    assert frame.locator("#summary-table tbody tr").count() == 2
    assert frame.locator("#timeline-plot .main-svg").count() >= 1
    # the job's files are listed, report.html among them
    assert page.locator("#files-table a[data-path$='report.html']").count() == 1
    assert page.errors == []
    page.set_viewport_size({"width": 1360, "height": 1400})
    shot(page, "web-perf-job.png")
    # the job shows in the list with its final state
    page.goto(web_service.url + "/")
    page.wait_for_selector(f"#jobs-table tr[data-job-id='{job_id}'][data-state='succeeded']")
    shot(page, "web-index-jobs.png")


def test_eval_job_sample_browser_filters_by_state(page, web_service, mock):
    login(page, web_service.url)
    form = page.locator("#eval-form")
    form.locator("[name=model]").fill("mock-model")
    form.locator("[name=api_url]").fill(mock.url + "/v1")
    form.locator("[name=datasets]").fill("gsm8k")
    form.locator("[name=eval_batch_size]").fill("3")
    form.locator("[name=extra]").fill(
        json.dumps({"dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}, "max_retries": 0})
    )
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    assert wait_job_final(page) == "succeeded", page.inner_text("#job-error")

    page.wait_for_selector("#report-frame:not([hidden])")
    frame = page.frame_locator("#report-frame")
    frame.locator("body[data-ready='1']").wait_for(timeout=30_000)
    rows = frame.locator("#sample-table tbody tr.sample-row")
    assert rows.count() == 6
    expected = {"correct": 2, "wrong": 1, "unparsed": 1, "truncated": 1, "error": 1}
    for state, n in expected.items():
        frame.locator("#f-state").select_option(state)
        assert rows.count() == n, state
        assert {rows.nth(i).get_attribute("data-state") for i in range(n)} == {state}
        assert frame.locator("#sample-count").inner_text().startswith(f"{n} of 6")
    # the unparsed answer carries markup and a script: shown as text, never run
    frame.locator("#f-state").select_option("unparsed")
    rows.first.click()
    output = frame.locator("tr.detail pre.text").nth(1).inner_text()
    assert "</script><script>alert('x')</script>" in output and "<b>I cannot</b>" in output
    assert frame.locator("tr.detail b").count() == 0
    assert page.dialogs == [] and page.errors == []
    frame.locator("#f-state").select_option("")
    frame.locator("#scores-plot .main-svg").first.wait_for()
    page.set_viewport_size({"width": 1360, "height": 1400})
    shot(page, "web-eval-job.png")
