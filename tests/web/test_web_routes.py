"""The web page's routes over HTTP (no browser): open without a token while the API is not, static
files from the package, no remote script, job ids escaped."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from evalscope.service import create_app

from .conftest import TOKEN


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # no lifespan: these routes need neither the store nor the workers
    app = create_app(work_dir=tmp_path_factory.mktemp("routes"), auth_token=TOKEN)
    return TestClient(app, raise_server_exceptions=False)


def test_pages_and_static_are_open_but_the_api_is_not(client):
    index = client.get("/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert (
        'id="perf-form"' in index.text and 'id="eval-form"' in index.text and 'id="jobs-table"' in index.text
    )
    # suggestions come from the engines' registries
    assert '<option value="gsm8k">' in index.text and "<option>openqa</option>" in index.text
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "Authorization" in js.text and "localStorage" in js.text
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code != 401
    # the open /static/ prefix gives nothing outside the package's static folder
    assert client.get("/static/%2e%2e/__init__.py").status_code == 404
    assert client.get("/static/%2e%2e%2f%2e%2e%2fapp.py").status_code == 404
    # ... and the open /jobs/ prefix never reaches the API
    assert client.get("/jobs/%2e%2e/api/v1/jobs").status_code == 404


def test_pages_load_nothing_remote(client):
    for path in ("/", "/jobs/abc"):
        html = client.get(path).text
        for src in re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html):
            assert src.startswith("/static/"), src


def test_job_page_escapes_the_id(client):
    page = client.get("/jobs/%3Cimg%20src=x%20onerror=alert(1)%3E")
    assert page.status_code == 200
    assert "<img" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
