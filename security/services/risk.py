"""Risk assessments (风险评估, R32): the security administrator schedules each department's assessment on a cycle and
records its result; completing one schedules the next, one cycle after the previous due date (so late work does not
shift the cycle). The due date is a kernel deadline (Clock.RISK_ASSESSMENT): the deadline sweep reminds the
department ahead of it and marks it overdue after it (portal.services.deadlines), the pages show the state.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.workdays import WorkCalendar, local_today
from portal.validators import text_problem

from ..choices import RiskAssessmentState, RiskCycle, RiskLevel
from ..models import RiskAssessment


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, the month's last day when it has no such day (31 Aug + 6 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _require_keeper(actor: User) -> None:
    if not actor.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied(_("仅安全管理员可安排和登记风险评估"), code="not_security_admin")


def _open(assessment: RiskAssessment, today: dt.date) -> None:
    cal = WorkCalendar()
    deadline_open(case=assessment, clock=Clock.RISK_ASSESSMENT, department=assessment.department,
                  working_days=max(cal.working_days_between(today, assessment.due_date), 0), started_on=today,
                  calendar=cal, title=_("安全风险评估：%(dept)s") % {"dept": assessment.department.name})


def _create(**values) -> RiskAssessment:
    try:
        with transaction.atomic():
            return RiskAssessment.objects.create(**values)
    except IntegrityError as exc:  # the partial unique index: one scheduled assessment per department
        raise InvalidTransition(_("该部门已有待完成的风险评估"), code="already_scheduled") from exc


def risk_assessment_schedule(*, actor: User, department_id: int, cycle: str, due_date: dt.date) -> RiskAssessment:
    """Schedule a department's first (or next, after a gap) assessment, due on `due_date`, recurring every `cycle`.

    Raises PermissionDenied, PortalError "invalid" (unknown department or cycle, a due date not after today),
    InvalidTransition "already_scheduled". Audits security.risk_assessment.scheduled; opens RISK_ASSESSMENT.
    """
    _require_keeper(actor)
    if cycle not in RiskCycle.values:
        raise PortalError(_("评估周期无效"), code="invalid", errors={"cycle": [_("评估周期无效")]})
    today = local_today()
    if due_date <= today:
        raise PortalError(_("应完成日期须晚于今天"), code="invalid", errors={"due_date": [_("应完成日期须晚于今天")]})
    with transaction.atomic():
        department = Department.objects.filter(pk=department_id).first()
        if department is None:
            raise PortalError(_("部门不存在"), code="invalid", errors={"department": [_("部门不存在")]})
        assessment = _create(department=department, cycle=cycle, due_date=due_date, scheduled_by=actor)
        _open(assessment, today)
        audit.record(actor=actor, action="security.risk_assessment.scheduled", obj=assessment, department=department,
                     data={"department": department.pk, "cycle": cycle, "due_date": due_date.isoformat()})
    return assessment


def risk_assessment_complete(*, actor: User, assessment_id: int, level: str, findings: str) -> RiskAssessment:
    """Record the result of a scheduled assessment and schedule the next one a cycle after its due date.

    Raises NotFound, PermissionDenied, InvalidTransition "already_completed", PortalError "invalid". Audits
    security.risk_assessment.completed (with whether it was late and the next one); closes this RISK_ASSESSMENT
    clock and opens the next.
    """
    if level not in RiskLevel.values:
        raise PortalError(_("风险等级无效"), code="invalid", errors={"level": [_("风险等级无效")]})
    findings = (findings or "").strip()
    problem = text_problem(findings) or (None if findings else _("请填写评估结论与整改建议"))
    if problem:
        raise PortalError(problem, code="invalid", errors={"findings": [problem]})
    today = local_today()
    with transaction.atomic():
        assessment = (RiskAssessment.objects.restrict(actor, "view").select_for_update(of=("self",))
                      .select_related("department").filter(pk=assessment_id).first())
        if assessment is None:
            raise NotFound()
        _require_keeper(actor)
        if assessment.state != RiskAssessmentState.SCHEDULED:
            raise InvalidTransition(_("该风险评估已完成"), code="already_completed")
        assessment.state, assessment.level, assessment.findings = RiskAssessmentState.COMPLETED, level, findings
        assessment.completed_on, assessment.completed_by = today, actor
        assessment.save(update_fields=["state", "level", "findings", "completed_on", "completed_by"])
        deadline_close(case=assessment, clock=Clock.RISK_ASSESSMENT, on=today)
        due = add_months(assessment.due_date, int(assessment.cycle))
        while due <= today:  # long overdue: the next due date is the first cycle date still ahead
            due = add_months(due, int(assessment.cycle))
        following = _create(department=assessment.department, cycle=assessment.cycle, due_date=due,
                            scheduled_by=actor, previous=assessment)
        _open(following, today)
        audit.record(actor=actor, action="security.risk_assessment.completed", obj=assessment,
                     department=assessment.department,
                     data={"level": level, "findings": findings, "late": today > assessment.due_date,
                           "next": following.pk, "next_due_on": due.isoformat()})
    return assessment
