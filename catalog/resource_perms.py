"""Least privilege inside a department (R28.2): who of a provider's people may, per resource (catalog entry),
load its data, answer verification cases on it and comment on sharing requests for it.

The one rule, read by the querysets (`resource_q`) and the services (`may`, `require`) of every chapter:

- only the provider department's own people (its data staff and head) ever hold one: the role scope comes first,
  and nobody outside the department holds anything, whatever rows exist (a person who moved keeps no reach);
- the department's head (`portal.permissions.is_head_of`) holds all three on every resource of the department,
  without rows: the head assigns them and answers for the department anyway;
- a data staff member holds what was assigned: a row of `CatalogEntryUserObjectPermission` (django-guardian's
  direct-foreign-key object permission) — granted by the head or the security administrator
  (services.resource_permissions), by the upgrade default (`grant_staff_defaults`), or to the filer of a new entry;
- the security administrator assigns in any department but holds none (三员分立); nobody else holds or assigns.

A missing permission on an entry the person can see is a 403 with code `no_resource_permission`; the scope rules
(404 outside) are unchanged and checked before this.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.choices import STAFF_ROLES, Role
from portal.errors import PermissionDenied
from portal.permissions import NOTHING, is_head_of, is_staff_of, signed_in

LOAD_DATA = "load_data"
ANSWER_VERIFICATION = "answer_verification"
COMMENT_REQUEST = "comment_request"
RESOURCE_PERMS = (LOAD_DATA, ANSWER_VERIFICATION, COMMENT_REQUEST)
# Short labels for the assignment matrix and the refusals (the long names are CatalogEntry.Meta.permissions).
LABELS = {
    LOAD_DATA: gettext_lazy("归集数据"),
    ANSWER_VERIFICATION: gettext_lazy("答复校核"),
    COMMENT_REQUEST: gettext_lazy("共享申请意见"),
}
DENIED_CODE = "no_resource_permission"


def _check(perm: str) -> None:
    if perm not in RESOURCE_PERMS:
        raise ValueError(f"unknown resource permission {perm!r}")


def _rows(user, perms: Iterable[str]):
    from .models import CatalogEntryUserObjectPermission

    return CatalogEntryUserObjectPermission.objects.filter(
        user_id=user.pk, permission__codename__in=list(perms),
        permission__content_type__app_label="catalog", permission__content_type__model="catalogentry",
    )


# --------------------------------------------------------------------------------------------------
# Holding


def holds(user, *, entry_id: int, provider_id: int, perm: str) -> bool:
    """Whether `user` holds `perm` on the entry `entry_id` of department `provider_id` (module docstring)."""
    _check(perm)
    if not is_staff_of(user, provider_id):
        return False
    if is_head_of(user, provider_id):
        return True
    return _rows(user, [perm]).filter(content_object_id=entry_id).exists()


def may(user, entry, perm: str) -> bool:
    """Whether `user` holds `perm` on catalog entry `entry` (needs only its pk and provider_id)."""
    return holds(user, entry_id=entry.pk, provider_id=entry.provider_id, perm=perm)


def denial(perm: str) -> PermissionDenied:
    """The refusal of an in-scope person who lacks `perm` on the resource."""
    _check(perm)
    return PermissionDenied(
        _("您没有该资源的“%(perm)s”权限，请联系部门主要负责人分配") % {"perm": LABELS[perm]}, code=DENIED_CODE
    )


def require(user, *, entry_id: int, provider_id: int, perm: str) -> None:
    """PermissionDenied (code no_resource_permission) unless `user` holds `perm` on the entry."""
    if not holds(user, entry_id=entry_id, provider_id=provider_id, perm=perm):
        raise denial(perm)


def resource_q(user, perm: str, path: str = "") -> Q:
    """A Q over rows whose `path` leads to a CatalogEntry ("" for CatalogEntry itself, "entry" for a Dataset,
    "dataset__entry" for a job or a verification case) on which `user` holds `perm`. One subquery, no per-row
    check: what the querysets' actions AND into their role rule."""
    _check(perm)
    if not signed_in(user) or not user.department_id or not user.has_role(*STAFF_ROLES):
        return NOTHING
    prefix = f"{path}__" if path else ""
    own = Q(**{f"{prefix}provider_id": user.department_id})
    if is_head_of(user, user.department_id):
        return own
    return own & Q(**{f"{prefix}pk__in": _rows(user, [perm]).values("content_object_id")})


def entry_ids_with(user, perm: str, entry_ids: Iterable[int]) -> set[int]:
    """Of `entry_ids`, those on which `user` holds `perm` (one query for a whole page of entries)."""
    from .models import CatalogEntry

    ids = list(entry_ids)
    if not ids:
        return set()
    return set(CatalogEntry.objects.filter(resource_q(user, perm), pk__in=ids).values_list("pk", flat=True))


# --------------------------------------------------------------------------------------------------
# Assigning


def may_assign(user, department_id) -> bool:
    """The department's head, or the security administrator (any department)."""
    if not signed_in(user) or not department_id:
        return False
    return user.has_role(Role.SECURITY_ADMIN) or is_head_of(user, department_id)


def assignable_staff(department_id):
    """The people whose permissions are assigned: the department's active data staff, its head excepted (who
    holds all three anyway)."""
    from portal.models import Department, User

    head_id = Department.objects.filter(pk=department_id).values_list("head_id", flat=True).first()
    return (
        User.objects.filter(department_id=department_id, is_active=True, roles__role=Role.DEPT_STAFF)
        .exclude(roles__role=Role.DEPT_HEAD).exclude(pk=head_id or 0).distinct().order_by("username")
    )


def held_rows(entry_ids: Iterable[int], user_ids: Iterable[int]) -> dict[tuple[int, int], set[str]]:
    """{(user_id, entry_id): {perm, …}} of the assigned rows among those entries and people (one query)."""
    from .models import CatalogEntryUserObjectPermission

    out: dict[tuple[int, int], set[str]] = {}
    rows = CatalogEntryUserObjectPermission.objects.filter(
        content_object_id__in=list(entry_ids), user_id__in=list(user_ids), permission__codename__in=RESOURCE_PERMS,
        permission__content_type__app_label="catalog",
    ).values_list("user_id", "content_object_id", "permission__codename")
    for user_id, entry_id, codename in rows:
        out.setdefault((user_id, entry_id), set()).add(codename)
    return out


def permission_ids(apps=None) -> dict[str, int]:
    """{codename: auth Permission id} of the three, created when missing (a data migration runs before Django's
    post_migrate creates an app's permissions). `apps`: a migration's historical registry, or the live one."""
    if apps is None:
        from django.apps import apps
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    found = dict(permission_model.objects.filter(
        content_type__app_label="catalog", content_type__model="catalogentry", codename__in=RESOURCE_PERMS,
    ).values_list("codename", "pk"))
    if len(found) == len(RESOURCE_PERMS):
        return found
    ct, _created = content_type_model.objects.get_or_create(app_label="catalog", model="catalogentry")
    names = dict(apps.get_model("catalog", "CatalogEntry")._meta.permissions)
    out = {}
    for codename in RESOURCE_PERMS:
        perm, _created = permission_model.objects.get_or_create(
            content_type=ct, codename=codename, defaults={"name": str(names.get(codename, codename))[:255]}
        )
        out[codename] = perm.pk
    return out


def grant_staff_defaults(apps=None, *, department_id: int | None = None, entry_ids: Iterable[int] | None = None) -> int:
    """The upgrade default: every data staff member and head (any of STAFF_ROLES) of a department holds the three
    on every resource of that department. One INSERT … SELECT, existing rows kept; returns the rows added.

    Called by the data migration (catalog 0002, with its historical `apps`) for every department; narrowed by
    `department_id` / `entry_ids` for the test builders that create entries outside the filing workflow.
    """
    if apps is None:
        from django.apps import apps
    ids = permission_ids(apps)
    table = apps.get_model("catalog", "CatalogEntryUserObjectPermission")._meta.db_table
    entries = apps.get_model("catalog", "CatalogEntry")._meta.db_table
    users = apps.get_model("portal", "User")._meta.db_table
    roles = apps.get_model("portal", "UserRole")._meta.db_table
    where, params = ["TRUE"], [list(ids.values()), [str(r) for r in STAFF_ROLES]]
    if department_id is not None:
        where.append("e.provider_id = %s")
        params.append(department_id)
    if entry_ids is not None:
        where.append("e.id = ANY(%s)")
        params.append(list(entry_ids))
    sql = f"""
        INSERT INTO {table} (user_id, permission_id, content_object_id)
        SELECT u.id, p.id, e.id
          FROM {entries} e
          JOIN {users} u ON u.department_id = e.provider_id
          CROSS JOIN unnest(%s::int[]) AS p(id)
         WHERE EXISTS (SELECT 1 FROM {roles} r WHERE r.user_id = u.id AND r.role = ANY(%s))
           AND {" AND ".join(where)}
        ON CONFLICT DO NOTHING
    """  # noqa: S608 — table names are the models', the conditions fixed strings; values are parameters
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount
