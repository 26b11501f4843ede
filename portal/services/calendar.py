"""The bureau admin's calendar use cases: seed, edit a day (with its impact shown first), confirm a year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import CalendarSource, DayKind, Role
from portal.errors import PermissionDenied, PortalError
from portal.models import CalendarDay, CalendarYear, Deadline

from .deadlines import deadline_recompute_provisional
from .workdays import WorkCalendar

# chinese-calendar names holidays in English; the calendar shows the official Chinese names.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _require_admin(actor) -> None:
    if not actor.has_role(Role.SYSTEM_ADMIN):
        raise PermissionDenied()


def calendar_seed_from_library(*, day_model=CalendarDay, year_model=CalendarYear) -> list[int]:
    """Fill the calendar from chinese-calendar for every year it covers that is not in the table yet.

    Never overwrites a year that exists (the admin's table wins). Returns the years added. The
    models are parameters so the data migration can pass its historical models.
    """
    from chinese_calendar import constants

    days = [(d, DayKind.HOLIDAY, name) for d, name in constants.holidays.items()]
    days += [(d, DayKind.WORKDAY, name) for d, name in constants.workdays.items()]
    known = set(year_model.objects.values_list("year", flat=True))
    years = sorted({d.year for d, _k, _n in days} - known)
    if not years:
        return []
    with transaction.atomic():
        day_model.objects.bulk_create(
            [
                day_model(
                    date=d, kind=kind, name=HOLIDAY_NAMES.get(name, name), source=CalendarSource.LIBRARY,
                    basis="chinese-calendar",
                )
                for d, kind, name in days
                if d.year in years
            ],
            ignore_conflicts=True,
        )
        year_model.objects.bulk_create(
            [year_model(year=y, source=CalendarSource.LIBRARY, basis="chinese-calendar") for y in years],
            ignore_conflicts=True,
        )
    return years


@dataclass(frozen=True)
class Impact:
    deadline: Deadline
    due_now: dt.date
    due_if_recomputed: dt.date


class _EditedCalendar(WorkCalendar):
    def __init__(self, day: dt.date, is_workday: bool | None):
        super().__init__()
        self._day, self._value = day, is_workday

    def is_workday(self, day: dt.date) -> bool:
        if day == self._day:
            return self._value if self._value is not None else day.weekday() < 5
        return super().is_workday(day)


def calendar_change_impact(*, day: dt.date, kind: str | None) -> list[Impact]:
    """Running deadlines whose due date would move if `day` became `kind` (None = an ordinary day).

    They are *not* changed by the edit (R0.3): the admin sees them before confirming.
    """
    edited = _EditedCalendar(day, None if kind is None else kind == DayKind.WORKDAY)
    current = WorkCalendar()
    if edited.is_workday(day) == current.is_workday(day):
        return []
    impacts = []
    running = Deadline.objects.running().filter(started_on__lt=day, due_on__gte=day).select_related("department")
    for deadline in running:
        total = deadline.working_days + deadline.extended_days
        moved = edited.add_working_days(deadline.started_on, total).date
        if moved != deadline.due_on:
            impacts.append(Impact(deadline, deadline.due_on, moved))
    return impacts


def calendar_day_set(*, actor, day: dt.date, kind: str | None, name: str = "", basis: str = "") -> list[Impact]:
    """Make `day` a holiday or an adjusted working day, or (kind=None) an ordinary day again.

    Open deadlines keep their stored due dates; returns the ones that would have moved, which the
    audit event also lists. Raises PermissionDenied unless the actor is the system admin.
    """
    _require_admin(actor)
    if kind is not None and kind not in DayKind.values:
        raise PortalError(_("日期类型无效"))
    with transaction.atomic():
        impacts = calendar_change_impact(day=day, kind=kind)
        existing = CalendarDay.objects.select_for_update().filter(date=day).first()
        before = {"kind": existing.kind, "name": existing.name} if existing else None
        if kind is None:
            if existing:
                existing.delete()
        else:
            CalendarDay.objects.update_or_create(
                date=day,
                defaults={"kind": kind, "name": name, "basis": basis, "source": CalendarSource.ADMIN},
            )
        audit.record(
            actor=actor,
            action="portal.calendar.day_changed",
            object_type="portal.calendarday",
            object_id=day.isoformat(),
            object_repr=day.isoformat(),
            data={
                "before": before,
                "after": {"kind": kind, "name": name, "basis": basis} if kind else None,
                "deadlines_not_moved": [
                    {"deadline": i.deadline.pk, "due_on": i.due_now, "would_be": i.due_if_recomputed} for i in impacts
                ],
            },
        )
    return impacts


def calendar_year_confirm(*, actor, year: int, basis: str) -> list[dict]:
    """Declare `year`'s official schedule entered; recompute the provisional deadlines reaching into it.

    Raises PortalError when the year is already confirmed, PermissionDenied unless system admin.
    """
    _require_admin(actor)
    if not basis.strip():
        raise PortalError(_("请填写依据文件（如国务院办公厅关于节假日安排的通知文号）"), code="basis_required")
    with transaction.atomic():
        _year, created = CalendarYear.objects.get_or_create(
            year=year, defaults={"basis": basis, "source": CalendarSource.ADMIN, "confirmed_by": actor}
        )
        if not created:
            raise PortalError(_("%(year)d 年的节假日安排已确认") % {"year": year}, code="already_confirmed")
        moved = deadline_recompute_provisional(year=year)
        audit.record(
            actor=actor,
            action="portal.calendar.year_confirmed",
            object_type="portal.calendaryear",
            object_id=str(year),
            object_repr=str(year),
            data={"basis": basis, "deadlines_recomputed": moved},
        )
    return moved


def unconfirmed_years_ahead(*, today: dt.date, horizon_days: int = 90) -> list[int]:
    """Years within the next `horizon_days` whose schedule is not confirmed (the admin's warning)."""
    cal = WorkCalendar()
    years = {today.year, (today + dt.timedelta(days=horizon_days)).year}
    return sorted(y for y in years if not cal.is_confirmed(y))
