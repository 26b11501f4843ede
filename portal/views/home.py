"""The dashboard ("my pending work"), messages and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render

from portal.choices import Role
from portal.models import Deadline, Notification
from portal.permissions import int_or_none
from portal.selectors.deadlines import deadline_rows
from portal.services.calendar import unconfirmed_years_ahead
from portal.services.notifications import notification_mark_read
from portal.services.workdays import WorkCalendar, local_today
from portal.todo import my_clocks, todo_groups


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request):
    """My pending work: running clocks assigned to me, soonest first; the work without a clock the chapters report
    (portal.todo); supervisors also see their scope."""
    user, today, cal = request.user, local_today(), WorkCalendar()
    mine = my_clocks(user)
    context = {"mine": deadline_rows(mine[:200], name="deadline", today=today, calendar=cal), "today": today,
               "groups": todo_groups(user, today=today)}
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
