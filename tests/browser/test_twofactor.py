"""Issue 14's browser check of two-factor login: a bureau reviewer without a device signs in, is sent to enrolment,
binds an authenticator from the secret on the page, keeps the backup codes, signs out, and signs in again with the
password and a fresh code — the code used to enrol is refused a second time."""

import base64
import re
import time

import pytest
from django_otp.oath import TOTP

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def password_step(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_a_reviewer_enrols_signs_out_and_signs_in_with_a_code(live_server, reviewer, page, screenshot):
    password_step(page, live_server.url)
    page.wait_for_url(f"{live_server.url}/account/two-factor/**")
    assert "必须使用双因素认证" in page.locator("[data-testid=otp-mandatory]").inner_text()
    assert page.locator("[data-testid=otp-qr]").get_attribute("src").startswith("data:image/svg+xml")
    assert page.locator("nav .dropdown-toggle").count() == 0  # no menus before the second factor
    screenshot("otp-enrol")

    secret = page.locator("[data-testid=otp-secret]").inner_text().replace(" ", "")
    totp = TOTP(base64.b32decode(secret))
    enrol_step, enrol_code = totp.t(), f"{totp.token():06d}"
    page.fill("#id_code", enrol_code)
    page.click("[data-testid=otp-enrol-form] button[type=submit]")
    codes = page.locator("[data-testid=backup-codes] li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)
    assert "双因素认证已启用" in page.locator("[data-testid=otp-enrolled]").inner_text()
    screenshot("otp-backup-codes")
    page.click("[data-testid=otp-continue]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "我的待办"

    page.locator(".dropdown-toggle").click()
    page.click("text=退出登录")
    page.wait_for_url("**/login/")

    password_step(page, live_server.url)
    page.wait_for_url(f"{live_server.url}/login/verify/**")
    page.fill("#id_code", enrol_code)  # the code that confirmed the enrolment: already used
    page.click("[data-testid=otp-verify-form] button[type=submit]")
    assert "已使用" in page.locator("[data-testid=otp-error]").inner_text()
    assert "/login/verify/" in page.url
    time.sleep(1.1)  # django-otp's throttle after one wrong code: the next attempt waits a second
    # The authenticator's next code once the 30-second step has moved on; within the same step, a backup code.
    fresh = f"{totp.token():06d}" if totp.t() > enrol_step else codes[0]
    page.fill("#id_code", fresh)
    page.click("[data-testid=otp-verify-form] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "我的待办"
    assert page.locator(".dropdown-toggle").count() == 1
