"""The violations register, rectification orders and notices of criticism as their readers may see them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from portal.choices import Clock
from portal.errors import NotFound
from portal.models import AuditEvent, Deadline
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


# The register rows' audited events as their pages name them.
EVENT_LABELS = {
    "supervision.violation.detected": _("平台发现并登记"),
    "supervision.violation.filed": _("考核人员登记"),
    "supervision.violation.ordered": _("责令限期整改"),
    "supervision.violation.rectified": _("整改验收通过"),
    "supervision.violation.dismissed": _("撤销"),
    "supervision.order.issued": _("签发整改通知"),
    "supervision.order.reported": _("提交整改报告"),
    "supervision.order.returned": _("退回整改报告"),
    "supervision.order.accepted": _("验收通过"),
    "supervision.order.referred": _("移送有权机关"),
    "supervision.order.attachment_downloaded": _("下载整改材料"),
    "supervision.notice.drafted": _("逾期未整改，生成通报草稿"),
    "supervision.notice.edited": _("编辑通报"),
    "supervision.notice.published": _("发布通报"),
}


@dataclass(frozen=True)
class HistoryLine:
    event: AuditEvent
    label: str


def history(obj) -> list[HistoryLine]:
    """The audited events of one register row (a violation, an order, a notice), oldest first, for its page."""
    events = (AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
              .order_by("occurred_at", "id"))
    return [HistoryLine(e, str(EVENT_LABELS.get(e.action, e.action))) for e in events]
