"""portal.selectors.deadlines: one rule for a row's remaining working days and whether it is overdue."""

import datetime as dt

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from portal.choices import Clock
from portal.models import Deadline, Department
from portal.selectors.deadlines import deadline_row, deadline_rows, with_deadline
from portal.services.deadlines import deadline_close, deadline_open

pytestmark = pytest.mark.django_db
D = dt.date
WEDNESDAY, FRIDAY = D(2026, 11, 25), D(2026, 11, 27)


def clock(case, *, due_in: int = 2, kind=Clock.VERIFICATION) -> Deadline:
    return deadline_open(case=case, clock=kind, department=case, working_days=due_in, title=f"事项{case.pk}",
                         started_on=WEDNESDAY)


def test_remaining_working_days_and_overdue_follow_one_rule(dept):
    deadline = clock(dept)  # 2 working days from Wednesday 25 November: due Friday
    assert deadline.due_on == FRIDAY
    cases = {
        WEDNESDAY: (2, False, 0),         # two working days left
        FRIDAY: (0, False, 0),            # due today
        D(2026, 11, 28): (0, True, 0),    # Saturday: overdue from the next calendar day on, 0 working days past
        D(2026, 11, 30): (-1, True, 1),   # Monday: one working day past
    }
    for today, expected in cases.items():
        row = deadline_row(deadline, today=today)
        assert (row.remaining, row.overdue, row.overdue_days) == expected, today


def test_a_closed_clock_or_none_has_no_remaining_days(dept, other_dept):
    deadline = clock(dept)
    deadline_close(case=dept, clock=Clock.VERIFICATION, on=D(2026, 11, 26))
    deadline.refresh_from_db()
    row = deadline_row(deadline, today=D(2026, 12, 10))
    assert (row.due_on, row.remaining, row.overdue, row.overdue_days) == (FRIDAY, None, False, 0)
    (row,) = deadline_rows(with_deadline(Department.objects.filter(pk=other_dept.pk), Clock.VERIFICATION))
    assert (row.due_on, row.remaining, row.overdue) == (None, None, False)


def test_cases_annotated_with_their_latest_clock(dept, other_dept):
    clock(dept, due_in=2)
    clock(other_dept, due_in=5, kind=Clock.SHARING_REVIEW)  # another clock: not the one asked for
    cases = with_deadline(Department.objects.filter(pk__in=[dept.pk, other_dept.pk]).order_by("pk"),
                          Clock.VERIFICATION)
    with CaptureQueriesContext(connection) as queries:
        rows = deadline_rows(cases, name="case", today=D(2026, 11, 30))
    assert len([q for q in queries if "portal_department" in q["sql"]]) == 1  # the list stays one query
    by_case = {row.case.pk: row for row in rows}
    assert (by_case[dept.pk].due_on, by_case[dept.pk].item.clock_state, by_case[dept.pk].remaining) == (
        FRIDAY, "open", -1)
    assert by_case[dept.pk].overdue and by_case[dept.pk].overdue_days == 1
    assert by_case[other_dept.pk].due_on is None and by_case[other_dept.pk].remaining is None


def test_a_row_answers_to_the_pages_word_for_its_item(dept):
    deadline = clock(dept)
    row = deadline_row(deadline, name="deadline", today=FRIDAY)
    assert row.deadline is row.item is deadline
    with pytest.raises(AttributeError):
        row.case  # noqa: B018
    page = Template("{% for row in rows %}{{ row.deadline.title }}:{{ row.remaining }}{% endfor %}")
    assert page.render(Context({"rows": [row]})) == f"事项{dept.pk}:0"
