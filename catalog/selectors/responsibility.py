"""Responsibility lists (R9.1), read side: the lines in scope and how each is fulfilled."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from portal.errors import NotFound
from portal.models import Department, User
from portal.permissions import is_department_member

from .. import hooks
from ..choices import CYCLE_DAYS, Fulfilment
from ..models import CatalogUpdateCase, ResponsibilityItem


@dataclass
class ResponsibilityLine:
    item: ResponsibilityItem
    status: str
    status_label: str
    last_data_at: dt.datetime | None = None



def fulfilment(lines: list[ResponsibilityItem], *, today: dt.date) -> list[ResponsibilityLine]:
    """Fulfilment per responsibility line: data on cycle when the aggregation chapter can tell, else filed."""
    entry_ids = sorted({r.entry_id for r in lines})
    arrivals = hooks.data_arrivals(entry_ids)
    updating = (
        set(CatalogUpdateCase.objects.running().filter(entry_id__in=entry_ids).values_list("entry_id", flat=True))
        if entry_ids
        else set()
    )
    labels = dict(Fulfilment.choices)
    out = []
    for line in lines:
        last = None
        if line.entry_id in updating:
            status = Fulfilment.UPDATING
        elif arrivals is None:
            status = Fulfilment.FILED
        else:
            last = arrivals.get(line.entry_id)
            days = CYCLE_DAYS.get(line.update_cycle)
            if last is None:
                status = Fulfilment.NO_DATA
            elif days is None or (today - last.date()).days <= max(days, 1):
                status = Fulfilment.ON_TIME
            else:
                status = Fulfilment.LATE
        out.append(ResponsibilityLine(item=line, status=status, status_label=str(labels[status]), last_data_at=last))
    return out


def responsibility_list(*, user: User, department_id: int | None = None) -> QuerySet[ResponsibilityItem]:
    """Current responsibility lines within `user`'s scope, optionally of one department."""
    qs = ResponsibilityItem.objects.restrict(user, "view").current().select_related("entry", "department")
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("department__name", "entry__code", "id")


def responsibility_department(*, user: User, wanted) -> tuple[Department | None, QuerySet[Department]]:
    """The department whose list `user` asked for (`wanted`: its id; default their own), and those they may open.
    Raises NotFound for a department outside the user's scope (or not an id); (None, …) when nothing was asked and
    the user belongs to no department (a bureau member picks one)."""
    departments = responsibility_departments(user=user)
    if wanted not in (None, ""):
        department = departments.filter(pk=wanted).first() if str(wanted).isdigit() else None
        if department is None:
            raise NotFound()
        return department, departments
    if is_department_member(user):
        return user.department, departments
    return None, departments


def responsibility_departments(*, user: User) -> QuerySet[Department]:
    """Departments whose responsibility list `user` may open."""
    ids = ResponsibilityItem.objects.restrict(user, "view").values("department_id")
    return Department.objects.filter(pk__in=ids).order_by("region__code", "name")

