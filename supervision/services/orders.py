"""Rectification orders (责令限期改正, R36) and notices of criticism (通报批评), write side.

An assessor issues an order on one or more open violations of ONE department, with requirements and a deadline (a
number of working days or a date; the kernel clock Clock.RECTIFICATION on the order). The department's data staff or
head reports (text and documents, checked by portal.uploads); the assessor accepts (violations rectified, clock
closed) or returns it with a reason (the clock keeps running). An order whose clock the kernel sweep marked overdue
while the department still owed its report (or that was reported late) produces once a notice-of-criticism draft
(`notices_draft_overdue`, unique per order); the bureau (assessor or reviewer) edits and publishes it, once. A serious
case is marked for referral to the authority that may discipline the persons responsible, with its record.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import User
from portal.permissions import int_or_none
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.notifications import Digest, department_recipients, notify
from portal.services.workdays import WorkCalendar, local_today
from portal.uploads import DOCUMENT_TYPES, upload_facts, upload_problem

from ..choices import ORDER_AWAITING_REPORT, NoticeState, OrderState, ViolationState
from ..models import CriticismNotice, RectificationOrder, RectificationReport, Referral, ReportAttachment, Violation
from .violations import _require_assessor, _text, department_digest

MAX_ATTACHMENTS = 10
MAX_WORKING_DAYS = 250


def _order(actor: User, order_id, action: str) -> RectificationOrder:
    """The order, locked, if `actor` may see it (NotFound otherwise); PermissionDenied when the step is not theirs."""
    pk = int_or_none(order_id) or 0
    order = (RectificationOrder.objects.restrict(actor, "view").select_for_update(of=("self",))
             .select_related("department").filter(pk=pk).first())
    if order is None:
        raise NotFound()
    if not RectificationOrder.objects.restrict(actor, action).filter(pk=pk).exists():
        if action == "report":
            raise PermissionDenied(_("仅被责令整改部门的数据专员或负责人可提交整改报告"), code="not_order_department")
        raise PermissionDenied(_("仅考核人员可验收、退回或移送整改通知"), code="not_assessor")
    return order


def _deadline(working_days, due_on: dt.date | None, today: dt.date) -> int:
    """The order's time limit in working days, from a number or a date (its working days from today)."""
    if working_days in (None, "") and due_on is None:
        message = _("请填写整改期限（工作日数或截止日期）")
        raise PortalError(message, code="deadline_required", errors={"working_days": [message]})
    if working_days not in (None, ""):
        days = int_or_none(working_days)
        if days is None or not 1 <= days <= MAX_WORKING_DAYS:
            message = _("整改期限须为 1–%(n)d 个工作日") % {"n": MAX_WORKING_DAYS}
            raise PortalError(message, code="invalid", errors={"working_days": [message]})
        return days
    days = WorkCalendar().working_days_between(today, due_on)
    if days < 1 or days > MAX_WORKING_DAYS:
        message = _("整改截止日期须在今天之后的 1–%(n)d 个工作日内") % {"n": MAX_WORKING_DAYS}
        raise PortalError(message, code="invalid", errors={"due_on": [message]})
    return days


def order_issue(*, actor: User, violation_ids: list[int], requirements: str, working_days: int | None = None,
                due_on: dt.date | None = None) -> RectificationOrder:
    """Issue a rectification order on open violations of one department (R36).

    Raises PermissionDenied "not_assessor"; PortalError "deadline_required", "no_violations", "out_of_scope" (a
    violation the assessor cannot order: unknown or outside their scope), "one_department", "not_open", "invalid".
    Audits supervision.order.issued and supervision.violation.ordered per violation; opens Clock.RECTIFICATION;
    tells the department's staff and head.
    """
    _require_assessor(actor)
    requirements = _text(requirements, "requirements", _("整改要求"), limit=5000)
    today = local_today()
    days = _deadline(working_days, due_on, today)
    ids = sorted({pk for pk in (int_or_none(v) for v in violation_ids or []) if pk})
    if not ids:
        raise PortalError(_("请选择至少一项违规行为"), code="no_violations",
                          errors={"violations": [_("请选择至少一项违规行为")]})
    with transaction.atomic():
        violations = list(Violation.objects.restrict(actor, "order").select_for_update(of=("self",))
                          .select_related("department").filter(pk__in=ids).order_by("pk"))
        if len(violations) != len(ids):
            message = _("所选违规行为不存在或不在您的监督范围内")
            raise PortalError(message, code="out_of_scope", errors={"violations": [message]})
        departments = {v.department_id for v in violations}
        if len(departments) != 1:
            message = _("一份整改通知只能针对一个部门的违规行为")
            raise PortalError(message, code="one_department", errors={"violations": [message]})
        not_open = [v for v in violations if v.state != ViolationState.OPEN]
        if not_open:
            message = _("违规行为“%(t)s”不是待处理状态") % {"t": not_open[0].title}
            raise PortalError(message, code="not_open", errors={"violations": [message]})
        department = violations[0].department
        order = RectificationOrder(department=department, requirements=requirements, issued_by=actor,
                                   due_on=WorkCalendar().add_working_days(today, days).date)
        order.save()
        deadline = deadline_open(case=order, clock=Clock.RECTIFICATION, department=department, working_days=days,
                                 started_on=today, title=_("限期整改：%(n)s") % {"n": order.number})
        if deadline.due_on != order.due_on:  # the clock's calendar is the truth
            order.due_on = deadline.due_on
            order.save(update_fields=["due_on"])
        Violation.objects.filter(pk__in=ids).update(state=ViolationState.ORDERED, order=order)
        audit.record(actor=actor, action="supervision.order.issued", obj=order, department=department,
                     data={"violations": ids, "requirements": requirements, "working_days": days,
                           "due_on": order.due_on.isoformat()})
        for v in violations:
            audit.record(actor=actor, action="supervision.violation.ordered", obj=v, department=department,
                         data={"order": order.pk})
        notify(recipients=department_recipients(department), title=_("责令限期整改：%(n)s") % {"n": order.number},
               body=_("整改期限：%(d)s") % {"d": order.due_on.isoformat()}, url=order.get_absolute_url(),
               digest=department_digest())
    return order


def _store(report: RectificationReport, upload) -> dict:
    problem = upload_problem(upload, label=_("整改材料"), types=DOCUMENT_TYPES)
    if problem:
        raise PortalError(problem, code="invalid", errors={"attachments": [problem]})
    facts = upload_facts(upload, types=DOCUMENT_TYPES)
    attachment = ReportAttachment(report=report, original_name=facts.original_name, size=facts.size,
                                  content_type=facts.content_type, sha256=facts.sha256)
    attachment.file.save(upload.name, upload, save=False)
    attachment.save()
    return {"name": attachment.original_name, "size": attachment.size, "sha256": attachment.sha256}


def order_report(*, actor: User, order_id: int, body: str, attachments=()) -> RectificationReport:
    """The ordered department's data staff or head reports its rectification, with documents (PDF, images, DOCX,
    XLSX; each checked by portal.uploads).

    Raises NotFound (not their order, not in scope), PermissionDenied "not_order_department", InvalidTransition
    "not_awaiting_report", PortalError "invalid". Audits supervision.order.reported; tells the assessor who issued it.
    """
    body = _text(body, "body", _("整改情况"), limit=10000)
    files = list(attachments or [])
    if len(files) > MAX_ATTACHMENTS:
        message = _("整改材料最多 %(n)d 个") % {"n": MAX_ATTACHMENTS}
        raise PortalError(message, code="invalid", errors={"attachments": [message]})
    for upload in files:  # all checked before anything is written
        problem = upload_problem(upload, label=_("整改材料"), types=DOCUMENT_TYPES)
        if problem:
            raise PortalError(problem, code="invalid", errors={"attachments": [problem]})
    today = local_today()
    with transaction.atomic():
        order = _order(actor, order_id, "report")
        if order.state not in ORDER_AWAITING_REPORT:
            raise InvalidTransition(_("该整改通知当前不接受整改报告"), code="not_awaiting_report")
        report = RectificationReport.objects.create(order=order, body=body, submitted_by=actor,
                                                    late=today > order.due_on)
        stored = [_store(report, upload) for upload in files]
        order.state = OrderState.REPORTED
        order.save(update_fields=["state"])
        audit.record(actor=actor, action="supervision.order.reported", obj=order, department=order.department,
                     data={"report": report.pk, "body": body, "attachments": stored, "late": report.late})
        notify(recipients=[order.issued_by], title=_("整改报告待验收：%(n)s") % {"n": order.number},
               url=order.get_absolute_url(),
               digest=Digest("supervision.report", _("有 {n} 份整改报告待验收"), reverse("supervision:order-list")))
    return report


def order_accept(*, actor: User, order_id: int, note: str = "") -> RectificationOrder:
    """The assessor accepts the reported rectification: the order's violations are rectified, its clock closed.

    Raises NotFound, PermissionDenied "not_assessor", InvalidTransition "not_reported", PortalError "invalid".
    Audits supervision.order.accepted and supervision.violation.rectified per violation."""
    note = _text(note, "note", _("验收意见"), required=False, limit=2000)
    with transaction.atomic():
        order = _order(actor, order_id, "decide")
        if order.state != OrderState.REPORTED:
            raise InvalidTransition(_("只有待验收的整改通知可以验收"), code="not_reported")
        order.state, order.decided_by, order.decided_at = OrderState.ACCEPTED, actor, timezone.now()
        order.save(update_fields=["state", "decided_by", "decided_at"])
        deadline = deadline_close(case=order, clock=Clock.RECTIFICATION, on=local_today())
        violations = list(order.violations.select_for_update().order_by("pk"))
        Violation.objects.filter(pk__in=[v.pk for v in violations]).update(state=ViolationState.RECTIFIED)
        audit.record(actor=actor, action="supervision.order.accepted", obj=order, department=order.department,
                     data={"note": note, "closed_late": bool(deadline and deadline.closed_late)})
        for v in violations:
            audit.record(actor=actor, action="supervision.violation.rectified", obj=v, department=order.department,
                         data={"order": order.pk})
        notify(recipients=department_recipients(order.department),
               title=_("整改已验收：%(n)s") % {"n": order.number}, url=order.get_absolute_url(),
               digest=department_digest())
    return order


def order_return(*, actor: User, order_id: int, reason: str) -> RectificationOrder:
    """The assessor returns the report with a reason; the department reports again (the clock keeps running).

    Raises NotFound, PermissionDenied "not_assessor", InvalidTransition "not_reported", PortalError "invalid".
    Audits supervision.order.returned."""
    reason = _text(reason, "reason", _("退回理由"), limit=2000)
    with transaction.atomic():
        order = _order(actor, order_id, "decide")
        if order.state != OrderState.REPORTED:
            raise InvalidTransition(_("只有待验收的整改通知可以退回"), code="not_reported")
        order.state, order.return_reason = OrderState.RETURNED, reason
        order.save(update_fields=["state", "return_reason"])
        audit.record(actor=actor, action="supervision.order.returned", obj=order, department=order.department,
                     data={"reason": reason})
        notify(recipients=department_recipients(order.department),
               title=_("整改报告被退回：%(n)s") % {"n": order.number}, body=reason, url=order.get_absolute_url(),
               digest=department_digest())
    return order


def order_refer(*, actor: User, order_id: int, authority: str, basis: str) -> Referral:
    """Mark a serious case for referral to the authority that may discipline those directly responsible (R36), with
    the record: who, when, to whom, on what basis. Once per order.

    Raises NotFound, PermissionDenied "not_assessor", InvalidTransition "already_referred", PortalError "invalid".
    Audits supervision.order.referred."""
    authority = _text(authority, "authority", _("移送机关"), limit=200)
    basis = _text(basis, "basis", _("移送依据"), limit=5000)
    with transaction.atomic():
        order = _order(actor, order_id, "decide")
        if Referral.objects.filter(order=order).exists():
            raise InvalidTransition(_("该整改通知已移送有权机关"), code="already_referred")
        referral = Referral.objects.create(order=order, authority=authority, basis=basis, referred_by=actor)
        audit.record(actor=actor, action="supervision.order.referred", obj=order, department=order.department,
                     data={"authority": authority, "basis": basis})
    return referral


# ------------------------------------------------------------------------------------------ notices of criticism

_DRAFT_SQL = """
WITH late AS (
    SELECT o.id, o.department_id, dep.name AS department, o.due_on, o.issued_at
      FROM supervision_rectificationorder o
      JOIN portal_department dep ON dep.id = o.department_id
      JOIN portal_deadline d ON d.case_type_id = %(ct)s AND d.case_id = o.id::text AND d.clock = %(clock)s
     WHERE (d.state = 'overdue' AND o.state = ANY(%(awaiting)s))
        OR EXISTS (SELECT 1 FROM supervision_rectificationreport r WHERE r.order_id = o.id AND r.late)
), drafted AS (
    INSERT INTO supervision_criticismnotice (order_id, department_id, title, body, state, created_at)
    SELECT id, department_id, left(%(title1)s || department || %(title2)s, 200),
           department || %(body1)s || to_char(issued_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD') || %(body2)s
           || to_char(due_on, 'YYYY-MM-DD') || %(body3)s,
           'draft', now()
      FROM late
    ON CONFLICT (order_id) DO NOTHING
    RETURNING id, department_id, title, order_id
), audited AS (
    {audited}
)
SELECT id FROM drafted
"""


def notices_draft_overdue(*, request_id: str = "") -> int:
    """Draft a notice of criticism for every overdue order that has none (once per order: the unique order decides;
    safe to run twice or concurrently). Returns how many were drafted. Audits supervision.notice.drafted per notice;
    tells the bureau's assessors (a digest)."""
    audited, audit_params = audit.record_rows_sql(
        "SELECT department_id, id, title, jsonb_build_object('order', order_id) FROM drafted",
        action="supervision.notice.drafted", object_type="supervision.criticismnotice", request_id=request_id)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_DRAFT_SQL.format(audited=audited), {
            **audit_params, "ct": ContentType.objects.get_for_model(RectificationOrder).pk,
            "clock": Clock.RECTIFICATION.value, "awaiting": [s.value for s in ORDER_AWAITING_REPORT],
            "tz": "Asia/Shanghai", "title1": _("关于对"), "title2": _("逾期未整改的通报批评"),
            "body1": _("：本局于 "), "body2": _(" 责令你单位限期整改，整改期限为 "),
            "body3": _("。你单位逾期未完成整改。根据《焦作市政务数据资源管理暂行办法》第三十六条，现予以通报批评。"),
        })
        drafted = [r[0] for r in cur.fetchall()]
        if drafted:
            assessors = User.objects.filter(is_active=True, roles__role=Role.ASSESSOR).distinct()
            url = reverse("supervision:notice-list")
            for _pk in drafted:
                notify(recipients=assessors, title=_("逾期未整改，已生成通报批评草稿"), url=url,
                       digest=Digest("supervision.notice", _("有 {n} 份通报批评草稿待发布"), url))
    return len(drafted)


def _notice(actor: User, notice_id) -> CriticismNotice:
    notice = (CriticismNotice.objects.restrict(actor, "view").select_for_update(of=("self",))
              .filter(pk=int_or_none(notice_id) or 0).first())
    if notice is None:
        raise NotFound()
    if not actor.has_role(Role.ASSESSOR, Role.BUREAU_REVIEWER):
        raise PermissionDenied(_("仅市大数据局（考核人员、审核员）可编辑和发布通报"), code="not_bureau")
    return notice


def notice_edit(*, actor: User, notice_id: int, title: str, body: str) -> CriticismNotice:
    """The bureau edits a draft notice. Raises NotFound, PermissionDenied "not_bureau", InvalidTransition
    "already_published", PortalError "invalid". Audits supervision.notice.edited."""
    title = _text(title, "title", _("标题"), limit=200)
    body = _text(body, "body", _("通报内容"), limit=20000)
    with transaction.atomic():
        notice = _notice(actor, notice_id)
        if notice.state != NoticeState.DRAFT:
            raise InvalidTransition(_("通报已发布，不能再修改"), code="already_published")
        before = {"title": notice.title, "body": notice.body}
        notice.title, notice.body, notice.edited_by = title, body, actor
        notice.save(update_fields=["title", "body", "edited_by"])
        audit.record(actor=actor, action="supervision.notice.edited", obj=notice, department=notice.department_id,
                     data={"before": before, "after": {"title": title, "body": body}})
    return notice


def notice_publish(*, actor: User, notice_id: int) -> CriticismNotice:
    """The bureau publishes a draft notice to every department (once). Raises NotFound, PermissionDenied
    "not_bureau", InvalidTransition "already_published". Audits supervision.notice.published; tells the criticised
    department's staff and head."""
    with transaction.atomic():
        notice = _notice(actor, notice_id)
        if notice.state != NoticeState.DRAFT:
            raise InvalidTransition(_("该通报已发布，不能重复发布"), code="already_published")
        notice.state, notice.published_by, notice.published_at = NoticeState.PUBLISHED, actor, timezone.now()
        notice.save(update_fields=["state", "published_by", "published_at"])
        audit.record(actor=actor, action="supervision.notice.published", obj=notice, department=notice.department_id,
                     data={"title": notice.title})
        notify(recipients=department_recipients(notice.department), title=_("通报批评：%(t)s") % {"t": notice.title},
               url=notice.get_absolute_url(), digest=department_digest())
    return notice


def report_attachment_downloaded(*, actor: User, attachment: ReportAttachment) -> None:
    """Audit one download of a rectification document."""
    audit.record(actor=actor, action="supervision.order.attachment_downloaded", obj=attachment.report.order,
                 department=attachment.report.order.department_id,
                 data={"attachment": attachment.pk, "sha256": attachment.sha256})

