"""Login lockout (django-axes, the 15-minute window of portal.lockout) and the login audit events."""

import datetime as dt
import re

import pytest
from axes.models import AccessFailureLog
from django.db.models import F
from django.utils import timezone

from portal.services.lockout import unlock
from tests.factories import PASSWORD
from tests.support import sign_in

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (brute force test)"


def attempt(client, username, password, ip="10.1.1.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, HTTP_USER_AGENT=UA)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def age_failures(minutes: int) -> None:
    """Move every recorded failure `minutes` into the past (instead of waiting)."""
    AccessFailureLog.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=minutes))


def test_five_failures_lock_the_account_the_right_password_is_refused_until_the_lock_ends(client, staff):
    for _ in range(4):
        assert attempt(client, "staff", "Wrong@Passw0rd").status_code == 200
    locked = attempt(client, "staff", "Wrong@Passw0rd")
    assert locked.status_code == 429
    body = locked.content.decode()
    until = timezone.localtime(AccessFailureLog.objects.latest("attempt_time").attempt_time + dt.timedelta(minutes=30))
    assert "已被锁定" in body and f"将于 {until:%Y-%m-%d %H:%M} 自动解锁" in body

    refused = attempt(client, "staff", PASSWORD)
    assert refused.status_code == 429 and "已被锁定" in refused.content.decode() and not logged_in(client)

    age_failures(29)
    assert attempt(client, "staff", PASSWORD).status_code == 429 and not logged_in(client)
    age_failures(2)  # 31 minutes after the locking failure
    assert attempt(client, "staff", PASSWORD).status_code == 302 and logged_in(client)


def test_failures_spread_over_more_than_15_minutes_do_not_lock(client, staff):
    for _ in range(4):
        attempt(client, "staff", "Wrong@Passw0rd")
    age_failures(16)
    assert attempt(client, "staff", "Wrong@Passw0rd").status_code == 200  # 1 within the window, not 5
    assert attempt(client, "staff", PASSWORD).status_code == 302 and logged_in(client)


def test_the_account_is_locked_whatever_address_the_failures_come_from(client, staff):
    for i in range(5):
        attempt(client, "staff", "Wrong@Passw0rd", ip=f"10.2.0.{i}")
    assert attempt(client, "staff", PASSWORD, ip="10.9.9.9").status_code == 429 and not logged_in(client)


def test_an_address_is_locked_for_every_account_and_the_others_are_not(client, staff, head):
    for i in range(5):
        attempt(client, f"guess{i}", "Wrong@Passw0rd", ip="10.3.3.3")
    assert attempt(client, "staff", PASSWORD, ip="10.3.3.3").status_code == 429 and not logged_in(client)
    assert attempt(client, "head", PASSWORD, ip="10.4.4.4").status_code == 302 and logged_in(client)


def test_login_failure_lockout_login_and_logout_are_audited_with_ip_and_user_agent(client, staff, audit_log):
    for _ in range(5):
        attempt(client, "staff", "Wrong@Passw0rd")
    attempt(client, "staff", PASSWORD)  # refused: locked
    failures = audit_log("portal.auth.login_failed")
    assert len(failures) == 6
    assert {(e.actor_label, e.result, str(e.ip), e.data["user_agent"]) for e in failures} == {
        ("staff", "failure", "10.1.1.1", UA)}
    assert [e.data["locked"] for e in failures] == [False] * 4 + [True, True]
    (lock,) = audit_log("portal.auth.locked_out")  # once, not again for the refused attempt
    assert (lock.actor_label, str(lock.ip), lock.data["ip_address"], lock.data["user_agent"]) == (
        "staff", "10.1.1.1", "10.1.1.1", UA)

    age_failures(31)
    attempt(client, "staff", PASSWORD)
    (login,) = audit_log("portal.auth.login")
    assert (login.actor, str(login.ip), login.data["user_agent"]) == (staff, "10.1.1.1", UA)
    client.post("/logout/", REMOTE_ADDR="10.1.1.1", HTTP_USER_AGENT=UA)
    (logout,) = audit_log("portal.auth.logout")
    assert (logout.actor, str(logout.ip), logout.data["user_agent"]) == (staff, "10.1.1.1", UA)


def test_the_security_admin_sees_the_locked_account_and_unlocks_it(client, staff, security_admin, audit_log):
    for _ in range(5):
        attempt(client, "staff", "Wrong@Passw0rd")
    sign_in(client, security_admin)
    page = client.get("/accounts/locks/").content.decode()
    assert "<code>staff</code>" in page and "<code>10.1.1.1</code>" in page
    assert client.post("/accounts/locks/", {"kind": "username", "value": "staff"}).status_code == 302
    (event,) = audit_log("portal.auth.unlocked")
    assert (event.actor, event.object_id, event.data["failures"]) == (security_admin, "username:staff", 5)
    assert "<code>staff</code>" not in client.get("/accounts/locks/").content.decode()
    client.logout()
    assert attempt(client, "staff", PASSWORD, ip="10.5.5.5").status_code == 302 and logged_in(client)


def test_the_locks_page_shows_what_each_lock_was_made_of_and_an_account_unlock_frees_its_own_address(
        client, staff, head, security_admin):
    for _ in range(5):
        attempt(client, "staff", "Wrong@Passw0rd", ip="10.1.1.1")  # the clerk's typing at their desk
    for ip in ("10.2.2.2", "10.3.3.3", "10.2.2.2", "10.3.3.3", "10.2.2.2"):
        attempt(client, "head", "Wrong@Passw0rd", ip=ip)
    for n in range(5):
        attempt(client, f"guess{n}", "Wrong@Passw0rd", ip="10.7.7.7")  # someone guessing accounts
    sign_in(client, security_admin)
    html = client.get("/accounts/locks/").content.decode()

    def row(kind, value):
        return re.search(rf'<tr data-testid="lock-{kind}-{value}">.*?</tr>', html, re.S).group()

    assert "来源地址：10.1.1.1<" in row("username", "staff")
    assert "来源地址：10.2.2.2、10.3.3.3<" in row("username", "head")
    assert "尝试的账户：staff<" in row("ip_address", "10.1.1.1")
    assert "尝试的账户：guess0、guess1、guess2、guess3、guess4<" in row("ip_address", "10.7.7.7")

    client.post("/accounts/locks/", {"kind": "username", "value": "staff"})
    html = client.get("/accounts/locks/").content.decode()
    # The desk's lock was made only of the clerk's failures: lifted with them. The others stay.
    assert 'data-testid="lock-username-staff"' not in html and 'data-testid="lock-ip_address-10.1.1.1"' not in html
    assert 'data-testid="lock-username-head"' in html and 'data-testid="lock-ip_address-10.7.7.7"' in html


def test_only_the_security_admin_unlocks(client, staff, system_admin):
    from portal.errors import PermissionDenied

    sign_in(client, system_admin)
    assert client.get("/accounts/locks/").status_code == 404
    with pytest.raises(PermissionDenied):
        unlock(actor=system_admin, kind="username", value="staff")


def test_axes_reset_command_lifts_the_lock_too(client, staff):
    from django.core.management import call_command

    for _ in range(5):
        attempt(client, "staff", "Wrong@Passw0rd")
    call_command("axes_reset_username", "staff")
    assert attempt(client, "staff", PASSWORD, ip="10.6.6.6").status_code == 302 and logged_in(client)
