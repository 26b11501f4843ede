"""Issue 14's browser check of the login lockout, three people at three desks: a department clerk mistypes the
password five times and is locked out (the page says until when, and the right password is refused too); the
security administrator finds the clerk's account among the locks and unlocks it; the clerk signs in; the audit
administrator finds that unlock in the trail viewer and exports it.

Each person has a source address of their own (X-Real-IP, as the reverse proxy sets it): the clerk's five failures
lock both the account and the clerk's desk address, not the administrators' — as in an office, where the security
administrator is never locked out by a clerk's typing."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CLERK_IP, SECURITY_IP, AUDIT_IP = "10.8.1.23", "10.1.0.5", "10.1.0.6"
COOL_OFF = dt.timedelta(minutes=30)


def try_password(page, base_url: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def minutes_between(start: dt.datetime, end: dt.datetime) -> set[str]:
    """The wall-clock minutes (Beijing time, as the page shows them) from `start` to `end`."""
    start, end = timezone.localtime(start).replace(second=0, microsecond=0), timezone.localtime(end)
    minutes = set()
    while start <= end:
        minutes.add(f"{start:%Y-%m-%d %H:%M}")
        start += dt.timedelta(minutes=1)
    return minutes


def test_a_locked_clerk_is_unlocked_by_the_security_admin_and_the_audit_admin_finds_it(
        live_server, new_page, signed_in, screenshot, staff, security_admin, audit_admin):
    base = live_server.url

    # 1. The clerk mistypes five times: the fifth answer is the lock, with the time it ends.
    clerk = new_page(CLERK_IP, expected_statuses=(429,))  # the lock answers 429 Too Many Requests
    for _ in range(4):
        try_password(clerk, base, "Wrong@Passw0rd")
        assert "正确的用户名和密码" in clerk.locator(".alert-danger").inner_text()
        assert clerk.locator("[data-testid=locked]").count() == 0
    before = timezone.now()
    try_password(clerk, base, "Wrong@Passw0rd")
    after = timezone.now()
    message = clerk.locator("[data-testid=locked]").inner_text()
    assert "已被锁定" in message and "请联系安全管理员" in message
    assert any(f"将于 {minute} 自动解锁" in message for minute in minutes_between(before + COOL_OFF, after + COOL_OFF))
    screenshot("lockout-clerk-locked", of=clerk)

    try_password(clerk, base, PASSWORD)  # the right password, refused while locked
    assert "已被锁定" in clerk.locator("[data-testid=locked]").inner_text()
    assert clerk.url.startswith(f"{base}/login/")

    # 2. The security administrator, at another desk, opens 安全管理 → 锁定的账户与来源地址.
    security = signed_in(security_admin.username, ip=SECURITY_IP)
    security.get_by_role("link", name="安全管理").click()
    security.wait_for_url(base + reverse("security:index"))
    security.locator("[data-testid=security-tasks]").get_by_role("link", name="锁定的账户与来源地址").click()
    security.wait_for_url(base + reverse("locks"))
    account = security.locator("[data-testid=lock-username-staff]")
    address = security.locator(f"[data-testid='lock-ip_address-{CLERK_IP}']")
    assert "账户" in account.inner_text() and "来源地址" in address.inner_text()
    # The desk's address is locked only by the clerk's own failures: the page says so, and so unlocking the
    # account (the person the administrator has confirmed by phone) is what the clerk needs.
    assert "staff" in address.locator("[data-testid=lock-tried]").inner_text()
    screenshot("lockout-locks-page", of=security)
    with security.expect_navigation():
        account.get_by_role("button", name="解除锁定").click()
    assert "已解除锁定：staff" in security.locator(".alert-success").inner_text()
    # The account's failures are forgotten, and with them the address lock they made.
    assert security.locator("[data-testid=lock-username-staff]").count() == 0
    assert security.locator(f"[data-testid='lock-ip_address-{CLERK_IP}']").count() == 0
    assert "当前没有被锁定的账户或地址" in security.locator("[data-testid=locks]").inner_text()

    # 3. The clerk signs in with the right password and reaches the dashboard.
    try_password(clerk, base, PASSWORD)
    assert clerk.url == f"{base}/"
    assert clerk.locator("h1").inner_text() == "我的待办"

    # 4. The audit administrator finds the unlock in 审计查询, by action and by person, and exports it.
    auditor = signed_in(audit_admin.username, ip=AUDIT_IP)
    auditor.get_by_role("link", name="审计查询").click()
    auditor.wait_for_url(base + reverse("security:audit"))
    auditor.get_by_label("事件类型").fill("portal.auth.unlocked")
    auditor.get_by_label("操作人").fill(security_admin.username)
    with auditor.expect_navigation():
        auditor.get_by_role("button", name="查询").click()
    assert "共 1 条" in auditor.locator("[data-testid=audit-count]").inner_text()
    row = auditor.locator("[data-testid=audit-rows] tbody tr")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[1].startswith(security_admin.username)
    assert cells[2] == "安全管理员"
    assert cells[4].startswith("解除锁定")
    assert "username:staff" in cells[5] and "staff" in cells[5]
    assert cells[7] == SECURITY_IP
    screenshot("lockout-audit-unlock", of=auditor)

    with auditor.expect_download() as download_info:
        auditor.locator("[data-testid=audit-export]").click()
    download = download_info.value
    assert download.suggested_filename == f"audit-{timezone.localdate():%Y%m%d}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert [(r["操作主体"], r["事件类型"], r["事件名称"], r["对象编号"]) for r in rows] == [
        (security_admin.username, "portal.auth.unlocked", "解除锁定", "username:staff")]

    # The export is itself in the trail: the auditor finds it the same way.
    auditor.get_by_label("事件类型").fill("security.audit.exported")
    auditor.get_by_label("操作人").fill(audit_admin.username)
    with auditor.expect_navigation():
        auditor.get_by_role("button", name="查询").click()
    exported = auditor.locator("[data-testid=audit-rows] tbody tr")
    assert exported.count() == 1 and exported.locator("td").nth(7).inner_text() == AUDIT_IP
    event = AuditEvent.objects.get(action="security.audit.exported")
    assert (event.actor, event.data["rows"], event.data["completed"]) == (audit_admin, 1, True)
