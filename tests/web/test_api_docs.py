"""/docs and /redoc work without internet: headless chromium with every request not to the service
blocked, so a page that reached for a CDN would stay blank."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest


def _offline(page, service_url: str) -> tuple[list[str], list[str]]:
    """Block every request that does not go to the service; returns (blocked urls, failed-status urls)."""
    host = urlsplit(service_url).netloc
    blocked: list[str] = []
    failed: list[str] = []

    def route(r):
        if urlsplit(r.request.url).netloc == host:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on(
        "response", lambda resp: failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None
    )
    return blocked, failed


def test_swagger_ui_renders_offline_and_shows_the_operations(page, web_service):
    blocked, failed = _offline(page, web_service.url)
    page.goto(web_service.url + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    paths = {s.replace("\u200b", "").strip() for s in summaries}
    assert {
        "/api/v1/eval",
        "/api/v1/perf",
        "/api/v1/jobs",
        "/api/v1/eval/invoke",
        "/api/v1/tasks/active",
    } <= paths
    assert page.locator(".info .title").inner_text().startswith("EvalScope service")
    assert blocked == [] and failed == [] and page.errors == []
    icon = page.locator("link[rel*='icon']").first.get_attribute("href")
    assert icon == "/favicon.ico"


def test_redoc_renders_offline(page, web_service):
    blocked, failed = _offline(page, web_service.url)
    page.goto(web_service.url + "/redoc")
    page.wait_for_selector("[data-section-id^='operation/']", state="attached", timeout=30_000)
    assert page.locator("[data-section-id^='operation/']").count() >= 10
    # ReDoc's bundle hard-codes its "powered by" logo on its CDN: that decorative image is all it misses.
    assert all(u.startswith("https://cdn.redoc.ly/") and u.endswith(".svg") for u in blocked), blocked
    assert failed == [] and page.errors == []


@pytest.mark.parametrize(
    "path",
    [
        "/favicon.ico",
        "/static/docs/swagger-ui-bundle.js",
        "/static/docs/swagger-ui.css",
        "/static/docs/redoc.standalone.js",
    ],
)
def test_docs_assets_and_favicon_need_no_token(web_service, path):
    r = httpx.get(web_service.url + path)
    assert r.status_code == 200 and len(r.content) > 1000
