"""Browser fixtures: Debian's chromium driven by Playwright, and the service under uvicorn in a thread."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evalscope.service.background import BackgroundService

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
FIXTURES = REPO / "tests" / "fixtures" / "eval"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "web-test-token"


def chromium_binary() -> str | None:
    """The chromium executable: $EVALSCOPE_CHROMIUM, else Debian's /usr/bin/chromium, else on PATH."""
    for candidate in (
        os.environ.get("EVALSCOPE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless chromium (never downloaded: the system's binary, as .ci/run installs it)."""
    exe = chromium_binary()
    if exe is None:
        if os.environ.get("CI") == "true":  # .ci/run installs it: a CI run without it is broken
            pytest.fail("no chromium binary although CI=true (.ci/run should have installed it)")
        pytest.skip("no chromium binary (apt-get install chromium, as .ci/run does): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; JavaScript errors and dialogs (alert = injected script) are collected."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.dialogs = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    context.close()


def shot(pg, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/ (kept by CI) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    pg.screenshot(path=str(path), full_page=full_page)
    return path


class WebService(BackgroundService):
    """create_app(...) under uvicorn in a background thread, with a bearer token."""

    def __init__(self, work_dir: Path, **settings) -> None:
        super().__init__(
            work_dir=work_dir, max_concurrent_jobs=2, auth_token=TOKEN, data_dirs=[FIXTURES], **settings
        )


@pytest.fixture(scope="module")
def web_service(tmp_path_factory):
    """One service (token required) shared by a test module."""
    with WebService(tmp_path_factory.mktemp("web")) as svc:
        yield svc
