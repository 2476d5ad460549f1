"""Browser fixtures: the real app served on a loopback port, driven by Debian's Chromium via Playwright."""
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
def live_server(app):
    """The same app and database as the other fixtures, served by a real WSGI server in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(chromium):
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop_page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    """Save a full-page PNG under test-artifacts/ so a person can look at it."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, base, username, app=None, password=None):
    """Sign in through the real form; completes the second-factor step when the account has one."""
    from tests.conftest import PASSWORD, totp_code

    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password or PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    if page.locator("#code").count():
        assert app is not None, "this account has a second factor: pass app= to login()"
        page.fill("#code", totp_code(app, username))
        page.click("form button[type=submit]")
        page.wait_for_load_state()
