"""The deadline service and the beat sweep: reminders and overdue marking exactly once, set-based."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.choices import Clock, DeadlineState, Role
from portal.errors import InvalidTransition
from portal.models import Deadline, Notification
from portal.services.deadlines import deadline_close, deadline_extend, deadline_open, deadline_sweep
from tests.factories import DepartmentFactory, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


def open_clock(case, department, *, start, days=10, clock=Clock.VERIFICATION, role=""):
    return deadline_open(case=case, clock=clock, department=department, working_days=days, title=f"事项{case.pk}",
                         started_on=start, responsible_role=role)


def test_open_close_and_lateness(dept):
    deadline = open_clock(dept, dept, start=D(2026, 9, 30))
    assert (deadline.due_on, deadline.state) == (D(2026, 10, 20), DeadlineState.OPEN)  # the sweep marks it
    with pytest.raises(InvalidTransition):
        open_clock(dept, dept, start=D(2026, 9, 30))
    closed = deadline_close(case=dept, clock=Clock.VERIFICATION, on=D(2026, 10, 21))
    assert (closed.state, closed.closed_late) == (DeadlineState.CLOSED, True)
    assert deadline_close(case=dept, clock=Clock.VERIFICATION) is None  # nothing running any more
    again = open_clock(dept, dept, start=D(2026, 11, 25))  # a closed clock may run again
    assert again.state == DeadlineState.OPEN


def test_extension_moves_the_due_date_by_working_days(dept):
    open_clock(dept, dept, start=D(2026, 11, 25))
    extended = deadline_extend(case=dept, clock=Clock.VERIFICATION, working_days=10, reason="负责人批准")
    assert extended.due_on == D(2026, 12, 23)  # 12-09 + 10 working days
    assert extended.extended_days == 10
    with pytest.raises(InvalidTransition):
        deadline_extend(case=DepartmentFactory(), clock=Clock.VERIFICATION, working_days=1, reason="x")


def test_sweep_reminds_and_marks_overdue_exactly_once(dept, staff, head, other_staff, audit_log):
    soon = open_clock(dept, dept, start=D(2026, 11, 20), days=5)  # due 11-27
    late = open_clock(DepartmentFactory(), dept, start=D(2026, 11, 2), days=10)  # due 11-16
    far = open_clock(DepartmentFactory(), dept, start=D(2026, 11, 25), days=10)  # due 12-09
    today = D(2026, 11, 25)

    first = deadline_sweep(today=today)
    second = deadline_sweep(today=today)

    assert (first.reminded, first.overdue) == (1, 1)
    assert (second.reminded, second.overdue, second.notified) == (0, 0, 0)
    soon.refresh_from_db(), late.refresh_from_db(), far.refresh_from_db()
    assert soon.reminded_at is not None and soon.state == DeadlineState.OPEN
    assert late.state == DeadlineState.OVERDUE and late.overdue_at is not None
    assert far.reminded_at is None and far.state == DeadlineState.OPEN
    # Staff and head of the responsible department, nobody else, once per deadline.
    notes = Notification.objects.order_by("recipient__username", "kind")
    assert [(n.recipient.username, n.kind) for n in notes] == [
        ("head", "overdue"), ("head", "reminder"), ("staff", "overdue"), ("staff", "reminder"),
    ]
    assert notes[0].title.startswith("已超期：")
    assert len(audit_log("portal.deadline.overdue")) == 1
    assert len(audit_log("portal.deadline.reminded")) == 1


def test_reminder_horizon_is_two_working_days(dept, staff):
    # Friday 2026-11-27: two working days ahead is Tuesday 12-01; Wednesday 12-02 is not yet reminded.
    tue = open_clock(dept, dept, start=D(2026, 11, 24), days=5)  # due 12-01
    wed = open_clock(DepartmentFactory(), dept, start=D(2026, 11, 25), days=5)  # due 12-02
    deadline_sweep(today=D(2026, 11, 27))
    tue.refresh_from_db(), wed.refresh_from_db()
    assert tue.reminded_at is not None
    assert wed.reminded_at is None


def test_responsible_role_holders_are_notified(bureau, reviewer):
    open_clock(bureau, bureau, start=D(2026, 11, 2), days=5, clock=Clock.SHARING_REVIEW, role=Role.BUREAU_REVIEWER)
    make_user(Role.SYSTEM_ADMIN, department=bureau)  # same department, other role: not told
    deadline_sweep(today=D(2026, 11, 25))
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["reviewer"]


def test_sweep_query_count_does_not_grow_with_cases(dept, staff):
    def queries_for(n):
        Deadline.objects.all().delete()
        for _ in range(n):
            open_clock(DepartmentFactory(), dept, start=D(2026, 11, 2), days=5)
        with CaptureQueriesContext(connection) as ctx:
            deadline_sweep(today=D(2026, 11, 25))
        return len(ctx.captured_queries)

    assert queries_for(1) == queries_for(40)


def test_extension_after_overdue_reopens_and_earns_a_new_reminder(dept, staff):
    open_clock(dept, dept, start=D(2026, 11, 2), days=5)
    deadline_sweep(today=D(2026, 11, 25))
    extended = deadline_extend(case=dept, clock=Clock.VERIFICATION, working_days=20, reason="x")
    assert extended.state == DeadlineState.OPEN and extended.reminded_at is None
