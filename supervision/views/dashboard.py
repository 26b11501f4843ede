"""The bureau's dashboard page (/supervision/dashboard/): the city at a glance, a county bureau its region."""

from __future__ import annotations

from django.shortcuts import render

from portal.choices import Role
from portal.services.workdays import local_today
from portal.shortcuts import role_required

from ..selectors.dashboard import dashboard as dashboard_figures


@role_required(Role.BUREAU_REVIEWER, Role.ASSESSOR, Role.COUNTY_BUREAU)
def dashboard(request):
    user = request.user
    region = None if not user.has_role(Role.COUNTY_BUREAU) or user.department.region.is_city else user.department.region
    return render(request, "supervision/dashboard.html",
                  {**dashboard_figures(user, today=local_today()), "region": region})
