"""三员分立 as a matrix: each administrator's pages (and the POSTs behind them) tried by the owner, by the other two
administrators, by each business role and anonymously — 200 (or the POST's redirect) for the owner, 404 for everybody
else signed in (the page does not exist for them), the login page for a visitor.

The audit administrator's own pages (the trail viewer) are added to this matrix by the change that builds them; here
that role is tried against the other two's pages.
"""

import pytest
from django.urls import reverse

from portal.choices import Role
from portal.models import Department, Setting, User, UserRole
from tests.factories import make_user, region
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db

OTHERS = ("security_admin", "audit_admin", "staff", "head", "county", "reviewer", "assessor")


@pytest.fixture
def people(system_admin, security_admin, staff, head, county_bureau_user, reviewer, bureau):
    return {
        "anonymous": None,
        "system_admin": system_admin,
        "security_admin": security_admin,
        "audit_admin": make_user(Role.AUDIT_ADMIN, department=bureau, username="auditadmin"),
        "staff": staff,
        "head": head,
        "county": county_bureau_user,
        "reviewer": reviewer,
        "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor"),
    }


def owned_by(owner: str, ok=200, anonymous=LOGIN):
    """`owner` gets `ok`, every other signed-in person 404, a visitor `anonymous`."""
    everybody = ("system_admin", *OTHERS)
    return {"anonymous": anonymous, **{who: (ok if who == owner else 404) for who in everybody}}


def test_the_system_administrators_pages(people, staff, dept):
    user_change = reverse("admin:portal_user_change", args=[staff.pk])
    dept_change = reverse("admin:portal_department_change", args=[dept.pk])
    check_matrix(people, [
        Row("get", reverse("system"), owned_by("system_admin")),
        Row("get", reverse("system-settings"), owned_by("system_admin")),
        Row("get", reverse("calendar"), owned_by("system_admin")),
        Row("get", reverse("admin:index"), owned_by("system_admin")),
        Row("get", reverse("admin:portal_department_changelist"), owned_by("system_admin")),
        Row("get", reverse("admin:portal_department_add"), owned_by("system_admin")),
        Row("get", dept_change, owned_by("system_admin")),
        Row("get", reverse("admin:portal_user_changelist"), owned_by("system_admin")),
        Row("get", reverse("admin:portal_user_add"), owned_by("system_admin")),
        Row("get", user_change, owned_by("system_admin")),
        Row("get", reverse("admin:portal_region_changelist"), owned_by("system_admin")),
    ])


def only_owner_changed(owner: str, changed):
    """A Row.also: inside the cell's savepoint, `changed()` is true after the owner's request and false after anybody
    else's (a refusal wrote nothing)."""

    def check(who, response):
        assert changed() == (who == owner), f"changed={changed()}"

    return check


def test_the_system_administrators_writes(people, staff):
    settings_body = {"portal_notice": "今晚 22:00 系统维护", "ops_contact": "0391-1234567"}
    user_body = {"username": "newclerk", "full_name": "新专员", "department": staff.department_id,
                 "is_active": "on", "password": "Qiang!Mima2026"}
    dept_body = {"name": "焦作市测试局", "short_name": "测试局", "region": region("410800").pk, "kind": "government",
                 "credit_code": "91110000600037341L", "is_active": "on"}
    check_matrix(people, [
        Row("post", reverse("system-settings"), owned_by("system_admin", ok=302), body=settings_body,
            also=only_owner_changed("system_admin", Setting.objects.filter(key="portal_notice").exists)),
        Row("post", reverse("admin:portal_user_add"), owned_by("system_admin", ok=302), body=user_body,
            also=only_owner_changed("system_admin", User.objects.filter(username="newclerk").exists)),
        Row("post", reverse("admin:portal_department_add"), owned_by("system_admin", ok=302), body=dept_body,
            also=only_owner_changed("system_admin", Department.objects.filter(name="焦作市测试局").exists)),
        Row("post", reverse("calendar-day"), owned_by("system_admin"),
            body={"date": "2026-12-31", "kind": "holiday", "name": "测试", "basis": "测试"}),
    ], isolated=True)


def test_the_security_administrators_pages(people, staff):
    check_matrix(people, [
        Row("get", reverse("security:index"), owned_by("security_admin")),
        Row("get", reverse("security:role-list"), owned_by("security_admin")),
        Row("get", reverse("security:role-list") + "?q=staff&role=dept_staff", owned_by("security_admin")),
        Row("get", reverse("security:role-detail", args=[staff.pk]), owned_by("security_admin")),
        Row("get", reverse("security:settings"), owned_by("security_admin")),
        Row("get", reverse("locks"), owned_by("security_admin")),
        Row("get", reverse("sharing:client-list"), owned_by("security_admin")),
    ])


# The leak monitor's thresholds (R28.4): the security administrator's settings too.
LEAK_DEFAULTS = {"leak_volume_factor": 10, "leak_enumeration_run": 10, "leak_offhours_rows": 5000,
                 "leak_shared_subject_callers": 5}


def test_the_security_administrators_writes(people, staff):
    grant = reverse("security:role-change", args=[staff.pk])
    roles = UserRole.objects.filter(user=staff)
    check_matrix(people, [
        Row("post", grant, owned_by("security_admin", ok=302), body={"action": "grant", "role": Role.ASSESSOR},
            also=only_owner_changed("security_admin", roles.filter(role=Role.ASSESSOR).exists)),
        Row("post", grant, owned_by("security_admin", ok=302), body={"action": "revoke", "role": Role.DEPT_STAFF},
            also=only_owner_changed("security_admin", lambda: not roles.filter(role=Role.DEPT_STAFF).exists())),
        Row("post", reverse("security:settings"), owned_by("security_admin", ok=302),
            body={"password_max_age_days": 60, "inactive_disable_days": 90, "session_idle_minutes": 15,
                  **LEAK_DEFAULTS},
            also=only_owner_changed("security_admin", Setting.objects.filter(key="session_idle_minutes").exists)),
        Row("post", reverse("locks"), owned_by("security_admin", ok=302),
            body={"kind": "username", "value": "nobody"}),
    ], isolated=True)


def test_a_superuser_flag_opens_nothing(client, bureau):
    """Django's is_superuser grants nothing operational: no role, no page of any administrator."""
    from tests.support import sign_in

    root = make_user(department=bureau, username="root", is_superuser=True, is_staff=True)
    assert not root.has_role(Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
    sign_in(client, root)
    for url in (reverse("system"), reverse("admin:index"), reverse("admin:portal_user_changelist"),
                reverse("security:index"), reverse("security:role-list"), reverse("security:settings"),
                reverse("system-settings")):
        assert client.get(url).status_code == 404, url


def test_the_administrators_api_calls(people):
    """The settings endpoints: each administrator's own (GET and PATCH), 404 for every other person, 401 unsigned."""

    def api_owned_by(owner):
        return {**owned_by(owner), "anonymous": 401}

    check_matrix(people, [
        Row("get", "/api/v1/settings/", api_owned_by("system_admin")),
        Row("patch", "/api/v1/settings/", api_owned_by("system_admin"), body={"ops_contact": "0391-1"},
            also=only_owner_changed("system_admin", Setting.objects.filter(key="ops_contact").exists)),
        Row("get", "/api/v1/security/settings/", api_owned_by("security_admin")),
        Row("patch", "/api/v1/security/settings/", api_owned_by("security_admin"), body={"session_idle_minutes": 10},
            also=only_owner_changed("security_admin", Setting.objects.filter(key="session_idle_minutes").exists)),
    ], api=True, isolated=True)


@pytest.mark.parametrize("body", [
    {"session_idle_minutes": "３０"}, {"session_idle_minutes": 4}, {"portal_notice": "x"}, {"x\x00": 1},
    {"otp_required_for_all": "yes please"}, ["session_idle_minutes"],
])
def test_settings_api_refuses_bad_values(api_as, security_admin, body):
    response = api_as(security_admin).patch("/api/v1/security/settings/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not Setting.objects.exists()


def test_settings_api_reads_and_changes(api_as, security_admin, audit_log):
    client = api_as(security_admin)
    assert client.get("/api/v1/security/settings/").json() == {
        "otp_required_for_all": False, "password_max_age_days": 90, "inactive_disable_days": 90,
        "session_idle_minutes": 30, **LEAK_DEFAULTS, "leak_suspend_on_volume": False,
    }
    response = client.patch("/api/v1/security/settings/", {"otp_required_for_all": True}, format="json")
    assert response.status_code == 200 and response.json()["otp_required_for_all"] is True
    assert audit_log("portal.setting.updated")[0].data == {"key": "otp_required_for_all", "before": False,
                                                           "after": True}
