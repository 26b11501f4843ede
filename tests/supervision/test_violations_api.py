"""The API takes the same transitions as the pages (the same services): an order issued, reported with a document
(multipart), returned, reported, accepted through /api/v1/supervision/ leaves the same states, clock and audit trail
as through the pages; refusals answer {"code", "detail"} in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.choices import Clock, DeadlineState
from portal.models import AuditEvent, Deadline
from portal.services.deadlines import deadline_sweep
from supervision.choices import NoticeState, OrderState, ViolationState
from supervision.models import RectificationOrder, Violation
from supervision.services.orders import notices_draft_overdue
from tests.supervision.violation_helpers import filed, pdf

pytestmark = pytest.mark.django_db
API = "/api/v1/supervision/"


@pytest.fixture(autouse=True)
def setup(freeze_today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    freeze_today(dt.date(2026, 11, 25))


def test_the_order_lifecycle_through_the_api(api_as, assessor, staff, dept):
    a, s = api_as(assessor), api_as(staff)
    created = a.post(API + "violations/", {"category": "35.3", "department": dept.pk, "title": "要求提供营业执照",
                                           "evidence": "群众投诉"}, format="json")
    assert created.status_code == 201 and created.json()["article"] == "第三十五条第（三）项"
    vid = created.json()["id"]
    response = a.post(API + "orders/", {"violations": [vid], "requirements": "改为平台查询", "working_days": 10},
                      format="json")
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["state"] == OrderState.ISSUED and order["due_on"] == "2026-12-09" and order["violations"] == [vid]

    response = s.post(f"{API}orders/{order['id']}/report/", {"body": "已整改", "attachments": [pdf()]},
                      format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == OrderState.REPORTED
    assert body["reports"][0]["attachments"][0]["original_name"] == "整改报告.pdf"
    assert a.post(f"{API}orders/{order['id']}/return/", {"reason": "材料不全"}, format="json").json()["state"] == (
        OrderState.RETURNED)
    s.post(f"{API}orders/{order['id']}/report/", {"body": "已补充"}, format="multipart")
    accepted = a.post(f"{API}orders/{order['id']}/accept/", {"note": "到位"}, format="json").json()
    assert accepted["state"] == OrderState.ACCEPTED
    assert Violation.objects.get(pk=vid).state == ViolationState.RECTIFIED
    assert Deadline.objects.get(clock=Clock.RECTIFICATION).state == DeadlineState.CLOSED
    actions = list(AuditEvent.objects.filter(object_type="supervision.rectificationorder")
                   .order_by("id").values_list("action", flat=True))
    # The same events as the page lifecycle (tests/supervision/test_orders.py), without the page's download.
    assert actions == ["supervision.order.issued", "supervision.order.reported", "supervision.order.returned",
                       "supervision.order.reported", "supervision.order.accepted"]


def test_refusals_answer_a_stable_code_in_chinese(api_as, assessor, staff, other_staff, dept):
    a = api_as(assessor)
    v = filed(assessor, dept)
    no_deadline = a.post(API + "orders/", {"violations": [v.pk], "requirements": "限期整改"}, format="json")
    assert no_deadline.status_code == 400 and no_deadline.json()["code"] == "deadline_required"
    assert "整改期限" in no_deadline.json()["detail"]
    outside = a.post(API + "orders/", {"violations": [v.pk, 987654], "requirements": "x", "working_days": 5},
                     format="json")
    assert outside.status_code == 400 and outside.json()["code"] == "out_of_scope"
    assert not RectificationOrder.objects.exists()
    order = a.post(API + "orders/", {"violations": [v.pk], "requirements": "x", "working_days": 1},
                   format="json").json()
    elsewhere = api_as(other_staff).post(f"{API}orders/{order['id']}/report/", {"body": "x"}, format="multipart")
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "not_found"
    early = a.post(f"{API}orders/{order['id']}/accept/", {}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_reported"

    deadline_sweep(today=dt.date(2026, 12, 1))
    notices_draft_overdue()
    notice = a.get(API + "notices/").json()["results"][0]
    assert notice["state"] == NoticeState.DRAFT
    assert a.post(f"{API}notices/{notice['id']}/publish/").json()["state"] == NoticeState.PUBLISHED
    twice = a.post(f"{API}notices/{notice['id']}/publish/")
    assert twice.status_code == 409 and twice.json()["code"] == "already_published"
    assert "不能重复发布" in twice.json()["detail"]
    assert AuditEvent.objects.filter(action="supervision.notice.published").count() == 1
