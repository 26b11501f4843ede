"""The emergency plans as their readers may see them; `overdue_only` narrows to plans past their review date."""

from __future__ import annotations

from portal.errors import NotFound
from portal.permissions import int_or_none
from portal.services.workdays import local_today

from ..models import EmergencyPlan


def plan_list(*, user, overdue_only: bool = False):
    plans = EmergencyPlan.objects.restrict(user, "view").select_related("uploaded_by")
    # Overdue from the day after the review date (portal.services.workdays.is_overdue).
    return plans.filter(review_date__lt=local_today()) if overdue_only else plans


def plan_get(*, user, plan_id: int) -> EmergencyPlan:
    plan = plan_list(user=user).filter(pk=int_or_none(plan_id) or 0).first()
    if plan is None:
        raise NotFound()
    return plan
