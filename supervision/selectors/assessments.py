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
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _

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


def _label_deadline(d) -> str:
    state = _("超期办结") if d.closed_late else (d.get_state_display())
    return f"{d.title} · {_('截止')} {d.due_on:%Y-%m-%d} · {state}"


# How the drill-down names a case of an evidence type (anything else: its str()); (select_related, label, url).
_EVIDENCE = {
    "catalog.catalogentry": ((), lambda e: f"{e.code or '-'} {e.name} · {e.get_state_display()}", None),
    "catalog.catalogreview": (("entry",), lambda r: f"{r.entry.name} · {r.get_stage_display()} "
                              f"{r.get_decision_display()} · {r.created_at:%Y-%m-%d}", lambda r: r.entry),
    "catalog.responsibilityitem": (("entry",), lambda r: f"{r.entry.name} · {r.item_name or '-'} · "
                                   f"{r.get_update_cycle_display()}", lambda r: r.entry),
    "aggregation.qualityreport": (("dataset__entry",), lambda q: f"{q.dataset.entry.name} · {q.day:%Y-%m-%d} · "
                                  f"{_('平均完整率')} {_pct(q.completeness_avg)} · {_('有效率')} {_pct(q.validity)}",
                                  lambda q: q.dataset),
    "portal.deadline": ((), _label_deadline, None),
    "security.securityincident": ((), lambda i: f"{i.title} · {i.get_severity_display()} · "
                                  f"{i.occurred_at:%Y-%m-%d}", None),
    "supervision.informatizationproject": ((), lambda p: f"{p.name} · {_('建成')} {p.completed_on:%Y-%m-%d}"
                                           + (f" · {_('未编目')}：{'、'.join(p.missing_resources)}"
                                              if p.missing_resources else ""), None),
}


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _url(obj) -> str:
    url = getattr(obj, "url", "")
    if url:
        return url
    try:
        return obj.get_absolute_url()
    except (AttributeError, NoReverseMatch):
        return ""


def evidence(score: AssessmentScore) -> list[EvidenceRow]:
    """The cases behind a figure as they were counted (ids stored on the score), named as they are now, with a
    link where the case still exists. One query."""
    if not score.evidence_type:
        return []
    model = apps.get_model(score.evidence_type)
    related, label, target = _EVIDENCE.get(score.evidence_type, ((), str, None))
    found = {obj.pk: obj for obj in model._default_manager.select_related(*related).filter(pk__in=score.counted_ids)}
    failed = set(score.failed_ids)
    rows = []
    for pk in score.counted_ids:
        obj = found.get(pk)
        if obj is None:
            rows.append(EvidenceRow(id=pk, label=_("（已删除）#%(id)s") % {"id": pk}, url="", failed=pk in failed))
            continue
        rows.append(EvidenceRow(id=pk, label=label(obj), url=_url(target(obj) if target else obj),
                                failed=pk in failed))
    return rows
