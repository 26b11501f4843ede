"""Playwright (Python) driving Debian's chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# The closed network refuses Chromium's background connections; these flags keep it quiet and fast.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    # Playwright's sync API runs an event loop in this thread while it is open. Django's connections
    # live in asgiref Locals, which see a running loop as another context: a session-wide browser
    # would hand every later test a fresh connection without the test database's serialized
    # contents. So one browser per test, closed before the next test starts.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # ORM calls made while the loop ran used that context's connection: close it here, or the
        # session outlives the test and the test database cannot be dropped at the end of the run.
        from django.db import connections

        connections.close_all()


@pytest.fixture
def new_page(browser):
    """new_page(ip=None, expected_statuses=()) -> a page in a browser context of its own (its own session: one per
    person in a workflow).

    `ip` is the person's own source address: the live server sees every browser at 127.0.0.1, a trusted proxy by
    default (PORTAL_TRUSTED_PROXIES), so each request carries X-Real-IP as production's reverse proxy would set it —
    people at different desks then have different addresses (audit trail, per-address lockout).

    Every script error, console error and failed request (a missing vendored asset, a 500 behind an htmx poll) on
    any of these pages fails the test at teardown — except Chromium's console line for a 4xx status the workflow
    expects (`expected_statuses`, e.g. the lockout's 429 on the login page)."""
    contexts, errors = [], []

    def _new(ip: str | None = None, expected_statuses: tuple[int, ...] = ()):
        expected = tuple(f"the server responded with a status of {code} " for code in expected_statuses)

        def console(msg):
            if msg.type == "error" and not (expected and any(e in msg.text for e in expected)):
                errors.append(f"{page.url}: console {msg.text}")

        headers = {"X-Real-IP": ip} if ip else {}
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                      extra_http_headers=headers)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: script error {exc}"))
        page.on("console", console)
        page.on("response", lambda r: r.status >= 500 and errors.append(f"{r.url}: HTTP {r.status}"))
        return page

    yield _new
    for context in contexts:
        context.close()
    assert not errors, "\n".join(errors)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def signed_in(live_server, new_page):
    """signed_in(username, ip=None) -> a new page (a session of its own, from source address `ip`: see new_page)
    signed in as that user through the login form, and through the verify step for a user who must use two-factor
    login: a confirmed TOTP device (made if missing) and the code of the current step, typed in as the person would."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.models import User
    from portal.services.twofactor import otp_required
    from tests.factories import PASSWORD

    def _open(username: str, ip: str | None = None):
        user = User.objects.get(username=username)
        device = None
        if otp_required(user):
            device = (TOTPDevice.objects.filter(user=user, confirmed=True).first()
                      or TOTPDevice.objects.create(user=user, name="浏览器测试", confirmed=True))
            # The same person may sign in twice within one 30-second step here (two windows of one workflow); a
            # code is accepted once (replay protection is tested in tests/portal/test_twofactor.py), so start over.
            TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, drift=0, throttling_failure_count=0,
                                                          throttling_failure_timestamp=None)
        page = new_page(ip)
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        if device is not None:
            page.wait_for_url(f"{live_server.url}/login/verify/**")
            page.fill("#id_code", f"{TOTP(device.bin_key).token():06d}")
            page.click("[data-testid=otp-verify-form] button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return _open


@pytest.fixture
def screenshot(page):
    def _shot(name: str, of=None) -> Path:
        """A full-page PNG of `of` (a page of another browser context), by default of the `page` fixture."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return _shot
