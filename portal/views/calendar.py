"""The working-day calendar: the system administrator's year view, day edits and year confirmation."""

from __future__ import annotations

import calendar as pycal
import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.forms import CalendarDayForm, CalendarYearConfirmForm
from portal.models import CalendarDay, CalendarYear, Deadline
from portal.services.calendar import (
    calendar_change_impact,
    calendar_day_set,
    calendar_year_confirm,
    unconfirmed_years_ahead,
)
from portal.services.workdays import WorkCalendar, local_today
from portal.shortcuts import role_required


@role_required(Role.SYSTEM_ADMIN)
def calendar_view(request, year: int | None = None):
    """The working-day calendar of a year, month by month, with its exceptions and confirmation state."""
    today = local_today()
    year = year or today.year
    cal = WorkCalendar()
    exceptions = {d.date: d for d in CalendarDay.objects.filter(date__year=year)}
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycal.Calendar().monthdatescalendar(year, month):
            weeks.append(
                [
                    {
                        "date": d,
                        "in_month": d.month == month,
                        "workday": cal.is_workday(d),
                        "exception": exceptions.get(d),
                        "today": d == today,
                    }
                    for d in week
                ]
            )
        months.append({"month": month, "weeks": weeks})
    context = {
        "year": year,
        "months": months,
        "confirmed": CalendarYear.objects.filter(year=year).first(),
        "exceptions": sorted(exceptions.values(), key=lambda d: d.date),
        "day_form": CalendarDayForm(initial={"date": dt.date(year, 1, 1) if year != today.year else today}),
        "confirm_form": CalendarYearConfirmForm(initial={"year": year}),
        "years": range(today.year - 1, today.year + 3),
        "unconfirmed_years": unconfirmed_years_ahead(today=today),
        "provisional_count": Deadline.objects.running().filter(provisional=True).count(),
    }
    return render(request, "portal/calendar.html", context)


@role_required(Role.SYSTEM_ADMIN)
def calendar_day_edit(request):
    """Two steps: show which running deadlines the change would have moved, then save on confirmation."""
    form = CalendarDayForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "portal/calendar_day.html", {"form": form})
    data = form.cleaned_data
    kind = data["kind"] or None
    if not data["confirmed"]:
        impacts = calendar_change_impact(day=data["date"], kind=kind)
        confirm = CalendarDayForm(initial={**data, "confirmed": True})
        return render(request, "portal/calendar_day.html", {"form": confirm, "impacts": impacts, "preview": True})
    try:
        impacts = calendar_day_set(
            actor=request.user, day=data["date"], kind=kind, name=data["name"], basis=data["basis"]
        )
    except PortalError as exc:
        form.add_error(None, str(exc.detail))
        return render(request, "portal/calendar_day.html", {"form": form})
    messages.success(
        request,
        _("已保存 %(date)s。%(n)d 个进行中事项的截止日期保持不变。") % {"date": data["date"], "n": len(impacts)},
    )
    return redirect("calendar-year", year=data["date"].year)


@role_required(Role.SYSTEM_ADMIN)
@require_POST
def calendar_year_confirm_view(request):
    form = CalendarYearConfirmForm(request.POST)
    if form.is_valid():
        try:
            moved = calendar_year_confirm(
                actor=request.user, year=form.cleaned_data["year"], basis=form.cleaned_data["basis"]
            )
        except PortalError as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(
                request,
                _("已确认 %(year)d 年节假日安排，重新计算了 %(n)d 个暂定截止日期。")
                % {"year": form.cleaned_data["year"], "n": len(moved)},
            )
        return redirect("calendar-year", year=form.cleaned_data["year"])
    messages.error(request, " ".join(m for errs in form.errors.values() for m in errs))
    return redirect("calendar")
