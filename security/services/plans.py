"""Emergency plans (应急预案, R31): the security administrator files a plan document with its next review date and
records each review (optionally with a revised document), which moves the review date on. Each step audited; the
document is checked by the kernel's one upload rule (portal.uploads: type by extension and content, ≤ 10 MB).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.models import User
from portal.services.workdays import local_today
from portal.uploads import DOCUMENT_TYPES, upload_facts, upload_problem
from portal.validators import text_problem

from ..models import EmergencyPlan

PLAN_TYPES = {k: v for k, v in DOCUMENT_TYPES.items() if k in (".pdf", ".docx")}


def _require_keeper(actor: User) -> None:
    if not actor.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied(_("仅安全管理员可管理应急预案"), code="not_security_admin")


def _text(value: str | None, field: str, label: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    problem = text_problem(value) or (_("请填写%(label)s") % {"label": label} if required and not value else None)
    if problem:
        raise PortalError(problem, code="invalid", errors={field: [problem]})
    return value


def _future(review_date: dt.date) -> None:
    if review_date <= local_today():
        raise PortalError(_("下次评审日期须晚于今天"), code="invalid",
                          errors={"review_date": [_("下次评审日期须晚于今天")]})


def _store(plan: EmergencyPlan, upload) -> dict:
    problem = upload_problem(upload, label=_("预案文件"), types=PLAN_TYPES)
    if problem:
        raise PortalError(problem, code="invalid", errors={"document": [problem]})
    facts = upload_facts(upload, types=PLAN_TYPES)
    plan.original_name, plan.size = facts.original_name, facts.size
    plan.content_type, plan.sha256 = facts.content_type, facts.sha256
    plan.file.save(upload.name, upload, save=False)
    return {"name": plan.original_name, "size": plan.size, "sha256": plan.sha256}


def emergency_plan_file(*, actor: User, title: str, summary: str = "", document, review_date: dt.date
                        ) -> EmergencyPlan:
    """File a plan document (PDF or DOCX) with its next review date. Raises PermissionDenied, PortalError "invalid".
    Audits security.emergency_plan.filed."""
    _require_keeper(actor)
    title = _text(title, "title", _("预案名称"))[:200]
    summary = _text(summary, "summary", _("适用范围"), required=False)
    _future(review_date)
    with transaction.atomic():
        plan = EmergencyPlan(title=title, summary=summary, review_date=review_date, uploaded_by=actor)
        stored = _store(plan, document)
        plan.save()
        audit.record(actor=actor, action="security.emergency_plan.filed", obj=plan,
                     data={"document": stored, "review_date": review_date.isoformat()})
    return plan


def emergency_plan_review(*, actor: User, plan_id: int, note: str, next_review_date: dt.date,
                          document=None) -> EmergencyPlan:
    """Record a review of the plan (its note), move the review date on, and replace the document when a revised
    one is given. Raises NotFound, PermissionDenied, PortalError "invalid". Audits security.emergency_plan.reviewed."""
    note = _text(note, "note", _("评审意见"))
    _future(next_review_date)
    with transaction.atomic():
        plan = EmergencyPlan.objects.restrict(actor, "view").select_for_update().filter(pk=plan_id).first()
        if plan is None:
            raise NotFound()
        _require_keeper(actor)
        before = plan.review_date
        was_overdue = plan.review_overdue
        stored = _store(plan, document) if document is not None else None
        plan.review_date, plan.last_reviewed_on, plan.review_note = next_review_date, local_today(), note
        plan.save()
        audit.record(actor=actor, action="security.emergency_plan.reviewed", obj=plan,
                     data={"note": note, "was_overdue": was_overdue, "document": stored,
                           "review_date": {"old": before.isoformat(), "new": next_review_date.isoformat()}})
    return plan


def emergency_plan_downloaded(*, actor: User, plan: EmergencyPlan) -> None:
    """Audit one download of the plan's document (in the request's transaction)."""
    audit.record(actor=actor, action="security.emergency_plan.downloaded", obj=plan, data={"sha256": plan.sha256})
