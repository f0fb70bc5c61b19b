"""An SLO search job on the web page (real chromium): the live card names the load being measured and
the loads decided with their verdicts while it runs; the job list's headline names the capacity found."""

from __future__ import annotations

import time

import httpx
import pytest

from evalscope.mock import MockConfig, MockServer

from .conftest import TOKEN, shot

pytestmark = pytest.mark.timeout(300)


def test_search_job_live_card_and_capacity_headline(page, web_service):
    # 4 slots of 100 ms: the p90 TTFT SLO of 150 ms holds up to 4 concurrent requests
    cfg = MockConfig(max_num_seqs=4, ttft=0.1, output_tokens=4, tokens_per_chunk=4)
    with (
        MockServer(cfg, mode="thread") as mock,
        httpx.Client(
            base_url=web_service.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as api,
    ):
        body = {"model": "m", "url": mock.url, "prompt": "hi", "max_tokens": 4, "workers": 1,
                "slo": ["ttft_p90:150ms"], "search": "concurrency", "search_start": 2,
                "search_requests": 40, "search_max_requests": 1000}  # fmt: skip
        job = api.post("/api/v1/jobs/perf", json=body).json()
        page.add_init_script(f"if (window === window.top) localStorage.setItem('evalscope.token', '{TOKEN}')")
        page.goto(f"{web_service.url}/jobs/{job['id']}")
        page.wait_for_function(
            "document.getElementById('live-where').textContent.includes('capacity search (concurrency')",
            timeout=60_000,
        )
        assert "ttft p90 <= 150 ms" in page.inner_text("#live-where")
        # a decided load appears with its verdict while the search still runs
        page.wait_for_selector("#live-points tbody td[data-verdict]", timeout=60_000)
        first = page.inner_text("#live-points tbody tr:first-child td:first-child")
        assert first.startswith("load 2 pass") and "parallel_2_number_" in first
        assert "now " in page.inner_text("#live-where") or "stopped" in page.inner_text("#live-where")
        deadline = time.monotonic() + 120
        while (final := api.get(f"/api/v1/jobs/{job['id']}").json())["state"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, final
            time.sleep(0.2)
    assert final["state"] == "succeeded", final["error"]
    cap = final["summary"]["perf"]["capacity"]
    page.goto(web_service.url + "/")
    cell = page.wait_for_selector(f"#jobs-table tr[data-job-id='{job['id']}'] [data-metric='capacity']")
    text = cell.inner_text()
    assert f"capacity {cap['value']} concurrent requests" in text
    assert f"{cap['throughput_rps']:.2f} req/s" in text
    assert ("(not clear)" in text) is (not cap["clear"])
    shot(page, "web-slo-search-list.png")
    assert page.errors == []
