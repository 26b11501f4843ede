"""Issue 14 item 1: the own password change page, the 90-day change for admin and bureau roles, inactive accounts
disabled by the beat job."""

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from portal.choices import Role
from portal.models import PasswordHistory, User
from portal.tasks import disable_inactive_task
from tests.factories import PASSWORD, make_user
from tests.support import sign_in

pytestmark = pytest.mark.django_db

NEW = "Neu#Passw0rd2026"


def age_password(user, days: int) -> None:
    PasswordHistory.objects.filter(user=user).update(set_at=timezone.now() - dt.timedelta(days=days))


def test_every_role_has_the_change_page_in_its_menu(web_as, staff, reviewer):
    for user in (staff, reviewer):
        page = web_as(user).get("/account/password/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'href="/account/password/"' in html and "修改密码" in html and "旧密码" in html


def test_change_is_audited_with_ip_and_user_agent(web_as, staff, audit_log):
    client = web_as(staff)
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": NEW,
                                                  "new_password2": NEW},
                           HTTP_USER_AGENT="pytest-agent", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    staff.refresh_from_db()
    assert check_password(NEW, staff.password)
    (event,) = audit_log("portal.auth.password_changed")
    assert event.actor_id == staff.pk and event.data["user_agent"] == "pytest-agent" and str(event.ip) == "10.1.2.3"
    assert client.get("/").status_code == 200  # still signed in
    assert PasswordHistory.objects.filter(user=staff).count() == 2


def test_the_policy_refuses_in_chinese_and_nothing_is_audited(web_as, staff, audit_log):
    page = web_as(staff).post("/account/password/", {"old_password": PASSWORD, "new_password1": PASSWORD,
                                                     "new_password2": PASSWORD})
    assert page.status_code == 200
    assert "最近 5 次" in page.content.decode()
    assert audit_log("portal.auth.password_changed") == []


def test_fresh_users_and_factories_are_not_caught(web_as, reviewer, system_admin):
    for user in (reviewer, system_admin):
        assert PasswordHistory.objects.filter(user=user).exists()
        assert web_as(user).get("/").status_code == 200


def test_an_old_password_of_a_bureau_role_sends_to_the_change_page(web_as, reviewer, api_as):
    age_password(reviewer, 91)
    client = web_as(reviewer)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/account/password/?expired=1"
    page = client.get("/account/password/?expired=1")
    assert page.status_code == 200 and 'data-testid="password-expired"' in page.content.decode()
    assert client.get("/static/css/portal.css").status_code != 302
    api = api_as(reviewer).get("/api/v1/")
    assert api.status_code == 403 and api.json()["code"] == "password_expired"
    client.post("/account/password/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert client.get("/").status_code == 200



def test_staff_roles_and_young_passwords_are_not_caught(web_as, staff, reviewer):
    age_password(staff, 400)
    age_password(reviewer, 89)
    assert web_as(staff).get("/").status_code == 200
    assert web_as(reviewer).get("/").status_code == 200


def test_inactive_accounts_are_disabled_once_each(staff, head, system_admin, audit_log):
    long_ago = timezone.now() - dt.timedelta(days=91)
    User.objects.filter(pk__in=[staff.pk, system_admin.pk]).update(last_login=long_ago)
    fresh = make_user(Role.DEPT_STAFF, username="fresh")
    User.objects.filter(pk=head.pk).update(last_login=None, date_joined=long_ago)
    assert disable_inactive_task.apply().get() == 2
    assert set(User.objects.filter(is_active=False).values_list("username", flat=True)) == {"staff", "head"}
    events = audit_log("portal.auth.disabled_inactive")
    assert sorted(e.object_id for e in events) == sorted([str(staff.pk), str(head.pk)])
    assert all(e.actor_id is None and e.data["inactive_days"] == 90 for e in events)
    assert disable_inactive_task.apply().get() == 0  # idempotent
    assert len(audit_log("portal.auth.disabled_inactive")) == 2
    fresh.refresh_from_db()
    assert fresh.is_active


def test_logout_stays_open(client, reviewer):
    age_password(reviewer, 91)
    sign_in(client, reviewer)
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_personal_token_does_not_outlive_the_password_rule(client, reviewer):
    """A token's user is known only to DRF (after the session middleware ran): the token authentication itself refuses
    an administrator or bureau user whose password has expired, with the same code, until it is changed."""
    from portal.services.tokens import token_create
    from tests.support import otp_verified

    _token, raw = token_create(actor=otp_verified(reviewer), name="脚本")
    headers = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    assert client.get("/api/v1/me/", **headers).status_code == 200
    age_password(reviewer, 91)
    refused = client.get("/api/v1/me/", **headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_expired" and "密码" in refused.json()["detail"]
    age_password(reviewer, 10)
    assert client.get("/api/v1/me/", **headers).status_code == 200
