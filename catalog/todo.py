"""This chapter's clock-less work in 我的待办 (portal.todo): sign-offs, county pre-reviews, demands to file, late data.

A bureau review is not here: it runs on a clock (Clock.CATALOG_REVIEW), which the kernel lists with its due date.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from portal.permissions import county_region_id, is_department_member, is_head_of
from portal.todo import FIRST_ITEMS, TodoGroup, TodoItem, group

from .choices import EntryState, Fulfilment
from .selectors import demands as demand_selectors
from .selectors import entries as entry_selectors
from .selectors import responsibility as responsibility_selectors


def _entry(entry) -> TodoItem:
    return TodoItem(title=f"{entry.code or ''} {entry.name}".strip(), since=entry.updated_at,
                    url=reverse("catalog:entry-detail", args=[entry.pk]), note=entry.provider.name)


def todo(user, today) -> list[TodoGroup]:
    groups: list[TodoGroup] = []
    queue = entry_selectors.review_queue(user=user)
    if is_head_of(user, user.department_id):
        groups += group("catalog.signoff", _("待签发目录"), reverse("catalog:review-queue"),
                        queue.filter(state=EntryState.SIGNOFF), _entry)
    if county_region_id(user):
        groups += group("catalog.county_review", _("待县级初审目录"), reverse("catalog:review-queue"),
                        queue.filter(state=EntryState.COUNTY_REVIEW), _entry)
    if is_department_member(user):
        department = user.department
        responsibility = f"{reverse('catalog:responsibility')}?{urlencode({'department': department.pk})}"
        groups += group(
            "catalog.demands_unfiled", _("待编目的数据需求"), responsibility,
            demand_selectors.demands_addressed_unfiled(department=department),
            lambda d: TodoItem(title=d.needed_data, url=reverse("catalog:demand-detail", args=[d.pk]),
                               since=d.submitted_at, note=d.department.name),
        )
        lines = responsibility_selectors.fulfilment(
            list(responsibility_selectors.responsibility_list(user=user, department_id=department.pk)), today=today)
        late = [ln for ln in lines if ln.status == Fulfilment.LATE]
        if late:
            groups.append(TodoGroup(
                key="catalog.data_late", title=_("未按更新周期归集的数据"), url=responsibility, count=len(late),
                items=tuple(TodoItem(title=ln.item.entry.name, since=ln.last_data_at,
                                     url=reverse("catalog:entry-detail", args=[ln.item.entry_id]),
                                     note=ln.item.get_update_cycle_display())
                            for ln in late[:FIRST_ITEMS]),
                urgent=True,
            ))
    return groups
