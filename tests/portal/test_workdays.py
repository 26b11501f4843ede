"""The working-day calendar: 2026 holidays and 调休, counting across them, the unconfirmed-year rule."""

import datetime as dt

import pytest

from portal.choices import DayKind
from portal.models import CalendarYear
from portal.services.workdays import WorkCalendar, add_working_days, is_overdue

pytestmark = pytest.mark.django_db
D = dt.date


def test_national_day_2026_is_off_and_the_makeup_saturday_is_on():
    cal = WorkCalendar()
    assert [cal.is_workday(D(2026, 10, d)) for d in range(1, 8)] == [False] * 7
    assert cal.is_workday(D(2026, 10, 10))  # Saturday 调休上班
    assert cal.is_workday(D(2026, 9, 20))  # Sunday 调休上班
    assert not cal.is_workday(D(2026, 10, 11))  # an ordinary Sunday
    assert not cal.is_workday(D(2026, 9, 25))  # 中秋
    assert cal.is_workday(D(2026, 9, 30))


def test_ten_working_days_across_national_day():
    # From Wed 2026-09-30: 10-01..07 off; 10-08, 10-09, 10-10 (Saturday, on), 10-12..16, 10-19, 10-20
    assert add_working_days(D(2026, 9, 30), 10).date == D(2026, 10, 20)
    # Starting on a holiday does not count the start (chinese-calendar's find_workday is off by one here).
    due = add_working_days(D(2026, 9, 25), 10)
    assert due.date == D(2026, 10, 15)
    assert due.provisional is False


def test_start_day_never_counts_and_zero_days_is_the_start():
    assert add_working_days(D(2026, 11, 24), 1).date == D(2026, 11, 25)
    assert add_working_days(D(2026, 11, 27), 1).date == D(2026, 11, 30)  # Friday → Monday
    assert add_working_days(D(2026, 11, 24), 0).date == D(2026, 11, 24)


def test_unconfirmed_year_counts_weekends_only_and_marks_provisional():
    assert not CalendarYear.objects.filter(year=2027).exists()
    due = add_working_days(D(2026, 12, 24), 10)
    # 12-25 Fri, 12-28..31 (4), 2027-01-01 Fri counted as a working day (provisionally), 01-04..06
    assert due.date == D(2027, 1, 7)
    assert due.provisional is True


def test_admin_override_wins_over_the_library(system_admin):
    from portal.services.calendar import calendar_day_set

    calendar_day_set(actor=system_admin, day=D(2026, 11, 30), kind=DayKind.HOLIDAY, name="测试", basis="测试")
    assert not WorkCalendar().is_workday(D(2026, 11, 30))
    calendar_day_set(actor=system_admin, day=D(2026, 11, 30), kind=None)
    assert WorkCalendar().is_workday(D(2026, 11, 30))


def test_remaining_and_overdue():
    cal = WorkCalendar()
    assert cal.remaining_working_days(D(2026, 10, 9), today=D(2026, 9, 30)) == 2
    assert cal.remaining_working_days(D(2026, 9, 30), today=D(2026, 9, 30)) == 0
    assert cal.remaining_working_days(D(2026, 9, 29), today=D(2026, 10, 9)) == -3  # 9-30, 10-8, 10-9
    assert not is_overdue(D(2026, 9, 30), today=D(2026, 9, 30))
    assert is_overdue(D(2026, 9, 30), today=D(2026, 10, 1))


def test_library_seed_is_idempotent_and_never_overwrites_admin_years():
    from portal.services.calendar import calendar_seed_from_library

    assert calendar_seed_from_library() == []
    assert CalendarYear.objects.filter(year=2026, source="library").exists()
