"""Security incidents (安全事件, R31): report → handle → close. One service per step, each audited in its transaction.

Only the security administrator keeps the register (the bureau's reviewers read it: selectors/incidents.py).
The bureau's reviewers are told of every new incident and of its closing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.services.notifications import notify
from portal.validators import text_problem

from ..choices import IncidentSeverity, IncidentState
from ..models import SecurityIncident

TITLE_MAX = 200


def _require_keeper(actor: User) -> None:
    if not actor.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied(_("仅安全管理员可登记和处置安全事件"), code="not_security_admin")


def _text(value: str | None, field: str, label: str, *, required: bool = True, limit: int | None = None) -> str:
    value = (value or "").strip()
    problem = text_problem(value)
    if problem is None and required and not value:
        problem = _("请填写%(label)s") % {"label": label}
    if problem is None and limit and len(value) > limit:
        problem = _("%(label)s不能超过 %(n)d 个字") % {"label": label, "n": limit}
    if problem:
        raise PortalError(problem, code="invalid", errors={field: [problem]})
    return value


def _ids(values: Iterable[int] | None) -> list[int]:
    return sorted({int(v) for v in values or ()})


def _resource_ids(keys: Iterable[str]) -> list[int]:
    """Catalog entries by their resource key (SPEC §9.2: the code with its first "/" written "-")."""
    codes = {k.strip().replace("-", "/", 1) for k in keys if k and k.strip()}
    for code in codes:
        if text_problem(code):
            raise PortalError(text_problem(code), code="invalid", errors={"resources": [text_problem(code)]})
    # By the relation, not by import: catalog and security do not import each other (docs/architecture.md).
    entries = SecurityIncident.resources.field.related_model.objects.filter(code__in=codes)
    found = dict(entries.values_list("code", "pk"))
    missing = sorted(codes - found.keys())
    if missing:
        problem = _("涉及资源不存在：%(codes)s") % {"codes": "、".join(missing)}
        raise PortalError(problem, code="invalid", errors={"resources": [problem]})
    return sorted(found.values())


def _get_for_update(actor: User, incident_id: int) -> SecurityIncident:
    incident = SecurityIncident.objects.restrict(actor, "view").select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise NotFound()
    _require_keeper(actor)
    return incident


def _snapshot(incident: SecurityIncident) -> dict:
    return {"title": incident.title, "severity": incident.severity, "state": incident.state}


def security_incident_report(
    *,
    actor: User,
    title: str,
    severity: str,
    occurred_at: dt.datetime,
    description: str,
    resource_keys: Iterable[str] = (),
    department_ids: Iterable[int] = (),
) -> SecurityIncident:
    """Register an incident (state 已报告) with the resources and departments it involves.

    Raises PermissionDenied (not the security administrator), PortalError "invalid" (a missing or bad value, an
    occurrence in the future, an unknown resource or department). Audits security.incident.reported.
    """
    _require_keeper(actor)
    title = _text(title, "title", _("事件名称"), limit=TITLE_MAX)
    description = _text(description, "description", _("事件经过"))
    if severity not in IncidentSeverity.values:
        raise PortalError(_("事件级别无效"), code="invalid", errors={"severity": [_("事件级别无效")]})
    if occurred_at > timezone.now():
        raise PortalError(_("发生时间不能晚于当前时间"), code="invalid",
                          errors={"occurred_at": [_("发生时间不能晚于当前时间")]})
    resource_ids, department_ids = _resource_ids(resource_keys), _ids(department_ids)
    if Department.objects.filter(pk__in=department_ids).count() != len(department_ids):
        raise PortalError(_("涉及部门不存在"), code="invalid", errors={"departments": [_("涉及部门不存在")]})
    with transaction.atomic():
        incident = SecurityIncident.objects.create(
            title=title, severity=severity, occurred_at=occurred_at, description=description, reported_by=actor)
        incident.resources.set(resource_ids)
        incident.departments.set(department_ids)
        audit.record(actor=actor, action="security.incident.reported", obj=incident,
                     data={**_snapshot(incident), "occurred_at": occurred_at.isoformat(),
                           "resources": resource_ids, "departments": department_ids})
        notify(recipients=_reviewers(), title=_("安全事件已报告：%(title)s") % {"title": title},
               url=incident.get_absolute_url())
    return incident


def _reviewers() -> list[User]:
    return list(User.objects.filter(roles__role=Role.BUREAU_REVIEWER, is_active=True).distinct())


def security_incident_handle(*, actor: User, incident_id: int, measures: str) -> SecurityIncident:
    """Start handling a reported incident, recording the measures taken (已报告 → 处置中).

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError "invalid". Audits security.incident.handling.
    """
    measures = _text(measures, "measures", _("处置措施"))
    with transaction.atomic():
        incident = _get_for_update(actor, incident_id)
        if incident.state != IncidentState.REPORTED:
            raise InvalidTransition(_("只有“已报告”的事件可以开始处置"))
        incident.state = IncidentState.HANDLING
        incident.handled_by, incident.handling_started_at = actor, timezone.now()
        incident.measures = measures
        incident.save(update_fields=["state", "handled_by", "handling_started_at", "measures"])
        audit.record(actor=actor, action="security.incident.handling", obj=incident,
                     data={**_snapshot(incident), "measures": measures})
    return incident


def security_incident_close(*, actor: User, incident_id: int, conclusion: str) -> SecurityIncident:
    """Close an incident in handling with its conclusion (处置中 → 已关闭); a closed incident stays closed.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError "invalid". Audits security.incident.closed.
    """
    conclusion = _text(conclusion, "conclusion", _("处置结论"))
    with transaction.atomic():
        incident = _get_for_update(actor, incident_id)
        if incident.state != IncidentState.HANDLING:
            raise InvalidTransition(_("只有“处置中”的事件可以关闭"))
        incident.state = IncidentState.CLOSED
        incident.closed_by, incident.closed_at = actor, timezone.now()
        incident.conclusion = conclusion
        incident.save(update_fields=["state", "closed_by", "closed_at", "conclusion"])
        audit.record(actor=actor, action="security.incident.closed", obj=incident,
                     data={**_snapshot(incident), "conclusion": conclusion})
        notify(recipients=_reviewers(), title=_("安全事件已关闭：%(title)s") % {"title": incident.title},
               url=incident.get_absolute_url())
    return incident
