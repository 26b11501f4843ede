"""Grants: revocation, the nightly expiry and its reminder."""

import datetime as dt

import pytest
from django.utils import timezone

from portal.errors import InvalidTransition, NotFound, PermissionDenied
from portal.models import Notification
from sharing.choices import GrantState
from sharing.policy import NoGrant, read_permission
from sharing.services.grants import grant_expire_due, grant_revoke
from sharing.services.requests import sharing_request_approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(submitted, reviewer):
    return sharing_request_approve(actor=reviewer, request_id=submitted.pk)


@pytest.mark.parametrize("who", ["staff", "reviewer"])
def test_provider_or_bureau_revokes(grant, request, who, audit_log):
    actor = request.getfixturevalue(who)
    revoked = grant_revoke(actor=actor, grant_id=grant.pk, reason="业务已结束")
    assert revoked.state == GrantState.REVOKED and revoked.revoked_by == actor
    [event] = audit_log("sharing.grant.revoked")
    assert event.data["state"] == {"old": "active", "new": "revoked"}
    with pytest.raises(NoGrant):
        read_permission(department=grant.consumer, entry=grant.entry, items=["法定代表人"], method="api")
    with pytest.raises(InvalidTransition):
        grant_revoke(actor=actor, grant_id=grant.pk, reason="again")


def test_consumer_cannot_revoke_and_outsiders_get_404(grant, other_staff, county_bureau_user):
    with pytest.raises(PermissionDenied):
        grant_revoke(actor=other_staff, grant_id=grant.pk, reason="x")
    with pytest.raises(NotFound):
        grant_revoke(actor=county_bureau_user, grant_id=grant.pk, reason="x")


def test_expiry_job_is_set_based_idempotent_and_audited(make_entry, make_grant, other_dept, audit_log):
    entry = make_entry()
    today = timezone.localdate()
    old = make_grant(other_dept, entry, ["法定代表人"], valid_from=today - dt.timedelta(days=60),
                     valid_to=today - dt.timedelta(days=1))
    current = make_grant(other_dept, entry, ["注册资本"])
    revoked = make_grant(other_dept, entry, ["成立日期"], valid_to=today - dt.timedelta(days=1),
                         state=GrantState.REVOKED)
    assert grant_expire_due() == 1
    assert grant_expire_due() == 0
    old.refresh_from_db(), current.refresh_from_db(), revoked.refresh_from_db()
    assert (old.state, current.state, revoked.state) == (GrantState.EXPIRED, GrantState.ACTIVE, GrantState.REVOKED)
    [event] = audit_log("sharing.grant.expired")
    assert event.object_id == str(old.pk) and event.department_id == other_dept.pk and event.actor_label == "system"


def test_expiry_event_names_the_grant_its_entry_and_end_date_and_the_given_task(make_entry, make_grant, other_dept,
                                                                               audit_log):
    entry = make_entry()
    today = timezone.localdate()
    old = make_grant(other_dept, entry, ["法定代表人"], valid_from=today - dt.timedelta(days=60),
                     valid_to=today - dt.timedelta(days=1))
    assert grant_expire_due(request_id="task-42") == 1
    [event] = audit_log("sharing.grant.expired")
    assert (event.actor_id, event.role, event.object_type, event.object_repr, event.request_id, event.result) == (
        None, "", "sharing.grant", f"grant #{old.pk}", "task-42", "success")
    assert event.data == {"entry": entry.pk, "valid_to": old.valid_to.isoformat()}


def test_expiry_task_runs_the_service(make_entry, make_grant, other_dept):
    from sharing.tasks import grant_expire_task

    today = timezone.localdate()
    make_grant(other_dept, make_entry(), ["法定代表人"], valid_from=today - dt.timedelta(days=9),
               valid_to=today - dt.timedelta(days=1))
    assert grant_expire_task.apply().get() == 1




def test_expiry_job_reminds_once_and_tells_of_expiry(make_entry, make_grant, other_dept, other_staff,
                                                     django_capture_on_commit_callbacks):
    today = timezone.localdate()
    entry = make_entry(name="即将到期的资源")
    soon = make_grant(other_dept, entry, ["法定代表人"], valid_to=today + dt.timedelta(days=10))
    far = make_grant(other_dept, entry, ["注册资本"], valid_to=today + dt.timedelta(days=200))
    gone = make_grant(other_dept, entry, ["成立日期"], valid_from=today - dt.timedelta(days=20),
                      valid_to=today - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert grant_expire_due() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert grant_expire_due() == 0
    titles = sorted(Notification.objects.filter(recipient=other_staff).values_list("title", flat=True))
    assert len(titles) == 2 and any("即将到期" in t for t in titles) and any("已到期" in t for t in titles)
    soon.refresh_from_db(), far.refresh_from_db(), gone.refresh_from_db()
    assert soon.reminded_at is not None and far.reminded_at is None and gone.state == GrantState.EXPIRED
