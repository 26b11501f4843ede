"""Read side of the per-resource permissions: the assignment matrix of one department (a page of its resources
× its data staff × the three permissions), in a fixed number of queries whatever the page holds."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Q

from portal.models import Department, User

from .. import resource_perms as rp
from ..models import CatalogEntry

PER_PAGE = 20


@dataclass
class Matrix:
    department: Department
    staff: list[User]
    page: Page  # of CatalogEntry, each with `.cells`: [(user, [(perm, label, held)])] in the order of `staff`


def permission_matrix(*, department: Department, q: str = "", page: int | str | None = 1,
                      user_id: int | None = None, per_page: int = PER_PAGE) -> Matrix:
    """The department's resources matching `q` (name or code), one page, with who of the data staff (all, or the
    one `user_id`) holds which permission on each. The caller has checked resource_perms.may_assign."""
    entries = CatalogEntry.objects.filter(provider_id=department.pk).only("id", "code", "name", "state", "provider_id")
    q = (q or "").strip()
    if q:
        entries = entries.filter(Q(name__icontains=q) | Q(code__icontains=q))
    entries = entries.order_by("code", "id")
    the_page = Paginator(entries, per_page).get_page(page)
    staff_qs = rp.assignable_staff(department.pk)
    if user_id is not None:
        staff_qs = staff_qs.filter(pk=user_id)
    staff = list(staff_qs)
    held = rp.held_rows([e.pk for e in the_page], [u.pk for u in staff])
    for entry in the_page:
        entry.cells = [(u, [(p, rp.LABELS[p], p in held.get((u.pk, entry.pk), set())) for p in rp.RESOURCE_PERMS])
                       for u in staff]
    return Matrix(department=department, staff=staff, page=the_page)


def assignable_departments(user):
    """The departments `user` may assign in: every department for the security administrator, the own one for a
    head, none for anyone else."""
    from portal.choices import Role

    if user.has_role(Role.SECURITY_ADMIN):
        return Department.objects.order_by("region__code", "name")
    if user.department_id and rp.may_assign(user, user.department_id):
        return Department.objects.filter(pk=user.department_id)
    return Department.objects.none()
