"""Request workflow transitions: state, audit event, deadlines opened/closed, notifications."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from catalog.choices import EntryState, ShareType
from portal.choices import Clock, DeadlineState, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Deadline, Notification
from sharing.choices import GrantState, RequestState
from sharing.models import Grant
from sharing.policy import NoGrant, read_permission
from sharing.services.requests import (
    sharing_request_approve,
    sharing_request_comment,
    sharing_request_reject,
    sharing_request_submit,
    sharing_request_withdraw,
)
from tests.factories import make_user
from tests.sharing.helpers import request_values

pytestmark = pytest.mark.django_db


def review_clock(req):
    return Deadline.objects.for_case(req).get(clock=Clock.SHARING_REVIEW)


# ---------------------------------------------------------------- submit


def test_submit_opens_clock_audits_and_notifies(submitted, consumer, entry, bureau, staff, reviewer, audit_log):
    req = submitted
    assert req.state == RequestState.SUBMITTED and req.consumer == consumer.department
    assert req.items == ["法定代表人", "注册资本"] and req.methods == ["api"]
    clock = review_clock(req)
    assert clock.state == DeadlineState.OPEN and clock.working_days == 10 and clock.department == bureau
    assert clock.responsible_role == Role.BUREAU_REVIEWER
    [event] = audit_log("sharing.request.submitted")
    assert event.object_id == str(req.pk) and event.actor == consumer and event.data["items"] == req.items
    # The provider's staff and the bureau reviewers are told.
    assert Notification.objects.filter(recipient=staff).exists()
    assert Notification.objects.filter(recipient=reviewer).exists()


@override_settings(PORTAL={"SHARING_REVIEW_WORKING_DAYS": 5, "REMINDER_WORKING_DAYS": 2})
def test_review_working_days_are_configurable(consumer, entry, freeze_today):
    freeze_today(dt.date(2026, 11, 2))  # a Monday
    req = sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values())
    clock = review_clock(req)
    assert clock.working_days == 5 and clock.due_on == dt.date(2026, 11, 9)


def test_submit_with_attachments(consumer, entry, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pdf = SimpleUploadedFile("依据.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    req = sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(), attachments=[pdf])
    [att] = req.attachments.all()
    assert att.original_name == "依据.pdf" and att.size == 13 and len(att.sha256) == 64


@pytest.mark.parametrize("name,content", [
    ("x.exe", b"MZ" + b"x" * 10),
    ("renamed.pdf", b"MZ\x90\x00 not a pdf"),
    ("big.pdf", b"%PDF-" + b"x" * (10 * 1024 * 1024)),
])
def test_submit_refuses_bad_attachments(consumer, entry, name, content):
    f = SimpleUploadedFile(name, content)
    with pytest.raises(PortalError) as exc:
        sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(), attachments=[f])
    assert "attachments" in exc.value.errors


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"legal_basis": " "}, "legal_basis"),
        ({"items": []}, "items"),
        ({"items": ["不存在"]}, "items"),
        ({"methods": ["push"]}, "methods"),
        ({"purpose": "other"}, "purpose_detail"),
        ({"valid_from": dt.date(2030, 1, 2), "valid_to": dt.date(2030, 1, 1)}, "valid_to"),
        ({"valid_from": dt.date(2020, 1, 1), "valid_to": dt.date(2020, 2, 1)}, "valid_to"),
    ],
)
def test_submit_validates(consumer, entry, overrides, field, audit_log):
    with pytest.raises(PortalError) as exc:
        sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(**overrides))
    assert field in exc.value.errors
    assert audit_log("sharing.request.submitted") == []


def test_submit_refusals(consumer, staff, make_entry, reviewer):
    with pytest.raises(PortalError) as exc:  # own department's resource
        sharing_request_submit(actor=staff, entry_id=make_entry().pk, values=request_values())
    assert exc.value.code == "own_entry"
    with pytest.raises(PortalError) as exc:
        sharing_request_submit(
            actor=consumer, entry_id=make_entry(share_type=ShareType.UNCONDITIONAL).pk, values=request_values())
    assert exc.value.code == "unconditional"
    with pytest.raises(NotFound):
        sharing_request_submit(
            actor=consumer, entry_id=make_entry(state=EntryState.DRAFT).pk, values=request_values())
    with pytest.raises(PermissionDenied):  # a reviewer is not a department's data staff
        sharing_request_submit(actor=reviewer, entry_id=make_entry().pk, values=request_values())


# ---------------------------------------------------------------- comment


def test_provider_comments(submitted, staff, audit_log):
    comment = sharing_request_comment(actor=staff, request_id=submitted.pk, body="建议缩小范围")
    assert comment.department == staff.department
    [event] = audit_log("sharing.request.commented")
    assert event.object_id == str(submitted.pk)


def test_only_the_provider_comments(submitted, other_staff, county_bureau_user):
    with pytest.raises(PermissionDenied):  # the consumer sees the request but cannot comment as provider
        sharing_request_comment(actor=other_staff, request_id=submitted.pk, body="x")
    with pytest.raises(NotFound):  # outside scope
        sharing_request_comment(actor=county_bureau_user, request_id=submitted.pk, body="x")


# ---------------------------------------------------------------- approve / reject / withdraw


def test_approve_creates_grant_closes_clock(submitted, reviewer, other_dept, entry, audit_log):
    grant = sharing_request_approve(actor=reviewer, request_id=submitted.pk)
    submitted.refresh_from_db()
    assert submitted.state == RequestState.APPROVED and submitted.decided_by == reviewer
    assert grant.consumer == other_dept and grant.entry == entry and grant.items == ["法定代表人", "注册资本"]
    assert (grant.valid_from, grant.valid_to) == (submitted.valid_from, submitted.valid_to)
    assert grant.methods == ["api"] and grant.purpose == submitted.purpose and grant.state == GrantState.ACTIVE
    clock = review_clock(submitted)
    assert clock.state == DeadlineState.CLOSED and not clock.closed_late
    [event] = audit_log("sharing.request.approved")
    assert event.data["grant"] == grant.pk and event.data["narrowed"] is False
    assert event.data["state"] == {"old": "submitted", "new": "approved"}
    # and the grant works at once
    assert read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api").grant == grant


def test_approve_narrowing_items_and_period(submitted, reviewer, audit_log):
    end = submitted.valid_from + dt.timedelta(days=90)
    grant = sharing_request_approve(actor=reviewer, request_id=submitted.pk, items=["注册资本"],
                                             valid_to=end, comment="仅批准注册资本")
    assert grant.items == ["注册资本"] and grant.valid_to == end
    assert audit_log("sharing.request.approved")[0].data["narrowed"] is True
    with pytest.raises(NoGrant):
        read_permission(department=grant.consumer, entry=grant.entry, items=["法定代表人"], method="api")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"items": ["成立日期"]},  # not requested
        {"items": []},
        {"valid_to_offset": 1},  # longer than requested
        {"valid_from_offset": -1},
    ],
)
def test_approve_cannot_widen(submitted, reviewer, kwargs):
    call = {}
    if "items" in kwargs:
        call["items"] = kwargs["items"]
    if "valid_to_offset" in kwargs:
        call["valid_to"] = submitted.valid_to + dt.timedelta(days=kwargs["valid_to_offset"])
    if "valid_from_offset" in kwargs:
        call["valid_from"] = submitted.valid_from + dt.timedelta(days=kwargs["valid_from_offset"])
    with pytest.raises(PortalError):
        sharing_request_approve(actor=reviewer, request_id=submitted.pk, **call)
    assert not Grant.objects.exists()


def test_nobody_approves_their_own_departments_request(make_entry, bureau, reviewer):
    bureau_staff = make_user(Role.DEPT_STAFF, department=bureau, username="bureau_staff")
    req = sharing_request_submit(actor=bureau_staff, entry_id=make_entry().pk, values=request_values())
    with pytest.raises(PermissionDenied) as exc:
        sharing_request_approve(actor=reviewer, request_id=req.pk)
    assert exc.value.code == "own_department"
    with pytest.raises(PermissionDenied):
        sharing_request_reject(actor=reviewer, request_id=req.pk, reason="x")


def test_only_reviewers_decide(submitted, staff, other_staff, head):
    for user in (staff, other_staff, head):
        with pytest.raises(PermissionDenied):
            sharing_request_approve(actor=user, request_id=submitted.pk)


def test_reject_needs_reason_and_closes_clock(submitted, reviewer, audit_log):
    with pytest.raises(PortalError):
        sharing_request_reject(actor=reviewer, request_id=submitted.pk, reason=" ")
    req = sharing_request_reject(actor=reviewer, request_id=submitted.pk, reason="用途与职责不符")
    assert req.state == RequestState.REJECTED and req.decision_reason == "用途与职责不符"
    assert review_clock(req).state == DeadlineState.CLOSED
    [event] = audit_log("sharing.request.rejected")
    assert event.data["reason"] == "用途与职责不符"
    with pytest.raises(InvalidTransition):
        sharing_request_approve(actor=reviewer, request_id=req.pk)


def test_late_decision_is_recorded(consumer, entry, reviewer, freeze_today, audit_log):
    freeze_today(dt.date(2026, 11, 2))
    req = sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(
        valid_from=dt.date(2026, 11, 2), valid_to=dt.date(2027, 11, 1)))
    freeze_today(dt.date(2026, 11, 30))
    sharing_request_approve(actor=reviewer, request_id=req.pk)
    assert review_clock(req).closed_late is True
    assert audit_log("sharing.request.approved")[0].data["closed_late"] is True


def test_withdraw(submitted, consumer, staff, audit_log):
    with pytest.raises(PermissionDenied):  # the provider cannot withdraw the consumer's request
        sharing_request_withdraw(actor=staff, request_id=submitted.pk)
    req = sharing_request_withdraw(actor=consumer, request_id=submitted.pk)
    assert req.state == RequestState.WITHDRAWN and review_clock(req).state == DeadlineState.CLOSED
    assert len(audit_log("sharing.request.withdrawn")) == 1
    with pytest.raises(InvalidTransition):
        sharing_request_withdraw(actor=consumer, request_id=submitted.pk)
