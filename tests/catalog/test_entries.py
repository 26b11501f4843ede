"""Catalog entries: filing, each workflow transition (state, audit event, clocks), versions."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from catalog.choices import EntryState, ReviewDecision, ShareType
from catalog.models import CatalogEntry, CatalogEntryVersion, ResponsibilityItem
from catalog.services.entries import (
    catalog_entry_approve,
    catalog_entry_county_pass,
    catalog_entry_delete,
    catalog_entry_return,
    catalog_entry_save,
    catalog_entry_sign_off,
    catalog_entry_submit,
)
from portal.choices import Clock, DeadlineState
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Deadline
from tests.catalog.helpers import entry_items, entry_values

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


def clocks(case, clock=None):
    qs = Deadline.objects.for_case(case)
    return list(qs.filter(clock=clock) if clock else qs)


# ---------------------------------------------------------------- save


def test_create_issues_a_code_and_audits(make_entry, staff, dept, audit_log):
    entry = make_entry()
    assert entry.state == EntryState.DRAFT and entry.version == 0
    assert entry.code == f"303/{dept.credit_code}0001"
    assert entry.provider_code == dept.credit_code
    assert [i.name for i in entry.items.order_by("position")] == ["统一社会信用代码", "企业名称", "法定代表人"]
    (event,) = audit_log("catalog.entry.created")
    assert event.actor == staff and event.object_id == str(entry.pk) and event.data["code"] == entry.code
    second = make_entry(name="另一个资源")
    assert second.code.endswith("0002")


def test_update_keeps_item_rows_and_reissues_code_before_first_approval(make_entry, staff, audit_log):
    entry = make_entry()
    kept = entry.items.get(name="企业名称").pk
    updated = catalog_entry_save(
        actor=staff,
        department=staff.department,
        entry=entry,
        values=entry_values(classification="102"),
        items=entry_items("企业名称", "注册资本"),
    )
    assert updated.items.get(name="企业名称").pk == kept
    assert not updated.items.filter(name="法定代表人").exists()
    assert updated.code.startswith("102/")
    (event,) = audit_log("catalog.entry.updated")
    assert "classification" in event.data["fields"] and event.data["items_changed"]


def test_invalid_values_raise_with_errors(staff):
    with pytest.raises(PortalError) as exc:
        catalog_entry_save(
            actor=staff,
            department=staff.department,
            values=entry_values(share_type=ShareType.NONE, exchange_methods=[]),
            items=entry_items(),
        )
    assert exc.value.code == "invalid" and "no_share_basis" in exc.value.errors
    assert not CatalogEntry.objects.exists()


def test_cannot_file_for_another_department(staff, other_dept, make_entry, other_staff):
    with pytest.raises(NotFound):
        catalog_entry_save(actor=staff, department=other_dept, values=entry_values(), items=entry_items())
    entry = make_entry()
    with pytest.raises(NotFound):
        catalog_entry_save(
            actor=other_staff,
            department=other_staff.department,
            values=entry_values(),
            items=entry_items(),
            entry=entry,
        )


def test_database_enforces_the_sharing_rules(make_entry):
    entry = make_entry()
    for field, value in (("share_type", ShareType.CONDITIONAL), ("share_type", ShareType.NONE)):
        with pytest.raises(IntegrityError), transaction.atomic():
            CatalogEntry.objects.filter(pk=entry.pk).update(**{field: value})
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogEntry.objects.filter(pk=entry.pk).update(is_secret=True, state=EntryState.BUREAU_REVIEW)
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogEntry.objects.filter(pk=entry.pk).update(code=None)


def test_delete_draft(make_entry, staff, audit_log):
    entry = make_entry()
    catalog_entry_delete(actor=staff, entry_id=entry.pk)
    assert not CatalogEntry.objects.filter(pk=entry.pk).exists()
    assert audit_log("catalog.entry.deleted")[0].object_id == str(entry.pk)
    # the code is not handed out again
    assert make_entry().code.endswith("0002")


# ---------------------------------------------------------------- transitions


def test_submit(make_entry, staff, head, audit_log):
    entry = make_entry()
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    entry.refresh_from_db()
    assert entry.state == EntryState.SIGNOFF
    (event,) = audit_log("catalog.entry.submitted")
    assert event.data["state"] == {"old": "draft", "new": "signoff"}
    assert clocks(entry) == []
    assert entry.reviews.get().decision == ReviewDecision.SUBMITTED
    assert head.notifications.filter(url=entry.get_absolute_url()).exists()


def test_submitting_another_departments_entry_is_not_found(make_entry, other_staff):
    entry = make_entry()
    with pytest.raises(NotFound):
        catalog_entry_submit(actor=other_staff, entry_id=entry.pk)


def test_only_the_head_signs_off(make_entry, staff, reviewer):
    entry = make_entry()
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    with pytest.raises(PermissionDenied):
        catalog_entry_sign_off(actor=staff, entry_id=entry.pk)
    with pytest.raises(PermissionDenied):
        catalog_entry_sign_off(actor=reviewer, entry_id=entry.pk)


def test_sign_off_of_a_city_department_opens_the_bureau_clock(make_entry, staff, head, bureau, audit_log):
    entry = make_entry()
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    catalog_entry_sign_off(actor=head, entry_id=entry.pk, comment="同意报送")
    entry.refresh_from_db()
    assert entry.state == EntryState.BUREAU_REVIEW
    (event,) = audit_log("catalog.entry.signed_off")
    assert event.actor == head and event.data["state"]["new"] == "bureau_review"
    (clock,) = clocks(entry, Clock.CATALOG_REVIEW)
    assert clock.department == bureau and clock.responsible_role == "bureau_reviewer"
    assert clock.started_on == D(2026, 11, 25) and clock.due_on == D(2026, 12, 2)
    assert clock.state == DeadlineState.OPEN


def test_bureau_missing_is_a_clear_error(make_entry, staff, head):
    entry = make_entry()
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    with pytest.raises(PortalError) as exc:
        catalog_entry_sign_off(actor=head, entry_id=entry.pk)
    assert exc.value.code == "bureau_missing"
    entry.refresh_from_db()
    assert entry.state == EntryState.SIGNOFF  # rolled back


def test_county_department_goes_through_its_county_bureau(
    county_staff, county_head, county_bureau_user, other_county_bureau_user, reviewer, bureau, audit_log
):
    entry = catalog_entry_save(
        actor=county_staff, department=county_staff.department, values=entry_values(), items=entry_items()
    )
    catalog_entry_submit(actor=county_staff, entry_id=entry.pk)
    catalog_entry_sign_off(actor=county_head, entry_id=entry.pk)
    entry.refresh_from_db()
    assert entry.state == EntryState.COUNTY_REVIEW
    assert clocks(entry) == []
    assert county_bureau_user.notifications.exists()
    with pytest.raises(NotFound):  # another county's bureau does not even see it
        catalog_entry_county_pass(actor=other_county_bureau_user, entry_id=entry.pk)
    with pytest.raises(InvalidTransition):  # the city reviewer sees it but waits for the county
        catalog_entry_approve(actor=reviewer, entry_id=entry.pk)
    catalog_entry_county_pass(actor=county_bureau_user, entry_id=entry.pk, comment="初审通过")
    entry.refresh_from_db()
    assert entry.state == EntryState.BUREAU_REVIEW
    (event,) = audit_log("catalog.entry.county_passed")
    assert event.actor == county_bureau_user
    assert len(clocks(entry, Clock.CATALOG_REVIEW)) == 1
    catalog_entry_approve(actor=reviewer, entry_id=entry.pk)
    entry.refresh_from_db()
    assert entry.state == EntryState.APPROVED


def test_county_bureau_returns(county_staff, county_head, county_bureau_user, audit_log):
    entry = catalog_entry_save(
        actor=county_staff, department=county_staff.department, values=entry_values(), items=entry_items()
    )
    catalog_entry_submit(actor=county_staff, entry_id=entry.pk)
    catalog_entry_sign_off(actor=county_head, entry_id=entry.pk)
    catalog_entry_return(actor=county_bureau_user, entry_id=entry.pk, comment="摘要不完整")
    entry.refresh_from_db()
    assert entry.state == EntryState.RETURNED
    assert audit_log("catalog.entry.returned")[0].data["stage"] == "county"


def test_approve(bureau_review_entry, reviewer, staff, audit_log):
    entry = bureau_review_entry()
    catalog_entry_approve(actor=reviewer, entry_id=entry.pk, comment="同意")
    entry.refresh_from_db()
    assert entry.state == EntryState.APPROVED and entry.version == 1
    assert entry.publish_date == D(2026, 11, 25)
    (event,) = audit_log("catalog.entry.approved")
    assert event.actor == reviewer and event.data["version"] == 1 and event.data["share"]["changed"] is False
    (clock,) = clocks(entry, Clock.CATALOG_REVIEW)
    assert clock.state == DeadlineState.CLOSED and clock.closed_on == D(2026, 11, 25) and not clock.closed_late
    version = entry.versions.get()
    assert version.number == 1 and version.snapshot["values"]["name"] == entry.name
    assert len(version.snapshot["items"]) == 3
    lines = ResponsibilityItem.objects.filter(entry=entry, retired_on__isnull=True)
    assert sorted(r.item_name for r in lines) == ["企业名称", "法定代表人", "统一社会信用代码"]
    assert all(r.department_id == entry.provider_id and r.update_cycle == "daily" for r in lines)
    assert staff.notifications.filter(url=entry.get_absolute_url()).exists()


def test_approving_twice_is_refused_with_a_stable_code(bureau_review_entry, reviewer):
    entry = bureau_review_entry()
    catalog_entry_approve(actor=reviewer, entry_id=entry.pk)
    with pytest.raises(InvalidTransition) as exc:
        catalog_entry_approve(actor=reviewer, entry_id=entry.pk)
    assert exc.value.code == "already_approved"
    assert CatalogEntryVersion.objects.filter(entry=entry).count() == 1


def test_bureau_changes_the_sharing_type(bureau_review_entry, reviewer, audit_log):
    entry = bureau_review_entry()
    with pytest.raises(PortalError) as exc:
        catalog_entry_approve(actor=reviewer, entry_id=entry.pk, share_type=ShareType.CONDITIONAL)
    assert "share_condition" in exc.value.errors
    catalog_entry_approve(
        actor=reviewer, entry_id=entry.pk, share_type=ShareType.CONDITIONAL, share_condition="仅限市场监管执法使用"
    )
    entry.refresh_from_db()
    assert entry.share_type == ShareType.CONDITIONAL
    review = entry.reviews.get(decision=ReviewDecision.APPROVED)
    assert (review.share_type_before, review.share_type_after) == ("1", "2")
    assert audit_log("catalog.entry.approved")[0].data["share"]["changed"] is True


def test_bureau_returns_and_the_clock_closes(bureau_review_entry, reviewer, staff, head, audit_log):
    entry = bureau_review_entry()
    with pytest.raises(PortalError) as exc:
        catalog_entry_return(actor=reviewer, entry_id=entry.pk, comment=" ")
    assert exc.value.code == "comment_required"
    catalog_entry_return(actor=reviewer, entry_id=entry.pk, comment="共享类型依据不足")
    entry.refresh_from_db()
    assert entry.state == EntryState.RETURNED
    (clock,) = clocks(entry, Clock.CATALOG_REVIEW)
    assert clock.state == DeadlineState.CLOSED
    assert entry.reviews.last().comment == "共享类型依据不足"
    # resubmission: a new review clock
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    catalog_entry_sign_off(actor=head, entry_id=entry.pk)
    assert [c.state for c in clocks(entry, Clock.CATALOG_REVIEW)] == [DeadlineState.CLOSED, DeadlineState.OPEN]


def test_head_may_return_instead_of_signing(make_entry, staff, head):
    entry = make_entry()
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    catalog_entry_return(actor=head, entry_id=entry.pk, comment="补充摘要")
    entry.refresh_from_db()
    assert entry.state == EntryState.RETURNED


def test_published_code_is_immutable_and_entry_not_deletable(approved_entry, staff):
    entry = approved_entry()
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogEntry.objects.filter(pk=entry.pk).update(code="303/X0001")
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogEntryVersion.objects.filter(entry=entry).update(number=9)
    with pytest.raises(InvalidTransition):
        catalog_entry_save(
            actor=staff, department=staff.department, values=entry_values(), items=entry_items(), entry=entry
        )


def test_secret_entries_cannot_reach_the_platform(make_entry, staff):
    entry = make_entry()
    CatalogEntry.objects.filter(pk=entry.pk).update(is_secret=True)  # e.g. flagged by a secrecy review
    with pytest.raises(PortalError) as exc:
        catalog_entry_submit(actor=staff, entry_id=entry.pk)
    assert "is_secret" in exc.value.errors
