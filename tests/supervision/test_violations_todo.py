"""我的待办 for violations and rectification: the assessor sees reports to check, orders falling due and notice
drafts; the reviewer the drafts; the department its open order as a running clock (not twice)."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.services.deadlines import deadline_sweep
from portal.todo import my_clocks, todo_groups
from supervision.services.orders import notices_draft_overdue, order_issue, order_report
from tests.supervision.violation_helpers import filed

pytestmark = pytest.mark.django_db


def keys(user, today):
    return {g.key: g.count for g in todo_groups(user, today=today) if g.key.startswith("supervision.")}


def test_each_role_sees_its_rectification_work(freeze_today, assessor, reviewer, staff, other_staff, dept):
    today = freeze_today(dt.date(2026, 11, 2))
    reported = order_issue(actor=assessor, violation_ids=[filed(assessor, dept).pk], requirements="x",
                           working_days=20)
    order_report(actor=staff, order_id=reported.pk, body="已整改")
    soon = order_issue(actor=assessor, violation_ids=[filed(assessor, dept, title="b").pk], requirements="x",
                       working_days=3)
    order_issue(actor=assessor, violation_ids=[filed(assessor, dept, title="c").pk], requirements="x",
                working_days=30)
    assert keys(assessor, today) == {"supervision.reports": 1, "supervision.orders_due": 1}
    assert keys(reviewer, today) == {}
    # The department's open orders are its running clocks.
    assert {d.case_id for d in my_clocks(staff)} >= {str(soon.pk)}
    assert keys(staff, today) == {} and keys(other_staff, today) == {}

    deadline_sweep(today=freeze_today(dt.date(2026, 11, 9)))
    notices_draft_overdue()
    assert keys(assessor, dt.date(2026, 11, 9))["supervision.notice_drafts"] == 1
    assert keys(reviewer, dt.date(2026, 11, 9)) == {"supervision.notice_drafts": 1}
    assert next(g for g in todo_groups(assessor, today=dt.date(2026, 11, 9))
                if g.key == "supervision.orders_due").urgent
