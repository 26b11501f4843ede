"""The violations register, rectification orders and notices of criticism as their readers may see them."""

from __future__ import annotations

from portal.choices import Clock
from portal.errors import NotFound
from portal.models import Deadline
from portal.permissions import int_or_none

from ..models import CriticismNotice, RectificationOrder, Violation


def violation_list(*, user):
    return Violation.objects.restrict(user, "view").select_related("department", "order", "filed_by")


def violation_get(*, user, violation_id) -> Violation:
    violation = violation_list(user=user).filter(pk=int_or_none(violation_id) or 0).first()
    if violation is None:
        raise NotFound()
    return violation


def order_list(*, user):
    return (RectificationOrder.objects.restrict(user, "view")
            .select_related("department", "issued_by", "decided_by", "referral"))


def order_get(*, user, order_id) -> RectificationOrder:
    order = (order_list(user=user).prefetch_related("reports__attachments", "reports__submitted_by", "violations")
             .filter(pk=int_or_none(order_id) or 0).first())
    if order is None:
        raise NotFound()
    return order


def order_clock(order: RectificationOrder) -> Deadline | None:
    """The order's rectification clock (running or closed, the latest)."""
    return Deadline.objects.for_case(order).filter(clock=Clock.RECTIFICATION).order_by("-pk").first()


def notice_list(*, user):
    return CriticismNotice.objects.restrict(user, "view").select_related("department", "order", "published_by")


def notice_get(*, user, notice_id) -> CriticismNotice:
    notice = notice_list(user=user).filter(pk=int_or_none(notice_id) or 0).first()
    if notice is None:
        raise NotFound()
    return notice
