"""A real browser: Debian's Chromium, headless, driven by Playwright against the portal served on 127.0.0.1.

Each test saves a screenshot of its final page under test-artefacts/ and fails if the page logged a JavaScript error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).resolve().parent.parent.parent / "test-artefacts"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Chromium off the network (this machine reaches nothing outside) and fit a root sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as pw:
        # Playwright's sync API keeps an event loop running in this thread; Django must still allow the ORM here.
        # Only while the browser runs: set for the whole session, the variable reached other tests' subprocesses
        # (`manage.py check --deploy` rightly fails with it).
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_errors() -> list[str]:
    """What the browser reported as errors so far; a test that provokes one on purpose removes it after checking."""
    return []


@pytest.fixture
def page(browser, request, browser_errors):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = browser_errors
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    yield page
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


@pytest.fixture
def staff_login(live_server, page, alice):
    """Log in through the real login form, as a person would."""

    def login(username: str = "alice", password: str = "alice-password-1"):
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")

    return login
