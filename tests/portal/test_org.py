"""Organisations and roles: 三员分立, role scope fit, credit codes, every change audited."""

import pytest
from django.db import IntegrityError, transaction

from portal.choices import Role
from portal.errors import PermissionDenied, PortalError, RoleConflict
from portal.models import Department, UserRole
from portal.services import org
from portal.validators import credit_code_problem, id_number_problem
from tests.factories import city, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("first", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
@pytest.mark.parametrize("second", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
def test_no_account_holds_two_of_the_three_admin_roles(security_admin, bureau, first, second):
    user = make_user(department=bureau)
    org.role_grant(actor=security_admin, user=user, role=first)
    with pytest.raises((RoleConflict, PortalError)) as err:
        org.role_grant(actor=security_admin, user=user, role=second)
    assert err.value.code == ("role_held" if first == second else "role_conflict")
    assert list(UserRole.objects.filter(user=user).values_list("role", flat=True)) == [first]


def test_the_database_refuses_a_second_admin_role_too(bureau):
    user = make_user(Role.SECURITY_ADMIN, department=bureau)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserRole.objects.create(user=user, role=Role.AUDIT_ADMIN)


def test_an_admin_role_and_a_business_role_never_share_an_account(security_admin, bureau):
    # 管理员账户专用: an administrator's account reaches its own pages only (portal.confinement).
    user = make_user(Role.BUREAU_REVIEWER, department=bureau)
    with pytest.raises(PortalError, match="不能兼任业务角色"):
        org.role_grant(actor=security_admin, user=user, role=Role.AUDIT_ADMIN)
    assert user.roles.count() == 1


def test_role_grant_is_audited_and_checks_who_grants(security_admin, staff, audit_log):
    with pytest.raises(PermissionDenied):
        org.role_grant(actor=staff, user=security_admin, role=Role.DEPT_STAFF)
    with pytest.raises(PermissionDenied):
        org.role_grant(actor=security_admin, user=security_admin, role=Role.ASSESSOR)
    org.role_grant(actor=security_admin, user=staff, role=Role.DEPT_HEAD)
    (event,) = audit_log("portal.role.granted")
    assert (event.actor, event.object_id, event.data) == (security_admin, str(staff.pk), {"role": "dept_head"})
    org.role_revoke(actor=security_admin, user=staff, role=Role.DEPT_HEAD)
    assert len(audit_log("portal.role.revoked")) == 1


def test_roles_fit_the_department(security_admin, staff):
    with pytest.raises(PortalError) as err:
        org.role_grant(actor=security_admin, user=staff, role=Role.BUREAU_REVIEWER)
    assert err.value.code == "role_scope"
    with pytest.raises(PortalError):
        org.role_grant(actor=security_admin, user=staff, role=Role.COUNTY_BUREAU)


def test_department_credit_code_names_the_check_character_rule(system_admin):
    with pytest.raises(PortalError) as err:
        org.department_create(
            actor=system_admin, name="焦作市测试局", short_name="测试局", region=city(), kind="government",
            credit_code="11410800MB1234567A",
        )
    message = err.value.errors["credit_code"][0]
    assert "GB 32100" in message and "第18位应为" in message
    assert not Department.objects.filter(name="焦作市测试局").exists()


def test_department_create_and_update_are_audited(system_admin, audit_log):
    department = org.department_create(
        actor=system_admin, name="焦作市测试局", short_name="测试局", region=city(), kind="government",
        credit_code="91110000600037341L",
    )
    org.department_update(actor=system_admin, department=department, short_name="测试")
    created, updated = audit_log("portal.department.created"), audit_log("portal.department.updated")
    assert created[0].data["after"]["credit_code"] == "91110000600037341L"
    assert updated[0].data == {"before": {"short_name": "测试局"}, "after": {"short_name": "测试"}}


def test_head_must_belong_to_the_department(system_admin, dept, other_staff):
    with pytest.raises(PortalError):
        org.department_set_head(actor=system_admin, department=dept, head=other_staff)


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("91110000600037341L", True),  # stdnum's own example
        ("N2410800MA44111107", True),  # stdnum refuses codes starting with a letter; GB 32100 allows them
        ("N2X10800MA44111107", False),  # letters in positions 3–8 are not a region code
        ("91110000600037341l", True),  # lower case is normalised
        ("9111000060003734", False),
        ("91110000600037341I", False),  # I is not in the alphabet
        ("91\u0661\u0661000060003734L", False),  # Arabic-Indic digits in the region code: refused, not a crash
    ],
)
def test_credit_code_rule(code, ok):
    assert (credit_code_problem(code) is None) == ok


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("410802199003071239", True),
        ("410821197001010010", True),  # 修武县 before its code existed: stdnum's false negative
        ("410802199003071238", False),
        ("410802199002301234", False),  # 30 February
        ("990802199003071239", False),
    ],
)
def test_id_number_rule(number, ok):
    assert (id_number_problem(number) is None) == ok


def test_user_create_applies_the_password_policy(system_admin, dept):
    with pytest.raises(PortalError) as err:
        org.user_create(actor=system_admin, username="weak", password="password1", department=dept)
    assert "password" in err.value.errors
    user = org.user_create(actor=system_admin, username="strong", password="Str0ng!Pass#", department=dept)
    assert user.check_password("Str0ng!Pass#") and not user.roles.exists()
