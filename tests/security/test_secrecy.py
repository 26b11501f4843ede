"""Secrecy review of resources (R30): a flagged resource is not made shareable — by the bureau's approval of a
filing or of an update case — until a reviewer's decision with its basis allows it; pages, API, who may do what,
audit events."""

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.choices import EntryState, ShareType
from catalog.models import CatalogEntry
from catalog.services.entries import (
    catalog_entry_approve,
    catalog_entry_delete,
    catalog_entry_save,
    catalog_entry_sign_off,
    catalog_entry_submit,
)
from catalog.services.update_cases import update_case_approve, update_case_open, update_case_save, update_case_submit
from portal.choices import Role
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import AuditEvent, Notification
from security.choices import SecrecyDecision, SecrecyState
from security.models import SecrecyReview
from security.services.secrecy import secrecy_review_decide, secrecy_review_flag
from tests.catalog.helpers import entry_items, entry_values
from tests.factories import make_user
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db

API = "/api/v1/security/secrecy-reviews/"


@pytest.fixture
def in_review(staff, head, bureau):
    """An unconditional filing of staff's department waiting for the bureau's approval."""
    entry = catalog_entry_save(actor=staff, department=staff.department, values=entry_values(),
                               items=entry_items())
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    return catalog_entry_sign_off(actor=head, entry_id=entry.pk)


def test_a_flagged_filing_waits_for_the_reviewers_decision(web_as, security_admin, reviewer, in_review):
    response = web_as(security_admin).post(reverse("security:secrecy-list"), {
        "resource": in_review.resource_key, "reason": "含有未公开的监管数据"})
    review = SecrecyReview.objects.get()
    assert response.status_code == 302 and response["Location"] == review.get_absolute_url()
    assert review.entry == in_review and review.state == SecrecyState.PENDING
    assert Notification.objects.filter(recipient=reviewer, url=review.get_absolute_url()).exists()

    with pytest.raises(InvalidTransition) as refused:
        catalog_entry_approve(actor=reviewer, entry_id=in_review.pk)
    assert refused.value.code == "secrecy_review" and "待保密审查" in str(refused.value.detail)
    in_review.refresh_from_db()
    assert in_review.state == EntryState.BUREAU_REVIEW and not AuditEvent.objects.filter(
        action="catalog.entry.approved").exists()

    client = web_as(reviewer)
    assert 'data-testid="secrecy-decide"' in client.get(review.get_absolute_url()).content.decode()
    client.post(reverse("security:secrecy-decide", args=[review.pk]),
                {"decision": SecrecyDecision.SHAREABLE, "basis": "经审查不属于国家秘密和工作秘密"})
    review.refresh_from_db()
    assert review.state == SecrecyState.DECIDED and review.decided_by == reviewer
    assert review.basis == "经审查不属于国家秘密和工作秘密"

    entry = catalog_entry_approve(actor=reviewer, entry_id=in_review.pk)
    assert entry.state == EntryState.APPROVED and entry.share_type == ShareType.UNCONDITIONAL
    flagged = AuditEvent.objects.get(action="security.secrecy_review.flagged")
    decided = AuditEvent.objects.get(action="security.secrecy_review.decided")
    assert flagged.actor == security_admin and flagged.data["entry"] == in_review.pk
    assert decided.actor == reviewer and decided.data["decision"] == "shareable"


def test_not_shareable_lets_only_an_unshared_approval_through(security_admin, reviewer, in_review):
    review = secrecy_review_flag(actor=reviewer, resource=in_review.resource_key, reason="涉及敏感信息")
    secrecy_review_decide(actor=reviewer, review_id=review.pk, decision=SecrecyDecision.NOT_SHAREABLE,
                          basis="属于工作秘密")
    for share_type in (ShareType.UNCONDITIONAL, ShareType.CONDITIONAL):
        with pytest.raises(InvalidTransition) as refused:
            catalog_entry_approve(actor=reviewer, entry_id=in_review.pk, share_type=share_type,
                                  share_condition="仅限业务协同")
        assert "不宜共享" in str(refused.value.detail)
    entry = catalog_entry_approve(actor=reviewer, entry_id=in_review.pk, share_type=ShareType.NONE,
                                  no_share_basis="保密审查结论：属于工作秘密")
    assert entry.state == EntryState.APPROVED and entry.share_type == ShareType.NONE


def test_an_update_case_keeping_a_flagged_resource_shared_waits_too(staff, reviewer, security_admin, in_review):
    entry = catalog_entry_approve(actor=reviewer, entry_id=in_review.pk)
    case = update_case_open(actor=staff, entry_id=entry.pk, trigger_kind="law_amended",
                            trigger_date=timezone.localdate(), trigger_document="《条例》修订")
    update_case_save(actor=staff, case_id=case.pk, values=entry_values(update_cycle="weekly"),
                     items=entry_items())
    update_case_submit(actor=staff, case_id=case.pk)
    review = secrecy_review_flag(actor=security_admin, resource=entry.resource_key, reason="新增敏感字段")
    with pytest.raises(InvalidTransition):
        update_case_approve(actor=reviewer, case_id=case.pk)
    assert CatalogEntry.objects.get(pk=entry.pk).update_cycle == "daily"
    secrecy_review_decide(actor=reviewer, review_id=review.pk, decision=SecrecyDecision.SHAREABLE, basis="可共享")
    update_case_approve(actor=reviewer, case_id=case.pk)
    assert CatalogEntry.objects.get(pk=entry.pk).update_cycle == "weekly"


def test_the_service_refuses_what_it_should(security_admin, reviewer, staff, in_review):
    with pytest.raises(PermissionDenied):
        secrecy_review_flag(actor=staff, resource=in_review.resource_key, reason="事由")
    for resource, reason, field in [("303-NOPE", "事由", "resource"), (in_review.resource_key, " ", "reason"),
                                    ("a\x00b", "事由", "resource")]:
        with pytest.raises(PortalError) as refused:
            secrecy_review_flag(actor=security_admin, resource=resource, reason=reason)
        assert field in refused.value.errors
    review = secrecy_review_flag(actor=security_admin, resource=in_review.resource_key, reason="事由")
    with pytest.raises(InvalidTransition):
        secrecy_review_flag(actor=reviewer, resource=in_review.resource_key, reason="再次")
    with pytest.raises(PermissionDenied):
        secrecy_review_decide(actor=security_admin, review_id=review.pk, decision="shareable", basis="依据")
    with pytest.raises(PortalError):
        secrecy_review_decide(actor=reviewer, review_id=review.pk, decision="maybe", basis="依据")
    secrecy_review_decide(actor=reviewer, review_id=review.pk, decision="shareable", basis="依据")
    with pytest.raises(InvalidTransition):
        secrecy_review_decide(actor=reviewer, review_id=review.pk, decision="not_shareable", basis="改变主意")
    # A fresh flag after a decision opens a new review, and the guard follows the latest one.
    secrecy_review_flag(actor=security_admin, resource=in_review.resource_key, reason="情况变化")
    with pytest.raises(InvalidTransition):
        catalog_entry_approve(actor=reviewer, entry_id=in_review.pk)
    assert AuditEvent.objects.filter(action="security.secrecy_review.flagged").count() == 2


def test_the_api_flags_and_decides(api_as, security_admin, reviewer, in_review):
    flagged = api_as(security_admin).post(API, {"resource": in_review.resource_key, "reason": "待定"},
                                          format="json")
    assert flagged.status_code == 201, flagged.content
    pk = flagged.json()["id"]
    assert flagged.json()["resource"] == in_review.resource_key and flagged.json()["state"] == "pending"
    again = api_as(security_admin).post(API, {"resource": in_review.resource_key, "reason": "再次"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_pending"
    reader = api_as(reviewer)
    assert [r["id"] for r in reader.get(API + "?state=pending").json()["results"]] == [pk]
    assert reader.get(API + "?state=nope").status_code == 400
    decided = reader.post(f"{API}{pk}/decide/", {"decision": "shareable", "basis": "不涉密"}, format="json")
    assert decided.status_code == 200 and decided.json()["decision_label"] == "可以共享"
    assert reader.post(f"{API}{pk}/decide/", {"decision": "shareable", "basis": "x"},
                       format="json").json()["code"] == "already_decided"


@pytest.fixture
def people(db, system_admin, security_admin, audit_admin, reviewer, staff, head, county_bureau_user, bureau):
    return {"anonymous": None, "system_admin": system_admin, "security_admin": security_admin,
            "audit_admin": audit_admin, "reviewer": reviewer, "staff": staff, "head": head,
            "county": county_bureau_user, "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor")}


def test_who_may_flag_decide_and_read(people, security_admin, in_review):
    review = secrecy_review_flag(actor=security_admin, resource=in_review.resource_key, reason="事由")
    business = ("staff", "head", "county", "assessor")
    others = {"system_admin": 404, "audit_admin": 404, **dict.fromkeys(business, 404)}
    check_matrix(people, [
        Row("get", reverse("security:secrecy-list"), {"anonymous": LOGIN, "security_admin": 200, "reviewer": 200,
                                                      **others}),
        Row("get", review.get_absolute_url(), {"anonymous": LOGIN, "security_admin": 200, "reviewer": 200,
                                               **others}),
        Row("post", reverse("security:secrecy-decide", args=[review.pk]),
            {"anonymous": LOGIN, "security_admin": 403, "reviewer": 302, **others},
            {"decision": "shareable", "basis": "依据"}),
    ], isolated=True)
    api_others = {"system_admin": 404, "audit_admin": 404, **dict.fromkeys(business, 403)}
    check_matrix(people, [
        Row("get", API, {"anonymous": 401, "security_admin": 200, "reviewer": 200, **api_others}),
        Row("post", f"{API}{review.pk}/decide/", {"anonymous": 401, "security_admin": 403, "reviewer": 200,
                                                  **api_others}, {"decision": "shareable", "basis": "依据"}),
        Row("get", f"{API}{review.pk + 1000}/", {"security_admin": 404, "reviewer": 404}),
    ], api=True, isolated=True)
    review.refresh_from_db()
    assert review.state == SecrecyState.PENDING  # each cell was rolled back


def test_the_desk_the_menu_and_the_schema_lead_to_the_register(web_as, security_admin, reviewer, client):
    desk = web_as(security_admin).get(reverse("security:index")).content.decode()
    assert f'href="{reverse("security:secrecy-list")}"' in desk
    menu = web_as(reviewer).get(reverse("home")).content.decode()
    assert f'href="{reverse("security:incident-list")}"' in menu
    client.logout()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {API, f"{API}{{id}}/", f"{API}{{id}}/decide/"} <= set(schema["paths"])


def test_a_flagged_draft_can_still_be_deleted_by_its_department(staff, security_admin):
    draft = catalog_entry_save(actor=staff, department=staff.department, values=entry_values(), items=entry_items())
    secrecy_review_flag(actor=security_admin, resource=draft.resource_key, reason="事由")
    catalog_entry_delete(actor=staff, entry_id=draft.pk)
    assert not SecrecyReview.objects.exists()
    assert AuditEvent.objects.filter(action="security.secrecy_review.flagged").exists()
