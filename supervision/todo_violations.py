"""Violations and rectification in 我的待办 (portal.todo): for the assessor, the reports to check, the orders falling
due and the notice drafts; for the bureau's reviewers, the notice drafts. A department's open orders are not listed
here: each runs the kernel clock Clock.RECTIFICATION, which 我的待办 already shows its staff and head with its due date
(portal.todo.my_clocks; a provider leaves out what has a clock).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.services.workdays import WorkCalendar
from portal.todo import TodoGroup, TodoItem, group

from .choices import ORDER_AWAITING_REPORT, NoticeState, OrderState
from .models import CriticismNotice, RectificationOrder

# Orders whose clock falls due within this many working days (or is already overdue) are "falling due".
FALLING_DUE_WORKING_DAYS = 5


def todo(user, today) -> list[TodoGroup]:
    groups: list[TodoGroup] = []
    orders_url = reverse("supervision:order-list")
    if user.has_role(Role.ASSESSOR):
        orders = RectificationOrder.objects.restrict(user, "decide").select_related("department")
        groups += group(
            "supervision.reports", _("待验收的整改报告"), f"{orders_url}?state={OrderState.REPORTED}",
            orders.filter(state=OrderState.REPORTED).order_by("issued_at", "id"),
            lambda o: TodoItem(title=str(o), url=o.get_absolute_url(), since=o.issued_at),
        )
        horizon = WorkCalendar().add_working_days(today, FALLING_DUE_WORKING_DAYS).date
        # The order's due date is its clock's (opened with it; a rectification clock is never extended).
        falling = orders.filter(state__in=ORDER_AWAITING_REPORT, due_on__lte=horizon).order_by("due_on", "id")
        groups += group(
            "supervision.orders_due", _("即将到期或已超期的整改通知"), f"{orders_url}?due=soon", falling,
            lambda o: TodoItem(title=str(o), url=o.get_absolute_url(), since=o.issued_at,
                               note=_("整改期限 %(d)s") % {"d": o.due_on.isoformat()}),
            urgent=falling.filter(due_on__lt=today).exists(),
        )
    if user.has_role(Role.ASSESSOR, Role.BUREAU_REVIEWER):
        groups += group(
            "supervision.notice_drafts", _("待发布的通报批评"), f"{reverse('supervision:notice-list')}?state=draft",
            CriticismNotice.objects.restrict(user, "publish").filter(state=NoticeState.DRAFT)
            .order_by("created_at", "id"),
            lambda n: TodoItem(title=n.title, url=n.get_absolute_url(), since=n.created_at),
        )
    return groups
