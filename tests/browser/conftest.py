"""Real-browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser)."""

import os
import time
from pathlib import Path

import pytest

PASSWORD = "correct horse battery staple"  # every factory user's (tests.factories.UserFactory)
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Collects Content-Security-Policy violations the page reports, before any page script runs.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def pytest_sessionfinish(session):
    """The file test database (`STOREDESK_TEST_DB_FILE`, see settings.test) is deleted when
    the tests end; its write-ahead log and index files are not: remove them too."""
    from django.conf import settings

    name = str(settings.DATABASES["default"].get("TEST", {}).get("NAME") or "")
    if name and not Path(name).exists():
        for leftover in (Path(f"{name}-wal"), Path(f"{name}-shm")):
            leftover.unlink(missing_ok=True)


def _chromium_or_skip() -> str:
    """The Chromium executable; a skip (or, in CI, a failure) when it is absent."""
    if not Path(CHROMIUM_PATH).exists():
        reason = (
            f"Chromium not found at {CHROMIUM_PATH}: `apt-get install chromium` "
            "or set CHROMIUM_PATH"
        )
        if os.environ.get("STOREDESK_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM_PATH


@pytest.fixture
def page(transactional_db, live_server, monkeypatch):
    """A headless Chromium page that records console errors and CSP violations.

    Playwright's sync API runs an event loop in this thread while it is open, so the browser
    starts after the database fixtures and stops before they tear down; in between, the ORM
    calls the test makes itself are allowed explicitly.
    """
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(locale="en-US", timezone_id="Asia/Ho_Chi_Minh")
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.add_init_script(CSP_LISTENER)
        page.console_errors = []
        page.on(
            "console",
            lambda message: message.type == "error" and page.console_errors.append(message.text),
        )
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        yield page
        context.close()
        browser.close()
    _wait_for_live_streams_to_end()


def _wait_for_live_streams_to_end(timeout: float = 10.0) -> None:
    """A closed page's event streams end at their next heartbeat; waiting for that keeps one
    test's streams from polling the shared test database while the next test runs."""
    from storedesk.desk import live

    deadline = time.monotonic() + timeout
    while live._streams._value < live.MAX_STREAMS and time.monotonic() < deadline:
        time.sleep(0.1)


def sign_in(page, url: str, username: str) -> None:
    """Open `url`, sign in on the login page it leads to, and land back on `url`."""
    page.goto(url)
    assert "/accounts/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(url)
