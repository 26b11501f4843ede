"""三员分立 in the services and on the security administrator's role page; the bootstrap of the three administrators."""

import pytest
from django.core.management import CommandError, call_command

from portal.choices import Role
from portal.errors import PermissionDenied, PortalError
from portal.models import AuditEvent, User, UserRole
from portal.services import org
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_system_administrator_grants_no_role(system_admin, staff):
    with pytest.raises(PermissionDenied):
        org.role_grant(actor=system_admin, user=staff, role=Role.DEPT_HEAD)
    with pytest.raises(PermissionDenied):
        org.role_revoke(actor=system_admin, user=staff, role=Role.DEPT_STAFF)
    with pytest.raises(TypeError):  # accounts are created without roles
        org.user_create(actor=system_admin, username="x1", password="Qiang!Mima2026", roles=(Role.DEPT_STAFF,))
    assert list(staff.roles.values_list("role", flat=True)) == [Role.DEPT_STAFF]


def test_the_security_administrator_creates_no_account_or_department(security_admin, dept):
    with pytest.raises(PermissionDenied):
        org.user_create(actor=security_admin, username="newbie", password="Qiang!Mima2026", department=dept)
    with pytest.raises(PermissionDenied):
        org.department_create(actor=security_admin, name="某局", short_name="某局", region=dept.region,
                              credit_code="91110000600037341L")
    with pytest.raises(PermissionDenied):
        org.user_update(actor=security_admin, user=make_user(department=dept), is_active=False)
    assert not User.objects.filter(username="newbie").exists()


def test_the_audit_administrator_changes_nothing(bureau, staff, dept):
    auditor = make_user(Role.AUDIT_ADMIN, department=bureau)
    for call in (
        lambda: org.role_grant(actor=auditor, user=staff, role=Role.DEPT_HEAD),
        lambda: org.user_create(actor=auditor, username="y", password="Qiang!Mima2026", department=dept),
        lambda: org.user_update(actor=auditor, user=staff, full_name="改名"),
        lambda: org.department_set_head(actor=auditor, department=dept, head=staff),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_nobody_changes_their_own_roles(security_admin):
    with pytest.raises(PermissionDenied):
        org.role_grant(actor=security_admin, user=security_admin, role=Role.ASSESSOR)
    with pytest.raises(PermissionDenied):
        org.role_revoke(actor=security_admin, user=security_admin, role=Role.SECURITY_ADMIN)
    assert security_admin.roles.get().role == Role.SECURITY_ADMIN


def test_an_administrator_account_is_disabled_only_after_its_role_is_revoked(system_admin, security_admin, bureau):
    auditor = make_user(Role.AUDIT_ADMIN, department=bureau)
    with pytest.raises(PortalError) as err:
        org.user_set_active(actor=system_admin, user=auditor, active=False)
    assert err.value.code == "admin_account"
    org.role_revoke(actor=security_admin, user=auditor, role=Role.AUDIT_ADMIN)
    org.user_set_active(actor=system_admin, user=auditor, active=False)
    auditor.refresh_from_db()
    assert not auditor.is_active
    with pytest.raises(PortalError) as err:
        org.role_grant(actor=security_admin, user=auditor, role=Role.AUDIT_ADMIN)
    assert err.value.code == "user_inactive"


def test_the_role_page_grants_and_shows_refusals_in_chinese(web_as, security_admin, staff, bureau, audit_log):
    client = web_as(security_admin)
    url = f"/security/roles/{staff.pk}/change/"
    response = client.post(url, {"action": "grant", "role": Role.BUREAU_REVIEWER}, follow=True)
    assert "市大数据局审核员角色只能授予市政务服务和大数据管理局的人员" in response.content.decode()
    response = client.post(url, {"action": "grant", "role": Role.DEPT_HEAD}, follow=True)
    assert "已授予角色：部门主要负责人" in response.content.decode()
    (event,) = audit_log("portal.role.granted")
    assert (event.actor, event.data) == (security_admin, {"role": "dept_head"})

    admin_user = make_user(Role.SYSTEM_ADMIN, department=bureau)
    response = client.post(f"/security/roles/{admin_user.pk}/change/", {"action": "grant", "role": "audit_admin"},
                           follow=True)
    assert "三员分立" in response.content.decode()
    assert list(admin_user.roles.values_list("role", flat=True)) == [Role.SYSTEM_ADMIN]

    assert client.post(f"/security/roles/{security_admin.pk}/change/",
                       {"action": "revoke", "role": "security_admin"}).status_code == 403
    assert client.post(url, {"action": "grant", "role": "root"}).status_code == 302
    assert client.get("/security/roles/999999/").status_code == 404


def test_the_role_search(web_as, security_admin, staff, other_staff, head):
    client = web_as(security_admin)
    page = client.get("/security/roles/", {"q": "other"}).content.decode()
    assert "other_staff" in page and ">staff<" not in page
    page = client.get("/security/roles/", {"role": Role.DEPT_HEAD}).content.decode()
    assert ">head<" in page and "other_staff" not in page
    page = client.get("/security/roles/", {"department": staff.department_id}).content.decode()
    assert ">staff<" in page and "other_staff" not in page
    response = client.get("/security/roles/", {"q": "a\x00b", "department": "¹"})
    assert response.status_code == 200 and 'data-testid="field-error"' in response.content.decode()


def test_bootstrap_admins_creates_the_three_with_one_role_each(monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_SYSTEM_ADMIN_PASSWORD", "Xitong!Guanli2026")
    monkeypatch.setenv("PORTAL_SECURITY_ADMIN_PASSWORD", "Anquan!Guanli2026")
    monkeypatch.setenv("PORTAL_AUDIT_ADMIN_PASSWORD", "Shenji!Guanli2026")
    call_command("bootstrap_admins", "--system", "sa", "--security", "se", "--audit", "au", "--noinput")
    roles = dict(UserRole.objects.values_list("user__username", "role"))
    assert roles == {"sa": Role.SYSTEM_ADMIN, "se": Role.SECURITY_ADMIN, "au": Role.AUDIT_ADMIN}
    assert User.objects.get(username="se").check_password("Anquan!Guanli2026")
    assert not User.objects.filter(is_superuser=True).exists()
    events = AuditEvent.objects.filter(action__in=["portal.user.bootstrapped", "portal.role.granted"])
    assert events.count() == 6 and {(e.actor_id, e.actor_label) for e in events} == {(None, "system")}
    call_command("bootstrap_admins", "--system", "other", "--noinput")  # again: every role held, nothing changes
    assert UserRole.objects.count() == 3 and not User.objects.filter(username="other").exists()


def test_bootstrap_admins_refuses_a_weak_or_missing_password(monkeypatch):
    monkeypatch.setenv("PORTAL_SYSTEM_ADMIN_PASSWORD", "weak")
    monkeypatch.setenv("PORTAL_SECURITY_ADMIN_PASSWORD", "Anquan!Guanli2026")
    monkeypatch.setenv("PORTAL_AUDIT_ADMIN_PASSWORD", "Shenji!Guanli2026")
    with pytest.raises(CommandError):
        call_command("bootstrap_admins", "--noinput")
    monkeypatch.delenv("PORTAL_AUDIT_ADMIN_PASSWORD")
    monkeypatch.setenv("PORTAL_SYSTEM_ADMIN_PASSWORD", "Xitong!Guanli2026")
    with pytest.raises(CommandError, match="PORTAL_AUDIT_ADMIN_PASSWORD"):
        call_command("bootstrap_admins", "--noinput")
    assert not UserRole.objects.exists()  # all or nothing


def test_bootstrap_does_not_promote_an_existing_account(monkeypatch, staff):
    for var in ("SYSTEM", "SECURITY", "AUDIT"):
        monkeypatch.setenv(f"PORTAL_{var}_ADMIN_PASSWORD", "Qiang!Mima2026x")
    with pytest.raises(CommandError, match="用户名已存在"):
        call_command("bootstrap_admins", "--system", "staff", "--noinput")
    assert list(staff.roles.values_list("role", flat=True)) == [Role.DEPT_STAFF]
