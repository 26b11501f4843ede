"""Organisations and people: departments, users, roles (R2, R5).

三员分立 (等保 8.1.4.2, SPEC §1) is decided here and nowhere else: the system administrator creates, changes and
disables departments and accounts but grants no role; the security administrator grants and revokes roles but
creates nothing; the audit administrator does none of it. Nobody changes their own roles, and no account holds two
of the three administrator roles (also a partial unique index). The very first administrators have nobody to create
them: `admins_bootstrap` (manage.py bootstrap_admins, seed_demo) does it as the system, audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import ADMIN_ROLES, Role
from portal.errors import PermissionDenied, PortalError, RoleConflict
from portal.models import Department, Region, User, UserRole
from portal.validators import credit_code_problem, normalise_code

DEPARTMENT_FIELDS = ("name", "short_name", "region", "kind", "credit_code", "is_bureau", "is_active")
USER_FIELDS = ("full_name", "phone", "email", "department", "is_active")
# Who may do what (三员分立). One table, so a change of the rule is one line.
ACCOUNT_MANAGERS = (Role.SYSTEM_ADMIN,)  # departments and accounts
ROLE_MANAGERS = (Role.SECURITY_ADMIN,)  # role grants and revocations


def _require(actor, *roles: str) -> None:
    if actor is None or not actor.has_role(*roles):
        raise PermissionDenied()


def _snapshot(obj, fields) -> dict[str, Any]:
    return {f: getattr(obj, f"{f}_id") if f in ("region", "department") else getattr(obj, f) for f in fields}


def _update_audited(*, actor: User, obj, values: dict[str, Any], fields: tuple[str, ...], action: str) -> None:
    """Set `values` on the locked `obj`; save and audit (before and after) only the `fields` that changed."""
    before = _snapshot(obj, fields)
    for field, value in values.items():
        setattr(obj, field, value)
    after = _snapshot(obj, fields)
    changed = [f for f in fields if before[f] != after[f]]
    if changed:
        obj.save(update_fields=changed)
        audit.record(
            actor=actor, action=action, obj=obj,
            data={"before": {f: before[f] for f in changed}, "after": {f: after[f] for f in changed}},
        )


def _clean_department(values: dict[str, Any], *, instance: Department | None = None) -> dict[str, Any]:
    if "credit_code" in values:
        values["credit_code"] = normalise_code(values["credit_code"])
        problem = credit_code_problem(values["credit_code"])
        if problem:
            raise PortalError(problem, code="invalid", errors={"credit_code": [problem]})
        clash = Department.objects.filter(credit_code=values["credit_code"])
        if instance:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            msg = _("统一社会信用代码已被“%(d)s”使用") % {"d": clash.first()}
            raise PortalError(msg, errors={"credit_code": [msg]})
    if "name" in values:
        clash = Department.objects.filter(name=values["name"])
        if instance:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            msg = _("部门名称已存在")
            raise PortalError(msg, errors={"name": [msg]})
    return values


def department_create(*, actor: User, **values: Any) -> Department:
    """Register a department. Raises PermissionDenied (not system admin), PortalError (bad credit code, name)."""
    _require(actor, *ACCOUNT_MANAGERS)
    with transaction.atomic():
        department = Department.objects.create(**_clean_department(values))
        audit.record(
            actor=actor, action="portal.department.created", obj=department,
            data={"after": _snapshot(department, DEPARTMENT_FIELDS)},
        )
    return department


def department_update(*, actor: User, department: Department, **values: Any) -> Department:
    """Change a department's fields; the audit event carries before and after of what changed."""
    _require(actor, *ACCOUNT_MANAGERS)
    with transaction.atomic():
        department = Department.objects.select_for_update().get(pk=department.pk)
        _update_audited(
            actor=actor, obj=department, values=_clean_department(values, instance=department),
            fields=DEPARTMENT_FIELDS, action="portal.department.updated",
        )
    return department


def department_set_head(*, actor: User, department: Department, head: User | None) -> Department:
    """Record the department's 主要负责人 (R5.2); the head must belong to the department."""
    _require(actor, *ACCOUNT_MANAGERS)
    if head is not None and head.department_id != department.pk:
        raise PortalError(_("主要负责人须为本部门人员"), code="head_not_member")
    with transaction.atomic():
        department = Department.objects.select_for_update().get(pk=department.pk)
        before = department.head_id
        department.head = head
        department.save(update_fields=["head"])
        audit.record(
            actor=actor, action="portal.department.head_set", obj=department,
            data={"before": before, "after": head.pk if head else None},
        )
    return department


def _new_user(username: str, password: str, **values: Any) -> User:
    """An unsaved account whose username is free and whose password passes the policy (else PortalError)."""
    username = (username or "").strip()
    if not username:
        raise PortalError(_("请填写用户名"), errors={"username": [_("请填写用户名")]})
    if User.objects.filter(username=username).exists():
        raise PortalError(_("用户名已存在"), errors={"username": [_("用户名已存在")]})
    user = User(username=username, **values)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PortalError(" ".join(exc.messages), errors={"password": exc.messages}) from exc
    user.set_password(password)
    return user


def user_create(*, actor: User, username: str, password: str, **values: Any) -> User:
    """Create an account, with no role: roles are the security administrator's to grant (三员分立).
    Raises PermissionDenied, PortalError (password policy, username taken)."""
    _require(actor, *ACCOUNT_MANAGERS)
    user = _new_user(username, password, **values)
    with transaction.atomic():
        user.save()
        audit.record(actor=actor, action="portal.user.created", obj=user, data={"after": _snapshot(user, USER_FIELDS)})
    return user


def user_update(*, actor: User, user: User, **values: Any) -> User:
    """Change a user's profile, department or active flag (deactivation instead of deletion keeps the audit trail).

    An account holding one of the three administrator roles is not disabled here: the security administrator first
    revokes the role. Otherwise the system administrator alone could switch off the other two (or lock itself out).
    """
    _require(actor, *ACCOUNT_MANAGERS)
    with transaction.atomic():
        user = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
        if values.get("is_active") is False and user.is_active and user.roles.filter(role__in=ADMIN_ROLES).exists():
            msg = _("该账号担任管理员角色，须先由安全管理员撤销该角色后才能停用")
            raise PortalError(msg, code="admin_account", errors={"is_active": [msg]})
        _update_audited(actor=actor, obj=user, values=values, fields=USER_FIELDS, action="portal.user.updated")
    return user


def user_set_active(*, actor: User, user: User, active: bool) -> User:
    """Disable or enable an account (the list's buttons); same rules and audit as user_update."""
    return user_update(actor=actor, user=user, is_active=active)


def _check_role_fits(user: User, role: str) -> None:
    department = user.department
    if role in (Role.DEPT_STAFF, Role.DEPT_HEAD) and department is None:
        raise PortalError(_("部门角色须先为用户指定所属部门"), code="department_required")
    if role == Role.COUNTY_BUREAU and not (department and department.is_bureau and not department.region.is_city):
        raise PortalError(_("县(市)区大数据管理部门角色只能授予县(市)区大数据管理部门的人员"), code="role_scope")
    if role == Role.BUREAU_REVIEWER and not (department and department.is_bureau and department.region.is_city):
        raise PortalError(_("市大数据局审核员角色只能授予市政务服务和大数据管理局的人员"), code="role_scope")


def role_grant(*, actor: User, user: User, role: str) -> UserRole:
    """Give `user` a role. Raises RoleConflict when it would join two of the three admin roles
    (三员分立), PermissionDenied when the actor may not manage roles or grants to itself.
    """
    _require(actor, *ROLE_MANAGERS)
    if role not in Role.values:
        raise PortalError(_("角色无效"), code="invalid")
    if actor.pk == user.pk:
        raise PermissionDenied(_("不能为自己授予角色"))
    if not user.is_active:
        raise PortalError(_("账号已停用，不能授予角色"), code="user_inactive")
    _check_role_fits(user, role)
    with transaction.atomic():
        held = set(UserRole.objects.select_for_update().filter(user=user).values_list("role", flat=True))
        if role in held:
            raise PortalError(_("用户已拥有该角色"), code="role_held")
        if role in ADMIN_ROLES and held.intersection(ADMIN_ROLES):
            raise RoleConflict()
        if held and (role in ADMIN_ROLES or held.intersection(ADMIN_ROLES)):
            # An administrator's account is for administration only (等保 8.1.4.2: 管理员账户专用): it reaches its own
            # pages and nothing else (portal.confinement), so a business role beside it would be a dead letter.
            raise PortalError(_("管理员账号只能担任一个管理员角色，不能兼任业务角色"), code="admin_role_exclusive")
        try:
            with transaction.atomic():
                granted = UserRole.objects.create(user=user, role=role, granted_by=actor)
        except IntegrityError as exc:  # a concurrent grant raced us; the partial unique index decides
            raise RoleConflict() from exc
        user.__dict__.pop("role_set", None)
        audit.record(actor=actor, action="portal.role.granted", obj=user, data={"role": role})
    return granted


def role_revoke(*, actor: User, user: User, role: str) -> None:
    """Take a role away. Raises PortalError when the user does not hold it, PermissionDenied for one's own role."""
    _require(actor, *ROLE_MANAGERS)
    if actor.pk == user.pk:
        raise PermissionDenied(_("不能撤销自己的角色"))
    with transaction.atomic():
        deleted, _n = UserRole.objects.filter(user=user, role=role).delete()
        if not deleted:
            raise PortalError(_("用户没有该角色"), code="role_not_held")
        user.__dict__.pop("role_set", None)
        audit.record(actor=actor, action="portal.role.revoked", obj=user, data={"role": role})


BOOTSTRAP_ACTOR = "system"


def admins_bootstrap(*, accounts: list[tuple[str, str, str, str]], department: Department | None = None) -> list[str]:
    """Create the first administrators of a fresh deployment: `accounts` is (role, username, password, full name)
    for each of the three administrator roles. Nobody exists yet to create them, so the actor is the system
    ("system" in the trail); each account gets its one role, audited like any grant.

    A role somebody active already holds is left alone (the command and seed_demo can run again); an existing
    username is refused rather than given an administrator role behind the security administrator's back.
    Returns one line per role saying what happened."""
    done = []
    with transaction.atomic():
        for role, username, password, full_name in accounts:
            if role not in ADMIN_ROLES:
                raise PortalError(_("只能初始化三类管理员账号"), code="invalid")
            label = Role(role).label
            holder = User.objects.filter(roles__role=role, is_active=True).order_by("pk").first()
            if holder is not None:
                done.append(_("%(role)s：已有账号 %(user)s，未改动") % {"role": label, "user": holder.username})
                continue
            user = _new_user(username, password, full_name=full_name, department=department)
            user.save()
            audit.record(actor=None, actor_label=BOOTSTRAP_ACTOR, action="portal.user.bootstrapped", obj=user,
                         data={"after": _snapshot(user, USER_FIELDS)})
            UserRole.objects.create(user=user, role=role)
            audit.record(actor=None, actor_label=BOOTSTRAP_ACTOR, action="portal.role.granted", obj=user,
                         data={"role": role})
            done.append(_("%(role)s：已创建账号 %(user)s") % {"role": label, "user": user.username})
    return done


def region_get(code: str) -> Region:
    return Region.objects.get(code=code)
