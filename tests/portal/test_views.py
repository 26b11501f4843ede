"""The web shell: login, the "my pending work" dashboard and its scope, messages, tokens, admin, language."""

import datetime as dt

import pytest

from portal.choices import Clock, Role
from portal.models import Notification
from portal.services.deadlines import deadline_open, deadline_sweep
from tests.factories import DepartmentFactory, county_bureau_department, make_user, region
from tests.support import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


def open_case(department, title, *, start=None, days=10, role=""):
    start = start or D(2026, 11, 20)
    case = DepartmentFactory()
    return deadline_open(case=case, clock=Clock.VERIFICATION, department=department, working_days=days,
                         title=title, started_on=start, responsible_role=role)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_page_is_chinese_by_default(client):
    body = client.get("/login/").content.decode()
    assert "登录" in body and 'lang="zh-hans"' in body


def test_english_translation_is_available(client, staff):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    sign_in(client, staff)
    body = client.get("/").content.decode()
    assert 'lang="en"' in body and "My pending work" in body


def test_dashboard_lists_my_department_cases_with_remaining_days(web_as, staff, dept, other_dept):
    open_case(dept, "本部门的校核", days=10)  # due 12-04: 7 working days left
    open_case(dept, "超期的校核", start=D(2026, 11, 2), days=5)  # due 11-09
    open_case(other_dept, "别的部门的校核")
    body = web_as(staff).get("/").content.decode()
    assert "本部门的校核" in body and "超期的校核" in body
    assert "别的部门的校核" not in body
    assert 'class="table-danger"' in body  # the overdue row is red
    assert "已超期 12 个工作日" in body


def test_a_role_specific_clock_reaches_only_that_role(web_as, staff, head, dept):
    open_case(dept, "待负责人审批的延期", role=Role.DEPT_HEAD)
    assert "待负责人审批的延期" in web_as(head).get("/").content.decode()
    assert "待负责人审批的延期" not in web_as(staff).get("/").content.decode()


def test_county_bureau_oversees_its_region_only(web_as):
    xiuwu = DepartmentFactory(region=region("410821"))
    qinyang = DepartmentFactory(region=region("410882"))
    open_case(xiuwu, "修武县的超期事项", start=D(2026, 11, 2), days=5)
    open_case(qinyang, "沁阳市的超期事项", start=D(2026, 11, 2), days=5)
    county = make_user(Role.COUNTY_BUREAU, department=county_bureau_department("410821"))
    body = web_as(county).get("/").content.decode()
    assert "修武县的超期事项" in body and "沁阳市的超期事项" not in body


def test_deadlines_api_is_scoped(api_as, staff, dept, other_dept, reviewer):
    open_case(dept, "本部门")
    open_case(other_dept, "他部门")
    mine = api_as(staff).get("/api/v1/deadlines/").json()
    assert [d["title"] for d in mine] == ["本部门"]
    assert mine[0]["remaining_working_days"] == 7
    assert [d["title"] for d in api_as(staff).get("/api/v1/deadlines/?scope=all").json()] == ["本部门"]
    assert {d["title"] for d in api_as(reviewer).get("/api/v1/deadlines/?scope=all").json()} == {"本部门", "他部门"}


def test_sweep_messages_show_up_and_can_be_read(web_as, staff, dept):
    open_case(dept, "快到期", start=D(2026, 11, 20), days=5)
    deadline_sweep()
    client = web_as(staff)
    assert 'data-testid="unread">1<' in client.get("/").content.decode()
    note = Notification.objects.get(recipient=staff)
    client.post("/notifications/", {"id": note.pk})
    note.refresh_from_db()
    assert note.read_at is not None


def test_personal_token_is_shown_once_and_authenticates(web_as, api_client, staff, audit_log):
    page = web_as(staff).post("/tokens/", {"name": "脚本", "valid_days": 30}).content.decode()
    raw = page.split('user-select-all">')[1].split("<")[0]
    assert raw.startswith("jzp_")
    assert raw not in web_as(staff).get("/tokens/").content.decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api_client.get("/api/v1/me/").json()["username"] == "staff"
    token = staff.tokens.get()
    web_as(staff).post("/tokens/", {"revoke": token.pk})
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert [e.action for e in audit_log() if e.action.startswith("portal.token")] == [
        "portal.token.created", "portal.token.revoked"
    ]


def test_admin_site_is_for_the_system_admin_only(web_as, system_admin, reviewer):
    assert web_as(reviewer).get("/admin/").status_code == 404  # for anybody else the site does not exist
    assert web_as(system_admin).get("/admin/portal/department/").status_code == 200


def test_admin_department_form_names_the_check_character_rule(web_as, system_admin):
    response = web_as(system_admin).post(
        "/admin/portal/department/add/",
        {"name": "焦作市测试局", "short_name": "测试局", "region": region("410800").pk, "kind": "government",
         "credit_code": "11410800MB1234567A", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "GB 32100" in response.content.decode()


def test_admin_department_save_goes_through_the_service(web_as, system_admin, audit_log):
    response = web_as(system_admin).post(
        "/admin/portal/department/add/",
        {"name": "焦作市测试局", "short_name": "测试局", "region": region("410800").pk, "kind": "government",
         "credit_code": "91110000600037341L", "is_active": "on"},
    )
    assert response.status_code == 302
    assert audit_log("portal.department.created")[0].actor == system_admin


def test_admin_user_form_has_no_roles_and_will_not_disable_an_administrator(web_as, system_admin, bureau, audit_log):
    """Roles are the security administrator's (三员分立): the system admin's user form has none, and it cannot
    switch off an account holding an administrator role (the security admin revokes the role first)."""
    user = make_user(Role.SECURITY_ADMIN, department=bureau)
    page = web_as(system_admin).get(f"/admin/portal/user/{user.pk}/change/").content.decode()
    assert 'name="full_name"' in page and "roles-TOTAL_FORMS" not in page
    response = web_as(system_admin).post(
        f"/admin/portal/user/{user.pk}/change/",
        {"full_name": "新名字", "phone": "", "email": "", "department": bureau.pk,
         "roles-TOTAL_FORMS": "1", "roles-INITIAL_FORMS": "0", "roles-0-role": "audit_admin"},
    )
    assert response.status_code == 200
    assert "须先由安全管理员撤销" in response.content.decode()
    user.refresh_from_db()
    assert user.is_active and user.full_name != "新名字"
    assert list(user.roles.values_list("role", flat=True)) == ["security_admin"]
    assert not audit_log("portal.user.updated")


def test_admin_user_add_checks_the_password_policy_on_the_form(web_as, system_admin, dept, audit_log):
    url = "/admin/portal/user/add/"
    form = {"username": "zhangsan", "full_name": "张三", "department": dept.pk, "is_active": "on"}
    response = web_as(system_admin).post(url, {**form, "password": "zhangsan2026"})
    assert response.status_code == 200 and not audit_log("portal.user.created")
    response = web_as(system_admin).post(url, {**form, "password": "Qiang!Mima2026"})
    assert response.status_code == 302
    (event,) = audit_log("portal.user.created")
    assert event.actor == system_admin and event.object_repr == "张三"


def test_chinese_is_the_default_whatever_the_browser_asks(client):
    body = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in body and "登录" in body


def test_the_admin_site_has_no_login_of_its_own(client):
    """One sign-in for the whole portal (lockout, second factor): the admin's login sends to the portal's."""
    response = client.get("/admin/login/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    response = client.get("/admin/portal/user/")
    assert response.status_code == 302 and "/login/" in response["Location"]
