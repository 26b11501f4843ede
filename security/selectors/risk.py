"""The risk assessment register with each row's clock (working days left, overdue), by the kernel's one rule."""

from __future__ import annotations

from portal.choices import Clock
from portal.errors import NotFound
from portal.permissions import int_or_none
from portal.selectors.deadlines import deadline_row, deadline_rows, with_deadline

from ..models import RiskAssessment


def risk_assessment_list(*, user):
    """The assessments the user may read, with their RISK_ASSESSMENT clock (due_on, clock_state: with_deadline)."""
    rows = RiskAssessment.objects.restrict(user, "view").select_related("department", "completed_by")
    return with_deadline(rows, Clock.RISK_ASSESSMENT).order_by("state", "due_date", "id")


def risk_rows(assessments):
    return deadline_rows(assessments, name="assessment")


def risk_assessment_get(*, user, assessment_id: int):
    assessment = risk_assessment_list(user=user).filter(pk=int_or_none(assessment_id) or 0).first()
    if assessment is None:
        raise NotFound()
    return assessment


def risk_row(assessment):
    return deadline_row(assessment, name="assessment")
