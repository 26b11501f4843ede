"""The grant enforcement matrix of sharing.policy.read_permission (R19, R25)."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.choices import EntryState, ShareType
from portal.errors import NotFound, PortalError
from sharing.choices import GrantState
from sharing.policy import GrantExpired, MethodNotOffered, NoGrant, read_permission

pytestmark = pytest.mark.django_db

ALL = ("统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期")
BASE = ("统一社会信用代码", "企业名称")


def at(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def test_unconditional_entry_readable_whole_without_grant(make_entry, other_dept):
    entry = make_entry(share_type=ShareType.UNCONDITIONAL)
    perm = read_permission(department=other_dept, entry=entry, items=None, method="api")
    assert perm.items == ALL and perm.grant is None and perm.unconditional and perm.basis == "unconditional"
    perm = read_permission(department=other_dept, entry=entry, items=["注册资本"], method="query")
    assert perm.items == ("注册资本",)


def test_unconditional_entry_still_only_by_offered_methods(make_entry, other_dept):
    entry = make_entry(share_type=ShareType.UNCONDITIONAL, methods=["api"])
    with pytest.raises(MethodNotOffered) as exc:
        read_permission(department=other_dept, entry=entry, items=None, method="download")
    assert exc.value.code == "method_not_offered" and exc.value.status == 403


@pytest.mark.parametrize("share_type", [ShareType.CONDITIONAL, ShareType.NONE])
def test_base_items_are_always_unconditional(make_entry, other_dept, share_type):
    entry = make_entry(share_type=share_type)
    perm = read_permission(department=other_dept, entry=entry, items=list(BASE), method="api")
    assert perm.items == BASE and perm.grant is None
    # Default projection without a grant: the base items only.
    perm = read_permission(department=other_dept, entry=entry, items=None, method="api")
    assert perm.items == BASE and perm.grant is None


@pytest.mark.parametrize("share_type", [ShareType.CONDITIONAL, ShareType.NONE])
def test_conditional_without_grant_is_no_grant(make_entry, other_dept, share_type):
    entry = make_entry(share_type=share_type)
    with pytest.raises(NoGrant) as exc:
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")
    assert exc.value.code == "no_grant" and exc.value.status == 403


def test_conditional_without_base_items_and_without_grant_refuses_default(make_entry, other_dept):
    entry = make_entry(items=[("姓名", "C", False, False), ("身份证号码", "C", False, True)])
    with pytest.raises(NoGrant):
        read_permission(department=other_dept, entry=entry, items=None, method="api")


@pytest.mark.parametrize("share_type", [ShareType.CONDITIONAL, ShareType.NONE])
def test_conditional_with_grant(make_entry, make_grant, other_dept, share_type):
    entry = make_entry(share_type=share_type)
    grant = make_grant(other_dept, entry, ["法定代表人", "注册资本"])
    perm = read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")
    assert perm.grant == grant and perm.items == ("法定代表人",) and perm.purpose == grant.purpose
    # Default projection: granted items plus base items, in the entry's order.
    perm = read_permission(department=other_dept, entry=entry, items=None, method="api")
    assert perm.items == ("统一社会信用代码", "企业名称", "法定代表人", "注册资本") and perm.grant == grant
    # Base and granted items together.
    perm = read_permission(department=other_dept, entry=entry, items=["企业名称", "注册资本"], method="api")
    assert perm.items == ("企业名称", "注册资本") and perm.grant == grant


def test_items_outside_grant_are_refused_and_named(make_entry, make_grant, other_dept):
    entry = make_entry()
    make_grant(other_dept, entry, ["法定代表人"])
    with pytest.raises(NoGrant) as exc:
        read_permission(department=other_dept, entry=entry, items=["法定代表人", "成立日期"], method="api")
    assert exc.value.errors == {"items": ["成立日期"]}


def test_method_outside_grant_is_no_grant(make_entry, make_grant, other_dept):
    entry = make_entry()
    make_grant(other_dept, entry, ["法定代表人"], methods=["api"])
    with pytest.raises(NoGrant) as exc:
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="download")
    assert exc.value.errors == {"method": ["download"]}


def test_method_the_entry_does_not_offer(make_entry, make_grant, other_dept):
    entry = make_entry(methods=["api"])
    make_grant(other_dept, entry, ["法定代表人"], methods=["api"])
    with pytest.raises(MethodNotOffered):
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="push")


def test_expired_grant_by_date_even_before_the_job_ran(make_entry, make_grant, other_dept):
    entry = make_entry()
    today = timezone.localdate()
    grant = make_grant(other_dept, entry, ["法定代表人"], valid_from=today - dt.timedelta(days=60),
                       valid_to=today - dt.timedelta(days=1))
    assert grant.state == GrantState.ACTIVE  # the expiry job has not run
    with pytest.raises(GrantExpired) as exc:
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")
    assert exc.value.code == "grant_expired" and exc.value.status == 403
    # Base items stay readable whatever happened to the grant? Not by default: the caller learns it expired.
    with pytest.raises(GrantExpired):
        read_permission(department=other_dept, entry=entry, items=None, method="api")
    assert read_permission(department=other_dept, entry=entry, items=list(BASE), method="api").items == BASE


def test_grant_checked_at_the_moment_of_the_read(make_entry, make_grant, other_dept):
    entry = make_entry()
    today = timezone.localdate()
    make_grant(other_dept, entry, ["法定代表人"], valid_from=today, valid_to=today + dt.timedelta(days=10))
    assert read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api", at=at(10)).grant
    with pytest.raises(GrantExpired):
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api", at=at(11))
    with pytest.raises(NoGrant):  # not valid yet
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api", at=at(-1))


def test_expired_state_is_grant_expired(make_entry, make_grant, other_dept):
    entry = make_entry()
    make_grant(other_dept, entry, ["法定代表人"], state=GrantState.EXPIRED)
    with pytest.raises(GrantExpired):
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")


def test_revoked_grant_is_no_grant(make_entry, make_grant, other_dept):
    entry = make_entry()
    make_grant(other_dept, entry, ["法定代表人"], state=GrantState.REVOKED)
    with pytest.raises(NoGrant):
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")


def test_renewed_grant_wins_over_expired_one(make_entry, make_grant, other_dept):
    entry = make_entry()
    today = timezone.localdate()
    make_grant(other_dept, entry, ["法定代表人"], valid_from=today - dt.timedelta(days=60),
               valid_to=today - dt.timedelta(days=1))
    fresh = make_grant(other_dept, entry, ["法定代表人"])
    assert read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api").grant == fresh


def test_grant_of_another_department_does_not_count(make_entry, make_grant, other_dept, county_bureau_user):
    entry = make_entry()
    make_grant(other_dept, entry, ["法定代表人"])
    with pytest.raises(NoGrant):
        read_permission(department=county_bureau_user.department, entry=entry, items=["法定代表人"], method="api")


def test_grant_on_another_entry_does_not_count(make_entry, make_grant, other_dept):
    entry, other_entry = make_entry(), make_entry()
    make_grant(other_dept, other_entry, ["法定代表人"])
    with pytest.raises(NoGrant):
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")


def test_two_grants_pick_the_one_covering_the_call(make_entry, make_grant, other_dept):
    entry = make_entry()
    narrow = make_grant(other_dept, entry, ["法定代表人"])
    wide = make_grant(other_dept, entry, ["注册资本", "成立日期"])
    assert read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api").grant == narrow
    assert read_permission(department=other_dept, entry=entry, items=["成立日期"], method="api").grant == wide
    # No single grant covers both: purpose-bound, one call is under one grant.
    with pytest.raises(NoGrant):
        read_permission(department=other_dept, entry=entry, items=["法定代表人", "成立日期"], method="api")


def test_provider_reads_its_own_entry_whole(make_entry, dept):
    entry = make_entry(share_type=ShareType.NONE, methods=[])
    perm = read_permission(department=dept, entry=entry, items=None, method="push")
    assert perm.items == ALL and perm.grant is None and perm.basis == "provider"


@pytest.mark.parametrize("state", [EntryState.DRAFT, EntryState.BUREAU_REVIEW, EntryState.RETURNED])
def test_unpublished_entry_is_not_found(make_entry, other_dept, dept, state):
    entry = make_entry(share_type=ShareType.UNCONDITIONAL, state=state)
    with pytest.raises(NotFound):
        read_permission(department=other_dept, entry=entry, items=None, method="api")
    with pytest.raises(NotFound):  # not even the provider reads an unpublished entry through the API
        read_permission(department=dept, entry=entry, items=None, method="api")


def test_unknown_items_and_methods_are_invalid(make_entry, other_dept):
    entry = make_entry(share_type=ShareType.UNCONDITIONAL)
    with pytest.raises(PortalError) as exc:
        read_permission(department=other_dept, entry=entry, items=["不存在"], method="api")
    assert exc.value.code == "invalid" and exc.value.status == 400 and exc.value.errors == {"items": ["不存在"]}
    with pytest.raises(PortalError) as exc:
        read_permission(department=other_dept, entry=entry, items=None, method="ftp")
    assert exc.value.code == "invalid"
    with pytest.raises(PortalError) as exc:
        read_permission(department=other_dept, entry=entry, items=[], method="api")
    assert exc.value.code == "invalid"


def test_api_error_shape(make_entry, other_dept, rf):
    """The refusals map to the SPEC's JSON shape through the one API exception handler."""
    from portal.exceptions import api_exception_handler

    entry = make_entry()
    try:
        read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api")
    except NoGrant as exc:
        response = api_exception_handler(exc, {})
    assert response.status_code == 403 and response.data["code"] == "no_grant" and response.data["detail"]


def test_authorize_read_audits_refusals_for_people_and_clients(make_entry, make_grant, other_staff, api_client_row,
                                                               audit_log):
    from portal.choices import AuditResult
    from security.signing.principal import ClientPrincipal
    from sharing.policy import authorize_read

    entry = make_entry()
    with pytest.raises(NoGrant):
        authorize_read(user=other_staff, entry=entry, items=["法定代表人"], method="api", purpose="核验")
    principal = ClientPrincipal(api_client_row[0])
    today = timezone.localdate()
    make_grant(other_staff.department, entry, ["法定代表人"], valid_from=today - dt.timedelta(days=9),
               valid_to=today - dt.timedelta(days=1))
    with pytest.raises(GrantExpired):
        authorize_read(user=principal, entry=entry, items=["法定代表人"], method="api", purpose="业务协同")
    people, client = audit_log("sharing.data.refused")
    assert people.actor == other_staff and people.data["code"] == "no_grant" and people.result == AuditResult.DENIED
    assert client.actor is None and client.actor_label == principal.username
    assert client.department_id == other_staff.department_id and client.data["code"] == "grant_expired"
    assert client.object_id == str(entry.pk) and client.data["purpose"] == "业务协同"
    # An allowed read is not audited here (the data endpoint records it with what it returned).
    perm = authorize_read(user=principal, entry=entry, items=["企业名称"], method="api")
    assert perm.items == ("企业名称",) and len(audit_log("sharing.data.refused")) == 2
