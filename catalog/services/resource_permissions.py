"""Assigning the per-resource permissions (R28.2): the department head for the department's data staff, the
security administrator for any department. Who holds what is decided in catalog.resource_perms only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.api.params import parse_integer
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.permissions import is_staff_of

from .. import resource_perms as rp
from ..models import CatalogEntry, CatalogEntryUserObjectPermission

MAX_CELLS = 5000  # one save of the matrix: a page of entries × the department's staff


@dataclass
class PermissionChanges:
    """What one save changed: (user_id, entry_id, perm) triples."""

    granted: list[tuple[int, int, str]] = field(default_factory=list)
    revoked: list[tuple[int, int, str]] = field(default_factory=list)


def id_or_none(value) -> int | None:
    """An id as ASCII digits that fits a bigint (18 digits at most), else None: nothing bigger reaches SQL."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10**18 else None
    try:
        return parse_integer(value) or None
    except ValueError:
        return None


def require_assigner(actor, department_id) -> Department:
    """The department if `actor` may assign there: NotFound for a department outside their reach (another
    department's head, every other role), PermissionDenied for the department's own staff who are not its head."""
    department = Department.objects.filter(pk=id_or_none(department_id) or 0).first()
    if department is None:
        raise NotFound()
    if rp.may_assign(actor, department.pk):
        return department
    if is_staff_of(actor, department.pk):
        raise PermissionDenied(_("只有部门主要负责人或安全管理员可以分配资源权限"), code="head_only")
    raise NotFound()


def _invalid(message: str) -> PortalError:
    return PortalError(message, code="invalid", errors={"assignments": [message]})


def _clean(assignments) -> dict[tuple[int, int], set[str]]:
    cells: dict[tuple[int, int], set[str]] = {}
    for item in assignments or ():
        try:
            user_id, entry_id, perms = item
        except (TypeError, ValueError):
            raise _invalid(_("权限分配格式不正确")) from None
        user_id, entry_id = id_or_none(user_id), id_or_none(entry_id)
        if user_id is None or entry_id is None or isinstance(perms, str | bytes):
            raise _invalid(_("权限分配格式不正确"))
        perms = set(perms or ())
        if unknown := sorted(str(p) for p in perms - set(rp.RESOURCE_PERMS)):
            raise _invalid(_("未知的资源权限：%(p)s") % {"p": "、".join(unknown)})
        cells[(user_id, entry_id)] = perms
    if len(cells) > MAX_CELLS:
        raise _invalid(_("一次最多保存 %(n)d 组权限，请分页保存") % {"n": MAX_CELLS})
    return cells


def resource_permissions_set(*, actor, department_id, assignments: Iterable) -> PermissionChanges:
    """Set exactly which of the three permissions each listed person holds on each listed resource.

    `assignments`: (user_id, entry_id, perms) — after the call that person holds exactly `perms` on that entry;
    pairs not listed are left as they are. The people must be the department's data staff (its head holds all
    three without rows), the entries its resources. Raises NotFound / PermissionDenied (require_assigner),
    PortalError "invalid". Audits catalog.resource_permission.granted / .revoked per person and resource.
    """
    cells = _clean(assignments)
    with transaction.atomic():
        department = require_assigner(actor, department_id)
        # One save at a time per department: two heads' tabs cannot interleave their diffs.
        Department.objects.select_for_update().filter(pk=department.pk).first()
        user_ids = {u for u, _e in cells}
        entry_ids = {e for _u, e in cells}
        users = {u.pk: u for u in rp.assignable_staff(department.pk).filter(pk__in=user_ids)}
        if missing := user_ids - set(users):
            raise _invalid(_("只能为本部门的数据专员分配资源权限（用户 %(ids)s 不是）")
                           % {"ids": "、".join(str(i) for i in sorted(missing))})
        entries = {e.pk: e for e in CatalogEntry.objects.filter(pk__in=entry_ids, provider_id=department.pk)}
        if missing := entry_ids - set(entries):
            raise _invalid(_("只能分配本部门的资源（条目 %(ids)s 不是）")
                           % {"ids": "、".join(str(i) for i in sorted(missing))})
        held = rp.held_rows(entry_ids, user_ids)
        ids = rp.permission_ids()
        changes = PermissionChanges()
        add: list[CatalogEntryUserObjectPermission] = []
        drop_q = []
        for (user_id, entry_id), wanted in sorted(cells.items()):
            now = held.get((user_id, entry_id), set())
            granted, revoked = sorted(wanted - now), sorted(now - wanted)
            add += [CatalogEntryUserObjectPermission(user_id=user_id, content_object_id=entry_id,
                                                     permission_id=ids[p]) for p in granted]
            if revoked:
                drop_q.append((user_id, entry_id, [ids[p] for p in revoked]))
            for action, perms in (("granted", granted), ("revoked", revoked)):
                if perms:
                    _audit(actor, action, users[user_id], entries[entry_id], perms, department)
            changes.granted += [(user_id, entry_id, p) for p in granted]
            changes.revoked += [(user_id, entry_id, p) for p in revoked]
        # bulk_create skips guardian's per-row content-type check in save(): every row here is a CatalogEntry's.
        CatalogEntryUserObjectPermission.objects.bulk_create(add, ignore_conflicts=True)
        for user_id, entry_id, perm_ids in drop_q:
            CatalogEntryUserObjectPermission.objects.filter(
                user_id=user_id, content_object_id=entry_id, permission_id__in=perm_ids).delete()
    return changes


def _audit(actor, action: str, user: User, entry: CatalogEntry, perms: list[str], department, **extra) -> None:
    audit.record(
        actor=actor, action=f"catalog.resource_permission.{action}", obj=entry,
        data={"user": user.pk, "username": user.get_username(), "department": department.pk, "entry": entry.pk,
              "code": entry.code, "perms": perms, **extra},
    )


def resource_permissions_grant_filer(*, actor, entry: CatalogEntry) -> None:
    """The filer of a new entry holds the three on it (called inside catalog_entry_save's transaction): the person
    who describes a resource is the one who usually loads and answers for it; the head assigns anyone else."""
    ids = rp.permission_ids()
    CatalogEntryUserObjectPermission.objects.bulk_create(
        [CatalogEntryUserObjectPermission(user_id=actor.pk, content_object_id=entry.pk, permission_id=ids[p])
         for p in rp.RESOURCE_PERMS],
        ignore_conflicts=True,
    )
    _audit(actor, "granted", actor, entry, list(rp.RESOURCE_PERMS), entry.provider, reason="filer")
