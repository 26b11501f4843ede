"""Rectification orders and notices of criticism (R36), through the pages: issue → report → return → report → accept;
an overdue order produces exactly one notice draft, which the bureau edits and publishes once; bad input refused
with a Chinese message and a stable code, nothing half-written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from portal.choices import Clock, DeadlineState
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import AuditEvent, Deadline, Notification
from portal.services.deadlines import deadline_sweep
from supervision.choices import NoticeState, OrderState, ViolationState
from supervision.models import CriticismNotice, RectificationOrder, RectificationReport, Referral, Violation
from supervision.services.orders import (
    notice_edit,
    notice_publish,
    notices_draft_overdue,
    order_issue,
    order_refer,
    order_report,
)
from tests.factories import make_user
from tests.supervision.violation_helpers import filed, pdf

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def today(freeze_today):
    return freeze_today(D(2026, 11, 25))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def clock_of(order) -> Deadline:
    return Deadline.objects.for_case(order).get(clock=Clock.RECTIFICATION)


def test_order_lifecycle_issue_report_return_report_accept(today, media, web_as, client, assessor, staff, head,
                                                           dept):
    v1, v2 = filed(assessor, dept), filed(assessor, dept, title="重复采集企业信息")
    web_as(assessor)
    page = client.get(reverse("supervision:order-new"), {"violations": [v1.pk, v2.pk]})
    assert page.status_code == 200 and v1.title in page.content.decode()
    response = client.post(reverse("supervision:order-new"), {
        "violations": [v1.pk, v2.pk], "requirements": "停止要求企业提供营业执照，改为平台查询", "working_days": "10"})
    order = RectificationOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    clock = clock_of(order)
    assert clock.due_on == order.due_on == D(2026, 12, 9) and clock.department == dept
    assert clock.state == DeadlineState.OPEN
    assert set(Violation.objects.values_list("state", flat=True)) == {ViolationState.ORDERED}
    assert AuditEvent.objects.filter(action="supervision.violation.ordered").count() == 2
    assert Notification.objects.filter(recipient=staff, url=order.get_absolute_url()).exists()

    # The department reports, with a document.
    web_as(staff)
    detail = client.get(order.get_absolute_url()).content.decode()
    assert reverse("supervision:order-report", args=[order.pk]) in detail
    response = client.post(reverse("supervision:order-report", args=[order.pk]),
                           {"body": "已整改：窗口改为平台查询", "attachments": [pdf()]})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.REPORTED
    report = RectificationReport.objects.get()
    assert report.attachments.get().original_name == "整改报告.pdf" and not report.late
    attachment_url = reverse("supervision:order-attachment", args=[order.pk, report.attachments.get().pk])
    assert client.get(attachment_url).status_code == 200

    # The assessor returns it; the clock keeps running.
    web_as(assessor)
    client.post(reverse("supervision:order-return", args=[order.pk]), {"reason": "未附窗口改造后的办事指南"})
    order.refresh_from_db()
    assert order.state == OrderState.RETURNED and order.return_reason == "未附窗口改造后的办事指南"
    assert clock_of(order).state == DeadlineState.OPEN

    # Reported again, accepted: violations rectified, clock closed.
    web_as(head)
    client.post(reverse("supervision:order-report", args=[order.pk]),
                {"body": "已补充办事指南", "attachments": [pdf("办事指南.pdf")]})
    web_as(assessor)
    client.post(reverse("supervision:order-accept", args=[order.pk]), {"note": "整改到位"})
    order.refresh_from_db()
    assert order.state == OrderState.ACCEPTED and order.decided_by == assessor
    clock = Deadline.objects.for_case(order).get()
    assert clock.state == DeadlineState.CLOSED and not clock.closed_late
    assert set(Violation.objects.values_list("state", flat=True)) == {ViolationState.RECTIFIED}
    actions = list(AuditEvent.objects.filter(object_type="supervision.rectificationorder")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["supervision.order.issued", "supervision.order.reported",
                       "supervision.order.attachment_downloaded", "supervision.order.returned",
                       "supervision.order.reported", "supervision.order.accepted"]
    # The violation's page shows its history.
    page = client.get(v1.get_absolute_url()).content.decode()
    assert "supervision.violation.ordered" in page and "supervision.violation.rectified" in page
    # Nothing to draft: the order was never overdue.
    assert notices_draft_overdue() == 0


def test_an_overdue_order_drafts_exactly_one_notice(freeze_today, assessor, reviewer, staff, dept, other_dept,
                                                    web_as, client):
    freeze_today(D(2026, 11, 2))
    order = order_issue(actor=assessor, violation_ids=[filed(assessor, dept).pk], requirements="限期整改",
                        working_days=5)
    in_time = order_issue(actor=assessor, violation_ids=[filed(assessor, other_dept).pk], requirements="限期整改",
                          working_days=30)
    assert notices_draft_overdue() == 0
    deadline_sweep(today=freeze_today(D(2026, 11, 10)))
    assert clock_of(order).state == DeadlineState.OVERDUE
    assert notices_draft_overdue() == 1
    assert notices_draft_overdue() == 0  # rerun: still one
    deadline_sweep(today=D(2026, 11, 11))
    assert notices_draft_overdue() == 0
    notice = CriticismNotice.objects.get()
    assert notice.order == order and notice.department == dept and notice.state == NoticeState.DRAFT
    assert dept.name in notice.title and "第三十六条" in notice.body
    assert not CriticismNotice.objects.filter(order=in_time).exists()
    assert AuditEvent.objects.filter(action="supervision.notice.drafted").count() == 1
    assert Notification.objects.filter(recipient=assessor, group_key="supervision.notice").count() == 1

    # A draft is the bureau's: the department does not see it.
    web_as(staff)
    assert client.get(notice.get_absolute_url()).status_code == 404

    # The reviewer (the bureau) edits and publishes; every department then reads it; publishing twice is refused.
    web_as(reviewer)
    client.post(reverse("supervision:notice-edit", args=[notice.pk]),
                {"title": "关于对市公安局的通报批评", "body": "逾期未完成整改，予以通报批评。"})
    client.post(reverse("supervision:notice-publish", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.state == NoticeState.PUBLISHED and notice.title == "关于对市公安局的通报批评"
    with pytest.raises(InvalidTransition) as exc:
        notice_publish(actor=reviewer, notice_id=notice.pk)
    assert exc.value.code == "already_published" and "不能重复发布" in str(exc.value.detail)
    with pytest.raises(InvalidTransition):
        notice_edit(actor=assessor, notice_id=notice.pk, title="改", body="改")
    response = client.post(reverse("supervision:notice-publish", args=[notice.pk]), follow=True)
    assert "不能重复发布" in response.content.decode()
    assert AuditEvent.objects.filter(action="supervision.notice.published").count() == 1
    other = make_user("dept_staff", department=other_dept, username="other_reader")
    web_as(other)
    page = client.get(reverse("supervision:notice-list")).content.decode()
    assert "关于对市公安局的通报批评" in page
    assert client.get(notice.get_absolute_url()).status_code == 200


def test_a_report_after_the_due_date_drafts_a_notice(freeze_today, media, assessor, staff, dept):
    freeze_today(D(2026, 11, 2))
    order = order_issue(actor=assessor, violation_ids=[filed(assessor, dept).pk], requirements="限期整改",
                        due_on=D(2026, 11, 6))
    assert order.due_on == D(2026, 11, 6)
    freeze_today(D(2026, 11, 9))
    report = order_report(actor=staff, order_id=order.pk, body="已整改")
    assert report.late
    assert notices_draft_overdue() == 1


def test_referral_is_recorded_once(today, assessor, dept):
    order = order_issue(actor=assessor, violation_ids=[filed(assessor, dept).pk], requirements="限期整改",
                        working_days=5)
    order_refer(actor=assessor, order_id=order.pk, authority="市纪委监委派驻纪检监察组", basis="多次逾期，情节严重")
    referral = Referral.objects.get()
    assert referral.referred_by == assessor and referral.authority == "市纪委监委派驻纪检监察组"
    with pytest.raises(InvalidTransition) as exc:
        order_refer(actor=assessor, order_id=order.pk, authority="x", basis="y")
    assert exc.value.code == "already_referred"
    event = AuditEvent.objects.get(action="supervision.order.referred")
    assert event.data == {"authority": "市纪委监委派驻纪检监察组", "basis": "多次逾期，情节严重"}


# ------------------------------------------------------------------------------------------------ bad input


def _nothing_written():
    assert not RectificationOrder.objects.exists()
    assert not Deadline.objects.filter(clock=Clock.RECTIFICATION).exists()
    assert not AuditEvent.objects.filter(action__startswith="supervision.order").exists()
    assert set(Violation.objects.values_list("state", flat=True)) <= {ViolationState.OPEN}


def test_an_order_without_a_deadline_is_refused(today, assessor, dept, web_as, client):
    v = filed(assessor, dept)
    with pytest.raises(PortalError) as exc:
        order_issue(actor=assessor, violation_ids=[v.pk], requirements="限期整改")
    assert exc.value.code == "deadline_required" and "整改期限" in str(exc.value.detail)
    web_as(assessor)
    page = client.post(reverse("supervision:order-new"), {"violations": [v.pk], "requirements": "限期整改"})
    assert page.status_code == 200 and "请填写整改期限" in page.content.decode()
    _nothing_written()


def test_an_order_outside_the_assessors_scope_is_refused(today, assessor, county_bureau_user, dept, other_dept):
    v = filed(assessor, dept)
    with pytest.raises(PortalError) as exc:
        order_issue(actor=assessor, violation_ids=[v.pk, 999999], requirements="限期整改", working_days=5)
    assert exc.value.code == "out_of_scope" and "监督范围" in str(exc.value.detail)
    with pytest.raises(PortalError) as exc:  # two departments in one order
        order_issue(actor=assessor, violation_ids=[v.pk, filed(assessor, other_dept).pk], requirements="限期整改",
                    working_days=5)
    assert exc.value.code == "one_department"
    with pytest.raises(PermissionDenied) as exc:  # a county bureau supervises, it does not order
        order_issue(actor=county_bureau_user, violation_ids=[v.pk], requirements="限期整改", working_days=5)
    assert exc.value.code == "not_assessor"
    _nothing_written()


def test_a_report_on_someone_elses_order_is_refused(today, media, assessor, other_staff, reviewer, dept, web_as,
                                                    client):
    order = order_issue(actor=assessor, violation_ids=[filed(assessor, dept).pk], requirements="限期整改",
                        working_days=5)
    with pytest.raises(NotFound) as exc:
        order_report(actor=other_staff, order_id=order.pk, body="不是我们的", attachments=[pdf()])
    assert exc.value.code == "not_found" and "无权查看" in str(exc.value.detail)
    with pytest.raises(PermissionDenied) as exc:  # the reviewer sees it, but it is not theirs to report
        order_report(actor=reviewer, order_id=order.pk, body="代为报告")
    assert exc.value.code == "not_order_department"
    web_as(other_staff)
    assert client.post(reverse("supervision:order-report", args=[order.pk]), {"body": "x"}).status_code == 404
    order.refresh_from_db()
    assert order.state == OrderState.ISSUED
    assert not RectificationReport.objects.exists()
    assert not AuditEvent.objects.filter(action="supervision.order.reported").exists()


def test_a_bad_attachment_writes_nothing(today, media, assessor, staff, dept):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = order_issue(actor=assessor, violation_ids=[filed(assessor, dept).pk], requirements="限期整改",
                        working_days=5)
    fake = SimpleUploadedFile("报告.pdf", b"MZ not a pdf", content_type="application/pdf")
    with pytest.raises(PortalError) as exc:
        order_report(actor=staff, order_id=order.pk, body="已整改", attachments=[pdf(), fake])
    assert exc.value.code == "invalid" and "内容与扩展名不符" in str(exc.value.detail)
    assert not RectificationReport.objects.exists()
    order.refresh_from_db()
    assert order.state == OrderState.ISSUED


def test_an_assessor_dismisses_an_open_violation_with_a_reason(today, assessor, staff, dept, web_as, client,
                                                                api_as):
    v, w = filed(assessor, dept), filed(assessor, dept, title="另一项")
    web_as(staff)
    page = client.get(v.get_absolute_url()).content.decode()
    assert "群众投诉" in page and reverse("supervision:violation-dismiss", args=[v.pk]) not in page
    assert client.post(reverse("supervision:violation-dismiss", args=[v.pk]), {"reason": "x"}).status_code == 403
    web_as(assessor)
    response = client.post(reverse("supervision:violation-dismiss", args=[v.pk]), {"reason": "经核实系误报"})
    assert response.status_code == 302
    v.refresh_from_db()
    assert v.state == ViolationState.DISMISSED and v.dismissed_reason == "经核实系误报"
    again = client.post(reverse("supervision:violation-dismiss", args=[v.pk]), {"reason": "再次"}, follow=True)
    assert "只有待处理的违规行为可以撤销" in again.content.decode()
    answer = api_as(assessor).post(f"/api/v1/supervision/violations/{w.pk}/dismiss/", {"reason": "重复登记"},
                                   format="json")
    assert answer.status_code == 200 and answer.json()["state"] == ViolationState.DISMISSED
    assert AuditEvent.objects.filter(action="supervision.violation.dismissed").count() == 2
    with pytest.raises(PortalError) as exc:  # a dismissed violation cannot be ordered
        order_issue(actor=assessor, violation_ids=[v.pk], requirements="x", working_days=5)
    assert exc.value.code == "not_open"
