"""Working days (R0): add_working_days, remaining days and overdue, from the admin-maintained calendar.

The calendar table is the only truth at run time. A day is a working day when an exception row says
so (调休上班), not when one says it is a holiday, and otherwise when it is Monday–Friday. A year with
no CalendarYear row has not had its official schedule entered: it still computes (weekends only),
but every result that touches it is *provisional* (SPEC R0.2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from portal.choices import DayKind
from portal.models import CalendarDay, CalendarYear

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DueDate:
    date: dt.date
    provisional: bool


@dataclass
class WorkCalendar:
    """A read-only view of the calendar; loads each year's exceptions once, on first use."""

    overrides: dict[int, dict[dt.date, bool]] = field(default_factory=dict)
    confirmed_years: frozenset[int] | None = None

    def _year(self, year: int) -> dict[dt.date, bool]:
        if year not in self.overrides:
            self.overrides[year] = {
                d: kind == DayKind.WORKDAY
                for d, kind in CalendarDay.objects.filter(date__year=year).values_list("date", "kind")
            }
        return self.overrides[year]

    def is_confirmed(self, year: int) -> bool:
        if self.confirmed_years is None:
            self.confirmed_years = frozenset(CalendarYear.objects.values_list("year", flat=True))
        return year in self.confirmed_years

    def is_workday(self, day: dt.date) -> bool:
        override = self._year(day.year).get(day)
        return override if override is not None else day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> DueDate:
        """The n-th working day after `start` (the start day itself never counts, 民法典 第二百零一条)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        day, provisional = start, False
        while n:
            day += ONE_DAY
            if self.is_workday(day):
                n -= 1
                provisional = provisional or not self.is_confirmed(day.year)
        return DueDate(day, provisional)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_workday(day)
        return count

    def remaining_working_days(self, due: dt.date, today: dt.date | None = None) -> int:
        """Working days left until `due` (0 = due today); negative = working days overdue."""
        return self.working_days_between(today or local_today(), due)


def local_today() -> dt.date:
    return timezone.localdate()


def calendar() -> WorkCalendar:
    return WorkCalendar()


def add_working_days(start: dt.date, n: int) -> DueDate:
    return calendar().add_working_days(start, n)


def is_overdue(due: dt.date, today: dt.date | None = None) -> bool:
    """A deadline is met on its due day; overdue from the next calendar day on."""
    return (today or local_today()) > due
