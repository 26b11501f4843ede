"""Catalog update cases (R10): the 10-working-day application clock from the trigger date, the bureau's
5-working-day review clock from receipt, and approval updating entry and responsibility list together."""

import datetime as dt

import pytest

from catalog.choices import UpdateCaseState
from catalog.models import CatalogEntryVersion, ResponsibilityItem
from catalog.services.update_cases import (
    update_case_approve,
    update_case_open,
    update_case_return,
    update_case_save,
    update_case_submit,
    update_case_withdraw,
)
from portal.choices import Clock, DeadlineState
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Deadline
from portal.services.deadlines import deadline_sweep
from tests.catalog.helpers import entry_items, entry_values

pytestmark = pytest.mark.django_db
D = dt.date
TRIGGER = D(2026, 9, 28)


def clock(case, kind):
    return Deadline.objects.for_case(case).get(clock=kind)


@pytest.fixture
def published(freeze_today, approved_entry):
    freeze_today(D(2026, 9, 21))
    return approved_entry()


def open_case(staff, entry, trigger=TRIGGER):
    return update_case_open(
        actor=staff,
        entry_id=entry.pk,
        trigger_kind="law_amended",
        trigger_date=trigger,
        trigger_document="《市场主体登记管理条例》（2026年修订）",
    )


def propose(staff, case, *names):
    return update_case_save(
        actor=staff, case_id=case.pk, values=entry_values(update_cycle="weekly"), items=entry_items(*names)
    )


def test_clocks_across_national_day(published, staff, reviewer, bureau, freeze_today, audit_log):
    """2026: 10-01..10-07 off, Saturday 10-10 a working day."""
    freeze_today(D(2026, 9, 30))
    case = open_case(staff, published)
    apply = clock(case, Clock.CATALOG_UPDATE_APPLY)
    assert (apply.started_on, apply.due_on) == (D(2026, 9, 28), D(2026, 10, 16))
    assert apply.department_id == published.provider_id and apply.state == DeadlineState.OPEN
    (event,) = audit_log("catalog.update_case.opened")
    assert event.data["trigger_date"] == "2026-09-28"

    propose(staff, case, "企业名称", "注册资本")
    assert audit_log("catalog.update_case.updated")
    update_case_submit(actor=staff, case_id=case.pk)
    case.refresh_from_db()
    assert case.state == UpdateCaseState.SUBMITTED and case.submitted_on == D(2026, 9, 30)
    apply.refresh_from_db()
    assert apply.state == DeadlineState.CLOSED and not apply.closed_late
    review = clock(case, Clock.CATALOG_UPDATE_REVIEW)
    assert (review.started_on, review.due_on) == (D(2026, 9, 30), D(2026, 10, 13))
    assert review.department == bureau and review.responsible_role == "bureau_reviewer"
    assert audit_log("catalog.update_case.submitted")[0].data["applied_late"] is False

    freeze_today(D(2026, 10, 14))  # one working day late
    update_case_approve(actor=reviewer, case_id=case.pk, comment="同意")
    review.refresh_from_db()
    assert review.state == DeadlineState.CLOSED and review.closed_late
    case.refresh_from_db()
    assert case.state == UpdateCaseState.APPROVED and case.decided_by == reviewer


def test_approval_updates_entry_and_responsibility_list_together(published, staff, reviewer, freeze_today, audit_log):
    freeze_today(D(2026, 9, 30))
    kept = published.items.get(name="企业名称").pk
    case = open_case(staff, published)
    propose(staff, case, "企业名称", "注册资本")
    update_case_submit(actor=staff, case_id=case.pk)
    freeze_today(D(2026, 10, 9))
    update_case_approve(actor=reviewer, case_id=case.pk)
    published.refresh_from_db()
    assert published.version == 2 and published.update_cycle == "weekly"
    assert published.code.startswith("303/")
    assert published.items.get(name="企业名称").pk == kept
    current = ResponsibilityItem.objects.filter(entry=published, retired_on__isnull=True)
    assert sorted(r.item_name for r in current) == ["企业名称", "注册资本", "统一社会信用代码"]
    assert {r.update_cycle for r in current} == {"weekly"} and {r.entry_version for r in current} == {2}
    retired = ResponsibilityItem.objects.get(entry=published, item_name="法定代表人")
    assert retired.retired_on == D(2026, 10, 9)
    v1, v2 = CatalogEntryVersion.objects.filter(entry=published).order_by("number")
    assert v2.update_case == case and v2.snapshot["values"]["update_cycle"] == "weekly"
    from catalog.selectors.entries import version_diff

    diff = version_diff(v1.snapshot, v2.snapshot)
    assert diff["items"]["added"] == ["注册资本"] and diff["items"]["removed"] == ["法定代表人"]
    assert [f["field"] for f in diff["fields"]] == ["update_cycle"]
    (event,) = audit_log("catalog.update_case.approved")
    assert event.data["version"] == 2 and event.data["responsibility"] == {"created": 1, "updated": 2, "retired": 1}


def test_late_application_is_recorded(published, staff, freeze_today, audit_log):
    freeze_today(D(2026, 9, 30))
    case = open_case(staff, published, trigger=D(2026, 9, 1))
    apply = clock(case, Clock.CATALOG_UPDATE_APPLY)
    assert apply.due_on == D(2026, 9, 15)
    deadline_sweep(today=D(2026, 9, 30))  # the beat job marks it overdue and tells the department
    apply.refresh_from_db()
    assert apply.state == DeadlineState.OVERDUE
    assert staff.notifications.filter(deadline=apply).exists()
    propose(staff, case, "企业名称")
    update_case_submit(actor=staff, case_id=case.pk)
    apply.refresh_from_db()
    assert apply.closed_late
    assert audit_log("catalog.update_case.submitted")[0].data["applied_late"] is True


def test_return_and_resubmit(published, staff, reviewer, freeze_today, audit_log):
    freeze_today(D(2026, 9, 30))
    case = open_case(staff, published)
    propose(staff, case, "企业名称", "注册资本")
    update_case_submit(actor=staff, case_id=case.pk)
    with pytest.raises(PortalError):
        update_case_return(actor=reviewer, case_id=case.pk, comment="")
    update_case_return(actor=reviewer, case_id=case.pk, comment="请补充依据")
    case.refresh_from_db()
    assert case.state == UpdateCaseState.RETURNED
    assert clock(case, Clock.CATALOG_UPDATE_REVIEW).state == DeadlineState.CLOSED
    assert audit_log("catalog.update_case.returned")[0].data["comment"] == "请补充依据"
    update_case_submit(actor=staff, case_id=case.pk)
    running = Deadline.objects.for_case(case).filter(clock=Clock.CATALOG_UPDATE_REVIEW).running()
    assert running.count() == 1


def test_rules(published, staff, other_staff, reviewer, freeze_today, make_entry):
    freeze_today(D(2026, 9, 30))
    with pytest.raises(NotFound):
        open_case(other_staff, published)
    with pytest.raises(NotFound):
        open_case(reviewer, published)
    with pytest.raises(InvalidTransition):  # a draft is edited directly
        open_case(staff, make_entry(name="草稿"))
    with pytest.raises(PortalError) as exc:
        open_case(staff, published, trigger=D(2026, 10, 30))
    assert "trigger_date" in exc.value.errors
    case = open_case(staff, published)
    with pytest.raises(InvalidTransition) as exc:
        open_case(staff, published)
    assert exc.value.code == "update_case_running"
    with pytest.raises(PortalError) as exc:
        update_case_submit(actor=staff, case_id=case.pk)
    assert exc.value.code == "no_changes"
    with pytest.raises(PortalError) as exc:
        update_case_save(
            actor=staff, case_id=case.pk, values=entry_values(classification="101"), items=entry_items()
        )
    assert "classification" in exc.value.errors
    with pytest.raises(PermissionDenied):
        update_case_approve(actor=staff, case_id=case.pk)
    with pytest.raises(InvalidTransition):
        update_case_approve(actor=reviewer, case_id=case.pk)


def test_approve_twice_and_withdraw(published, staff, reviewer, freeze_today, audit_log):
    freeze_today(D(2026, 9, 30))
    case = open_case(staff, published)
    propose(staff, case, "企业名称")
    update_case_submit(actor=staff, case_id=case.pk)
    update_case_approve(actor=reviewer, case_id=case.pk)
    with pytest.raises(InvalidTransition) as exc:
        update_case_approve(actor=reviewer, case_id=case.pk)
    assert exc.value.code == "already_approved"
    second = open_case(staff, published)
    update_case_withdraw(actor=staff, case_id=second.pk, reason="经核实目录无需变更")
    second.refresh_from_db()
    assert second.state == UpdateCaseState.WITHDRAWN
    assert clock(second, Clock.CATALOG_UPDATE_APPLY).state == DeadlineState.CLOSED
    assert audit_log("catalog.update_case.withdrawn")
