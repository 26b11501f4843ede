"""The annual assessment (R33), read side — each read restricted to the caller:

- the assessor (city) and a county bureau (its region's assessments) see everything of what they run;
- a department's data staff and head see, from the objection period on, their own scorecard, adjustments and
  objections; once published, also the ranking (every covered department's total, rank and grade — not the others'
  scorecards: the ranking is what is announced, 通报, the figures behind it are each department's own).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Q

from portal.errors import NotFound
from portal.models import Department, Region, User
from portal.permissions import int_or_none

from ..choices import AssessmentState
from ..models import (
    Assessment,
    AssessmentAdjustment,
    AssessmentObjection,
    AssessmentResult,
    AssessmentRun,
    AssessmentScore,
)


def assessment_list(*, user: User):
    return Assessment.objects.restrict(user, "view").select_related("region", "created_by")


def assessment_get(*, user: User, assessment_id) -> Assessment:
    found = assessment_list(user=user).filter(pk=int_or_none(assessment_id) or 0).first()
    if found is None:
        raise NotFound()
    return found


def manages(user: User, assessment: Assessment) -> bool:
    return Assessment.objects.restrict(user, "manage").filter(pk=assessment.pk).exists()


def _own_only(user: User, assessment: Assessment) -> Q:
    """Rows of the caller's department unless they run the assessment."""
    return Q() if manages(user, assessment) else Q(department_id=user.department_id or 0)


def results(*, user: User, assessment: Assessment, region_id: int | None = None):
    """The results table: all rows for who runs it, the ranking for the covered departments once published, else
    the department's own row."""
    qs = AssessmentResult.objects.filter(assessment=assessment).select_related("department__region")
    if not (manages(user, assessment) or assessment.state == AssessmentState.PUBLISHED):
        qs = qs.filter(department_id=user.department_id or 0)
    if region_id:
        qs = qs.filter(department__region_id=region_id)
    return qs.order_by("rank", "department__name")


def result_regions(assessment: Assessment):
    """Regions for the results table's filter (a city-wide assessment only)."""
    if assessment.region_id:
        return Region.objects.none()
    ids = AssessmentResult.objects.filter(assessment=assessment).values("department__region_id")
    return Region.objects.filter(pk__in=ids).order_by("code")


def scorecard_department(*, user: User, assessment: Assessment, department_id) -> Department:
    """The department whose scorecard the caller may open (own, or any when running the assessment); else 404."""
    dep_id = int_or_none(department_id) or 0
    if not manages(user, assessment) and dep_id != user.department_id:
        raise NotFound()
    if not assessment.results.filter(department_id=dep_id).exists():
        raise NotFound()
    return Department.objects.get(pk=dep_id)


def scores(*, user: User, assessment: Assessment, department_id: int | None = None):
    qs = (AssessmentScore.objects.filter(assessment=assessment).filter(_own_only(user, assessment))
          .select_related("indicator", "department").order_by("department__name", "indicator__position"))
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs


def adjustments(*, user: User, assessment: Assessment):
    return (AssessmentAdjustment.objects.filter(assessment=assessment).filter(_own_only(user, assessment))
            .select_related("department", "indicator", "created_by"))


def objections(*, user: User, assessment: Assessment):
    return (AssessmentObjection.objects.filter(assessment=assessment).filter(_own_only(user, assessment))
            .select_related("department", "indicator", "filed_by", "answered_by"))


def latest_run(assessment: Assessment) -> AssessmentRun | None:
    return assessment.runs.order_by("-created_at", "-id").first()


@dataclass
class EvidenceRow:
    id: int
    label: str
    url: str
    failed: bool


def evidence(score: AssessmentScore) -> list[EvidenceRow]:
    """The cases behind a figure as they were counted (ids stored on the score), with what they are now: a title
    and a link where the case still exists. One query."""
    if not score.evidence_type:
        return []
    model = apps.get_model(score.evidence_type)
    found = {obj.pk: obj for obj in model._default_manager.filter(pk__in=score.counted_ids)}
    failed = set(score.failed_ids)
    rows = []
    for pk in score.counted_ids:
        obj = found.get(pk)
        url = getattr(obj, "url", "") or (obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else "")
        rows.append(EvidenceRow(id=pk, label=str(obj) if obj is not None else f"#{pk}", url=url, failed=pk in failed))
    return rows
