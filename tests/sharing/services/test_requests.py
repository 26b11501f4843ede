"""Request workflow transitions (state, audit event, deadlines opened/closed), grants, API clients."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from catalog.choices import EntryState, ShareType
from portal.choices import Clock, DeadlineState, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Deadline, Notification
from security import crypto
from sharing import services
from sharing.access import NoGrant, read_permission
from sharing.choices import ClientState, GrantState, RequestState
from sharing.models import Grant
from tests.factories import make_user

from .conftest import request_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumer(other_staff):
    return other_staff


@pytest.fixture
def entry(make_entry):
    return make_entry()


@pytest.fixture
def submitted(consumer, entry, staff, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values())


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
    req = services.sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values())
    clock = review_clock(req)
    assert clock.working_days == 5 and clock.due_on == dt.date(2026, 11, 9)


def test_submit_with_attachments(consumer, entry, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pdf = SimpleUploadedFile("依据.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    req = services.sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(), attachments=[pdf])
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
        services.sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(), attachments=[f])
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
        services.sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(**overrides))
    assert field in exc.value.errors
    assert audit_log("sharing.request.submitted") == []


def test_submit_refusals(consumer, staff, make_entry, reviewer):
    with pytest.raises(PortalError) as exc:  # own department's resource
        services.sharing_request_submit(actor=staff, entry_id=make_entry().pk, values=request_values())
    assert exc.value.code == "own_entry"
    with pytest.raises(PortalError) as exc:
        services.sharing_request_submit(
            actor=consumer, entry_id=make_entry(share_type=ShareType.UNCONDITIONAL).pk, values=request_values())
    assert exc.value.code == "unconditional"
    with pytest.raises(NotFound):
        services.sharing_request_submit(
            actor=consumer, entry_id=make_entry(state=EntryState.DRAFT).pk, values=request_values())
    with pytest.raises(PermissionDenied):  # a reviewer is not a department's data staff
        services.sharing_request_submit(actor=reviewer, entry_id=make_entry().pk, values=request_values())


# ---------------------------------------------------------------- comment


def test_provider_comments(submitted, staff, audit_log):
    comment = services.sharing_request_comment(actor=staff, request_id=submitted.pk, body="建议缩小范围")
    assert comment.department == staff.department
    [event] = audit_log("sharing.request.commented")
    assert event.object_id == str(submitted.pk)


def test_only_the_provider_comments(submitted, other_staff, county_bureau_user):
    with pytest.raises(PermissionDenied):  # the consumer sees the request but cannot comment as provider
        services.sharing_request_comment(actor=other_staff, request_id=submitted.pk, body="x")
    with pytest.raises(NotFound):  # outside scope
        services.sharing_request_comment(actor=county_bureau_user, request_id=submitted.pk, body="x")


# ---------------------------------------------------------------- approve / reject / withdraw


def test_approve_creates_grant_closes_clock(submitted, reviewer, other_dept, entry, audit_log):
    grant = services.sharing_request_approve(actor=reviewer, request_id=submitted.pk)
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
    grant = services.sharing_request_approve(actor=reviewer, request_id=submitted.pk, items=["注册资本"],
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
        services.sharing_request_approve(actor=reviewer, request_id=submitted.pk, **call)
    assert not Grant.objects.exists()


def test_nobody_approves_their_own_departments_request(make_entry, bureau, reviewer):
    bureau_staff = make_user(Role.DEPT_STAFF, department=bureau, username="bureau_staff")
    req = services.sharing_request_submit(actor=bureau_staff, entry_id=make_entry().pk, values=request_values())
    with pytest.raises(PermissionDenied) as exc:
        services.sharing_request_approve(actor=reviewer, request_id=req.pk)
    assert exc.value.code == "own_department"
    with pytest.raises(PermissionDenied):
        services.sharing_request_reject(actor=reviewer, request_id=req.pk, reason="x")


def test_only_reviewers_decide(submitted, staff, other_staff, head):
    for user in (staff, other_staff, head):
        with pytest.raises(PermissionDenied):
            services.sharing_request_approve(actor=user, request_id=submitted.pk)


def test_reject_needs_reason_and_closes_clock(submitted, reviewer, audit_log):
    with pytest.raises(PortalError):
        services.sharing_request_reject(actor=reviewer, request_id=submitted.pk, reason=" ")
    req = services.sharing_request_reject(actor=reviewer, request_id=submitted.pk, reason="用途与职责不符")
    assert req.state == RequestState.REJECTED and req.decision_reason == "用途与职责不符"
    assert review_clock(req).state == DeadlineState.CLOSED
    [event] = audit_log("sharing.request.rejected")
    assert event.data["reason"] == "用途与职责不符"
    with pytest.raises(InvalidTransition):
        services.sharing_request_approve(actor=reviewer, request_id=req.pk)


def test_late_decision_is_recorded(consumer, entry, reviewer, freeze_today, audit_log):
    freeze_today(dt.date(2026, 11, 2))
    req = services.sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values(
        valid_from=dt.date(2026, 11, 2), valid_to=dt.date(2027, 11, 1)))
    freeze_today(dt.date(2026, 11, 30))
    services.sharing_request_approve(actor=reviewer, request_id=req.pk)
    assert review_clock(req).closed_late is True
    assert audit_log("sharing.request.approved")[0].data["closed_late"] is True


def test_withdraw(submitted, consumer, staff, audit_log):
    with pytest.raises(PermissionDenied):  # the provider cannot withdraw the consumer's request
        services.sharing_request_withdraw(actor=staff, request_id=submitted.pk)
    req = services.sharing_request_withdraw(actor=consumer, request_id=submitted.pk)
    assert req.state == RequestState.WITHDRAWN and review_clock(req).state == DeadlineState.CLOSED
    assert len(audit_log("sharing.request.withdrawn")) == 1
    with pytest.raises(InvalidTransition):
        services.sharing_request_withdraw(actor=consumer, request_id=submitted.pk)


# ---------------------------------------------------------------- grants: revoke, expire


@pytest.fixture
def grant(submitted, reviewer):
    return services.sharing_request_approve(actor=reviewer, request_id=submitted.pk)


@pytest.mark.parametrize("who", ["staff", "reviewer"])
def test_provider_or_bureau_revokes(grant, request, who, audit_log):
    actor = request.getfixturevalue(who)
    revoked = services.grant_revoke(actor=actor, grant_id=grant.pk, reason="业务已结束")
    assert revoked.state == GrantState.REVOKED and revoked.revoked_by == actor
    [event] = audit_log("sharing.grant.revoked")
    assert event.data["state"] == {"old": "active", "new": "revoked"}
    with pytest.raises(NoGrant):
        read_permission(department=grant.consumer, entry=grant.entry, items=["法定代表人"], method="api")
    with pytest.raises(InvalidTransition):
        services.grant_revoke(actor=actor, grant_id=grant.pk, reason="again")


def test_consumer_cannot_revoke_and_outsiders_get_404(grant, other_staff, county_bureau_user):
    with pytest.raises(PermissionDenied):
        services.grant_revoke(actor=other_staff, grant_id=grant.pk, reason="x")
    with pytest.raises(NotFound):
        services.grant_revoke(actor=county_bureau_user, grant_id=grant.pk, reason="x")


def test_expiry_job_is_set_based_idempotent_and_audited(make_entry, make_grant, other_dept, audit_log):
    entry = make_entry()
    today = timezone.localdate()
    old = make_grant(other_dept, entry, ["法定代表人"], valid_from=today - dt.timedelta(days=60),
                     valid_to=today - dt.timedelta(days=1))
    current = make_grant(other_dept, entry, ["注册资本"])
    revoked = make_grant(other_dept, entry, ["成立日期"], valid_to=today - dt.timedelta(days=1),
                         state=GrantState.REVOKED)
    assert services.grant_expire_due() == 1
    assert services.grant_expire_due() == 0
    old.refresh_from_db(), current.refresh_from_db(), revoked.refresh_from_db()
    assert (old.state, current.state, revoked.state) == (GrantState.EXPIRED, GrantState.ACTIVE, GrantState.REVOKED)
    [event] = audit_log("sharing.grant.expired")
    assert event.object_id == str(old.pk) and event.department_id == other_dept.pk and event.actor_label == "system"


def test_expiry_task_runs_the_service(make_entry, make_grant, other_dept):
    from sharing.tasks import grant_expire_task

    today = timezone.localdate()
    make_grant(other_dept, make_entry(), ["法定代表人"], valid_from=today - dt.timedelta(days=9),
               valid_to=today - dt.timedelta(days=1))
    assert grant_expire_task.apply().get() == 1


# ---------------------------------------------------------------- API clients


def test_register_stores_secret_encrypted_only(security_admin, other_dept, audit_log):
    client, secret = services.api_client_register(actor=security_admin, department_id=other_dept.pk, name="系统A")
    assert client.client_id.startswith("jzc_") and client.department == other_dept
    assert secret not in client.secret_enc and crypto.decrypt(client.secret_enc) == secret
    [event] = audit_log("sharing.client.registered")
    assert secret not in str(event.data) and event.department_id == other_dept.pk


def test_only_security_admin_manages_clients(reviewer, staff, other_dept, api_client_row):
    client, _secret = api_client_row
    for actor in (reviewer, staff):
        with pytest.raises(NotFound):
            services.api_client_register(actor=actor, department_id=other_dept.pk, name="x")
        with pytest.raises(NotFound):
            services.api_client_suspend(actor=actor, client_pk=client.pk, reason="x")


def test_suspend_resume_rotate(security_admin, api_client_row, audit_log):
    client, secret = api_client_row
    client = services.api_client_suspend(actor=security_admin, client_pk=client.pk, reason="疑似泄露")
    assert client.state == ClientState.SUSPENDED
    with pytest.raises(InvalidTransition):
        services.api_client_suspend(actor=security_admin, client_pk=client.pk, reason="again")
    client = services.api_client_resume(actor=security_admin, client_pk=client.pk)
    assert client.state == ClientState.ACTIVE and client.suspend_reason == ""
    client, new_secret = services.api_client_rotate_secret(actor=security_admin, client_pk=client.pk)
    assert new_secret != secret and crypto.decrypt(client.secret_enc) == new_secret
    actions = [e.action for e in audit_log() if e.action.startswith("sharing.client.")]
    assert actions == ["sharing.client.registered", "sharing.client.suspended", "sharing.client.resumed",
                       "sharing.client.secret_rotated"]


def test_expiry_job_reminds_once_and_tells_of_expiry(make_entry, make_grant, other_dept, other_staff,
                                                     django_capture_on_commit_callbacks):
    today = timezone.localdate()
    entry = make_entry(name="即将到期的资源")
    soon = make_grant(other_dept, entry, ["法定代表人"], valid_to=today + dt.timedelta(days=10))
    far = make_grant(other_dept, entry, ["注册资本"], valid_to=today + dt.timedelta(days=200))
    gone = make_grant(other_dept, entry, ["成立日期"], valid_from=today - dt.timedelta(days=20),
                      valid_to=today - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.grant_expire_due() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.grant_expire_due() == 0
    titles = sorted(Notification.objects.filter(recipient=other_staff).values_list("title", flat=True))
    assert len(titles) == 2 and any("即将到期" in t for t in titles) and any("已到期" in t for t in titles)
    soon.refresh_from_db(), far.refresh_from_db(), gone.refresh_from_db()
    assert soon.reminded_at is not None and far.reminded_at is None and gone.state == GrantState.EXPIRED
