"""Kernel pages: login/logout, the "my pending work" dashboard, messages, the working-day calendar, tokens."""

from __future__ import annotations

import calendar as pycal
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.forms import CalendarDayForm, CalendarYearConfirmForm, LoginForm, OwnPasswordChangeForm, TokenForm
from portal.lockout import current_locks, locked_until
from portal.models import CalendarDay, CalendarYear, Deadline, Notification
from portal.permissions import int_or_none
from portal.selectors.deadlines import deadline_rows
from portal.services.auth import password_change
from portal.services.calendar import (
    calendar_change_impact,
    calendar_day_set,
    calendar_year_confirm,
    unconfirmed_years_ahead,
)
from portal.services.lockout import unlock
from portal.services.notifications import notification_mark_read
from portal.services.passwords import password_expired
from portal.services.tokens import token_create, token_revoke
from portal.services.workdays import WorkCalendar, local_today
from portal.shortcuts import role_required


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        # The session, last_login and the audit event (the user_logged_in receiver) commit together.
        with transaction.atomic():
            return super().form_valid(form)


def locked_out(request, response=None, credentials=None):
    """axes' lockout answer (AXES_LOCKOUT_CALLABLE): the login page, saying in Chinese until when it is locked."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    until = locked_until(username=username, ip_address=getattr(request, "axes_ip_address", None))
    until = until or request.axes_attempt_time + settings.AXES_COOLOFF_TIME
    form = LoginForm(request, initial={"username": username})
    context = {"form": form, "locked_until": timezone.localtime(until), "next": request.POST.get("next", "")}
    return render(request, "portal/login.html", context, status=429)


@login_required
def password_change_view(request):
    """Every signed-in user's own password change; the one page open to a user whose password has expired."""
    form = OwnPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_change(
            user=request.user, new_password=form.cleaned_data["new_password1"],
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        update_session_auth_hash(request, request.user)  # stay signed in with the new password
        messages.success(request, _("密码已修改。"))
        return redirect("home")
    return render(request, "portal/password_change.html", {"form": form, "expired": password_expired(request.user)})


def logout_view(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return auth_views.LogoutView.as_view()(request)


@role_required(Role.SECURITY_ADMIN)
def locks(request):
    """The security administrator's page: accounts and source addresses locked now; unlock one (audited)."""
    if request.method == "POST":
        kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
        if kind in ("username", "ip_address") and value:
            unlock(actor=request.user, kind=kind, value=value)
            messages.success(request, _("已解除锁定：%(value)s") % {"value": value})
        return redirect("locks")
    return render(request, "portal/locks.html", {"locks": current_locks()})


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request):
    """My pending work: running clocks assigned to me, soonest first; supervisors also see their scope."""
    user, today, cal = request.user, local_today(), WorkCalendar()
    mine = Deadline.objects.running().assigned_to(user).select_related("department").order_by("due_on", "id")
    context = {"mine": deadline_rows(mine[:200], name="deadline", today=today, calendar=cal), "today": today}
    if user.has_role(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR):
        scope = Deadline.objects.running().restrict(user, "view").select_related("department")
        overdue = scope.filter(due_on__lt=today).order_by("due_on")[:100]
        context["scope_overdue"] = deadline_rows(overdue, name="deadline", today=today, calendar=cal)
        context["scope_open_count"] = scope.count()
    if user.has_role(Role.SYSTEM_ADMIN):
        context["unconfirmed_years"] = unconfirmed_years_ahead(today=today)
    return render(request, "portal/home.html", context)


@login_required
def notifications(request):
    if request.method == "POST":
        notification_mark_read(user=request.user, notification_id=int_or_none(request.POST.get("id")))
        return redirect("notifications")
    items = Notification.objects.filter(recipient=request.user)[:200]
    return render(request, "portal/notifications.html", {"items": items})



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


@login_required
def tokens(request):
    raw = None
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if "revoke" in request.POST:
            try:
                token_revoke(actor=request.user, token_id=int_or_none(request.POST["revoke"]) or 0)
                messages.success(request, _("令牌已吊销"))
            except PortalError as exc:
                messages.error(request, str(exc.detail))
            return redirect("tokens")
        if form.is_valid():
            _token, raw = token_create(
                actor=request.user, name=form.cleaned_data["name"], valid_days=form.cleaned_data["valid_days"]
            )
            form = TokenForm()
    context = {"form": form, "raw": raw, "tokens": request.user.tokens.all()}
    return render(request, "portal/tokens.html", context)
