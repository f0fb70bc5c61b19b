"""The web page's second generation in a real chromium (issue 18): the live page of a running job over
a slow mock that injects faults, outcome badges (a failed job is green nowhere), the job list at
1000 px, the compare action, and the review's defects. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from evalscope.mock import MockConfig, MockServer

from .conftest import FIXTURES, TOKEN, shot

pytestmark = pytest.mark.timeout(300)
GREEN = (22, 163, 74)  # the page's "succeeded" green (#16a34a)


@pytest.fixture(scope="module")
def slow_mock():
    """Slow enough that a 60-request sweep lasts seconds; every 4th-ish request answers 500."""
    cfg = MockConfig(ttft=0.08, itl=0.02, output_tokens=8, error_rate=0.25, error_codes=[500], seed=11)
    with MockServer(cfg, mode="thread") as srv:
        yield srv


@pytest.fixture(scope="module")
def fast_mock():
    with MockServer(MockConfig(ttft=0.0, itl=0.0, output_tokens=4), mode="thread") as srv:
        yield srv


@pytest.fixture
def api(web_service):
    with httpx.Client(
        base_url=web_service.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def console(page):
    """Console errors of every page the test opens (asserted empty at the end of each test)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    return messages


def login(page, url: str) -> None:
    """The token in localStorage before any script of the page runs (no 401 on the first load)."""
    page.add_init_script(  # the top page only: the sandboxed report frames have no storage
        f"if (window === window.top) localStorage.setItem('evalscope.token', {json.dumps(TOKEN)})"
    )
    page.goto(url + "/")


def perf_body(mock, parallel, number, **extra):
    return {
        "model": "mock-model",
        "url": mock.url + "/v1/chat/completions",
        "parallel": parallel,
        "number": number,
        "prompt": "hello",
        "max_tokens": 8,
        "sleep_interval": 0,
        **extra,
    }


def wait_state(api, job_id: str, states=("succeeded", "failed", "cancelled", "interrupted")) -> dict:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {states}")


def rgb(page, selector: str, prop: str = "background-color") -> tuple[int, ...]:
    value = page.eval_on_selector(selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")
    return tuple(int(x) for x in re.findall(r"\d+", value)[:3])


def test_live_page_updates_while_the_run_goes_and_a_cancelled_run_keeps_its_state(
    page, console, web_service, api, slow_mock
):
    login(page, web_service.url)
    job = api.post("/api/v1/jobs/perf", json=perf_body(slow_mock, [1, 2], [30, 200])).json()
    page.goto(f"{web_service.url}/jobs/{job['id']}")
    page.wait_for_selector("#job-live:not([hidden])")
    page.wait_for_function("document.getElementById('live-rps').textContent !== '–'")
    assert page.inner_text("#live-title") == "Live"
    # while it runs: no empty report frame, no re-run link
    assert page.is_hidden("#report-frame") and page.is_hidden("#job-rerun") and page.is_visible("#job-cancel")
    assert "point 1 of 2" in page.inner_text("#live-where")
    first_failed = int(page.inner_text("#live-failed"))
    first_where = page.inner_text("#live-where")
    # values change as requests finish, and the failures rise as the mock injects them
    page.wait_for_function(
        f"parseInt(document.getElementById('live-failed').textContent) > {first_failed}", timeout=60_000
    )
    page.wait_for_function(
        f"document.getElementById('live-where').textContent !== {json.dumps(first_where)}", timeout=60_000
    )
    page.wait_for_selector("#live-errors td[data-reason='http_500']")
    assert re.match(r"[\d.]+ ms / [\d.]+ ms", page.inner_text("#live-ttft"))
    assert re.match(r"[\d.]+ ms / [\d.]+ ms", page.inner_text("#live-itl"))
    assert page.inner_text("#live-log").strip()  # the log's tail
    # files appear while they are written: the first point's folder before the run ends
    page.wait_for_selector("#files-table a[data-path^='parallel_1_number_30/']", timeout=60_000)
    page.wait_for_function("document.getElementById('live-where').textContent.includes('point 2 of 2')")
    shot(page, "web-live-perf.png")
    # the failure count on the page is the live file's
    live = api.get(f"/api/v1/jobs/{job['id']}/live").json()["live"]
    assert live["failed"] >= int(page.inner_text("#live-failed")) > first_failed

    page.click("#job-cancel")
    page.wait_for_selector("#job-state[data-state='cancelled']")
    page.wait_for_function("document.getElementById('live-title').textContent.includes('partial')")
    assert not page.is_hidden("#job-live")
    assert "appears here" not in page.inner_text("#report-none")
    assert page.is_visible("#job-resume") and page.is_visible("#job-rerun")
    assert rgb(page, "#job-state") != GREEN
    # the service writes a partial report of the finished point; the page links and shows it
    page.wait_for_selector("#report-partial:not([hidden])", timeout=120_000)
    assert "cancelled after 1 of 2 sweep points" in page.inner_text("#report-partial")
    assert page.get_attribute("#report-partial-link", "href") == "#report-frame"
    page.wait_for_selector("#report-frame[data-path='report.html']:not([hidden])", timeout=60_000)
    assert page.frame_locator("#report-frame").locator("#partial-banner").inner_text().startswith("partial:")
    shot(page, "web-live-cancelled.png")
    # opened again later, the cancelled job still shows its last live state
    page.reload()
    page.wait_for_selector("#job-live:not([hidden])")
    assert "partial" in page.inner_text("#live-title")
    assert page.errors == [] and console == []


def test_eval_live_page_shows_partial_scores(page, console, web_service, api, slow_mock):
    login(page, web_service.url)
    body = {
        "model": "mock-model",
        "api_url": slow_mock.url + "/v1",
        "datasets": ["gsm8k"],
        "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        "eval_batch_size": 1,
        "max_retries": 0,
    }
    job = api.post("/api/v1/jobs/eval", json=body).json()
    page.goto(f"{web_service.url}/jobs/{job['id']}")
    page.wait_for_selector("#live-benchmarks td[data-benchmark='gsm8k']", timeout=60_000)
    final = wait_state(api, job["id"])
    page.wait_for_selector(f"#job-state[data-state='{final['state']}']")
    assert page.errors == [] and console == []


def test_a_failed_job_is_green_nowhere_and_offers_rerun_not_resume(
    page, console, web_service, api, dead_port
):
    login(page, web_service.url)
    body = {
        "model": "m-dead",
        "api_url": f"http://127.0.0.1:{dead_port}/v1",
        "datasets": ["gsm8k"],
        "limit": 2,
    }
    body["dataset_args"] = {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}
    job = api.post("/api/v1/jobs/eval", json=body).json()
    assert wait_state(api, job["id"])["state"] == "failed"
    page.goto(web_service.url + "/")
    row = f"#jobs-table tr[data-job-id='{job['id']}']"
    page.wait_for_selector(row)
    assert page.get_attribute(row, "data-outcome") == "failed"
    assert rgb(page, f"{row} .badge") != GREEN and rgb(page, f"{row} .progress .bar") != GREEN
    assert page.inner_text(f"{row} td.name a") == "m-dead · gsm8k"
    shot(page, "web-index-failed.png")

    page.goto(f"{web_service.url}/jobs/{job['id']}")
    page.wait_for_selector("#job-state[data-state='failed']")
    page.wait_for_selector("#job-error:not([hidden])")
    assert rgb(page, "#job-state") != GREEN and rgb(page, "#job-progress-bar") != GREEN
    # failed while loading (no run to continue): no Resume, a Re-run with changes instead
    assert page.is_hidden("#job-resume") and page.is_visible("#job-rerun")
    page.wait_for_function("!document.getElementById('report-none').textContent.includes('appears here')")
    # nothing finished: no partial report either, and the page says why
    assert "No report: the job failed before its run finished a sample" in page.inner_text("#report-none")
    # the configuration is a table, not raw JSON
    page.click("#job-config-box > summary")
    assert page.locator("#job-config th", has_text="api_url").count() == 1
    assert page.is_hidden("#job-config-json")
    shot(page, "web-job-failed.png")

    page.click("#job-rerun")
    page.wait_for_url(re.compile(r"/\?rerun="))
    form = page.locator("#eval-form")
    page.wait_for_function("document.querySelector('#eval-form [name=model]').value === 'm-dead'")
    assert form.locator("[name=api_url]").input_value() == body["api_url"]
    assert form.locator("[name=limit]").input_value() == "2"
    assert json.loads(form.locator("[name=extra]").input_value())["dataset_args"]["gsm8k"][
        "local_path"
    ].endswith("gsm8k")
    assert page.errors == [] and console == []


def test_forms_fractional_limit_perf_paths_and_one_message_per_error(page, console, web_service, fast_mock):
    login(page, web_service.url)
    perf = page.locator("#perf-form")
    assert (
        perf.locator("[name=dataset_path]").count() == 1
        and perf.locator("[name=tokenizer_path]").count() == 1
    )
    # a bad concurrency: the field is named once, not in the message and again in the list
    perf.locator("[name=model]").fill("mock-model")
    perf.locator("[name=url]").fill(fast_mock.url + "/v1/chat/completions")
    perf.locator("[name=parallel]").fill("0")
    perf.locator("[name=number]").fill("4")
    perf.locator("button[type=submit]").click()
    status = perf.locator(".form-status.error-text")
    status.wait_for()
    text = status.inner_text()
    assert text.count("parallel") == 1, text
    # a fractional limit (a share of the dataset) is accepted by the form and the service
    ev = page.locator("#eval-form")
    ev.locator("[name=model]").fill("mock-model")
    ev.locator("[name=api_url]").fill(fast_mock.url + "/v1")
    ev.locator("[name=datasets]").fill("gsm8k")
    ev.locator("[name=limit]").fill("0.5")
    ev.locator("[name=extra]").fill(
        json.dumps({"dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}})
    )
    assert ev.locator("[name=limit]").evaluate("e => e.checkValidity()")
    ev.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    page.wait_for_selector("#job-state[data-state='succeeded']", timeout=120_000)
    # the one 400 is the refused submission above (the browser logs every non-2xx answer)
    assert page.errors == [] and [m for m in console if "400 (Bad Request)" not in m] == []


def test_job_list_at_1000px_compare_action_and_report_without_nested_scroll(
    page, console, web_service, api, fast_mock
):
    login(page, web_service.url)
    a = api.post("/api/v1/jobs/perf", json=perf_body(fast_mock, [1, 2], [6, 8])).json()
    b = api.post("/api/v1/jobs/perf", json=perf_body(fast_mock, [1, 2], [6, 8])).json()
    for j in (a, b):
        assert wait_state(api, j["id"])["state"] == "succeeded"
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(web_service.url + "/")
    page.wait_for_selector(f"#jobs-table tr[data-job-id='{b['id']}'] td.result [data-metric='best_rps']")
    # every column is on screen and the table does not scroll sideways
    rights = page.eval_on_selector_all(
        "#jobs-table thead th", "ths => ths.map(t => t.getBoundingClientRect().right)"
    )
    assert len(rights) == 8 and max(rights) <= 1000, rights
    assert page.eval_on_selector("#jobs .scroll", "e => e.scrollWidth <= e.clientWidth + 1")
    row = f"#jobs-table tr[data-job-id='{a['id']}']"
    # green exactly when the run had no failure and no warning (a loaded machine may warn of client
    # distortion: then it is amber, like any run with warnings)
    outcome = page.get_attribute(row, "data-outcome")
    assert outcome in ("ok", "errors") and (rgb(page, f"{row} .badge") == GREEN) == (outcome == "ok")
    assert "req/s" in page.inner_text(f"{row} td.result") and "0 failed" in page.inner_text(
        f"{row} td.result"
    )
    shot(page, "web-index-1000px.png")

    page.check(f"#jobs-table tr[data-job-id='{a['id']}'] input.pick-job")
    page.check(f"#jobs-table tr[data-job-id='{b['id']}'] input.pick-job")
    page.fill("#compare-label-a", "baseline")
    page.fill("#compare-label-b", "candidate")
    page.click("#compare-go")
    page.wait_for_url(re.compile(r"/compare\?"))
    page.wait_for_selector("#report-frame:not([hidden])")
    assert page.inner_text("#compare-title") == "baseline vs candidate"
    frame = page.frame_locator("#report-frame")
    frame.locator("body[data-ready='1']").wait_for(timeout=30_000)
    assert frame.locator("text=baseline").count() >= 1 and frame.locator("text=candidate").count() >= 1
    shot(page, "web-compare.png")

    # the job's report takes its own height: one scrollbar (the page's)
    page.set_viewport_size({"width": 1360, "height": 900})
    page.goto(f"{web_service.url}/jobs/{a['id']}")
    page.wait_for_selector("#report-frame:not([hidden])")
    inner = page.frame_locator("#report-frame")
    inner.locator("body[data-ready='1']").wait_for(timeout=30_000)
    frame_el = page.locator("#report-frame")
    page.wait_for_function("document.getElementById('report-frame').clientHeight > 900")
    report = next(f for f in page.frames if f != page.main_frame)
    page.wait_for_function(
        "h => document.getElementById('report-frame').clientHeight + 8 >= h",
        arg=report.evaluate("document.documentElement.scrollHeight"),
    )
    # after the window narrows, every plot still fits its card
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_function("document.getElementById('report-frame').getBoundingClientRect().width < 1000")
    report.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].every("
        "p => p.querySelector('.main-svg').getBoundingClientRect().width <= p.parentElement.clientWidth + 1)"
    )
    assert frame_el.bounding_box()["width"] <= 1000
    shot(page, "web-perf-job-1000px.png")
    assert page.errors == [] and console == []
