"""时限事项: the clocks in the user's scope, by clock, state and department — where the dashboard's numbers lead."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from portal.api.filters import DeadlineFilterSet
from portal.models import Deadline, Department
from portal.selectors.deadlines import deadline_rows
from portal.services.workdays import WorkCalendar, local_today


@login_required
def deadline_list(request):
    """Every clock of the user's scope (own department / region / city), filtered like GET /api/v1/deadlines/."""
    data = {"scope": "all", **request.GET.dict()}
    filterset = DeadlineFilterSet(data=data, queryset=Deadline.objects.select_related("department"), request=request)
    qs = filterset.qs if filterset.is_valid() else Deadline.objects.none()
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    departments = Department.objects.filter(
        pk__in=Deadline.objects.restrict(request.user, "view").values("department_id")).order_by("name")
    return render(request, "portal/deadlines.html", {
        "form": filterset.form, "page": page, "departments": departments,
        "rows": deadline_rows(page.object_list, name="deadline", today=local_today(), calendar=WorkCalendar()),
    })
