"""Secrecy review of resources (保密审查, R30): flag → decide, each a service audited in its transaction, and the
share guard the catalog asks before an entry is made shareable (registered in SecurityConfig.ready()).

The security administrator or a bureau reviewer flags a resource with the reason; a bureau reviewer decides
(可以共享 / 不宜共享) with the basis. While a review is pending, or when the latest decision is 不宜共享, the
catalog refuses every approval that leaves the entry shareable (types 1 and 2) — 409 `secrecy_review`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import User
from portal.services.notifications import notify
from portal.validators import text_problem

from ..choices import SecrecyDecision, SecrecyState
from ..models import SecrecyReview

FLAGGERS = (Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER)


def _text(value: str | None, field: str, label: str) -> str:
    value = (value or "").strip()
    problem = text_problem(value) or (None if value else _("请填写%(label)s") % {"label": label})
    if problem:
        raise PortalError(problem, code="invalid", errors={field: [problem]})
    return value


def _entries():
    # The catalog's entries through the relation, not by import (catalog and security sit side by side).
    return SecrecyReview.entry.field.related_model.objects


def _reviewers() -> list[User]:
    return list(User.objects.filter(roles__role=Role.BUREAU_REVIEWER, is_active=True).distinct())


def secrecy_review_flag(*, actor: User, resource: str, reason: str) -> SecrecyReview:
    """Flag the resource (its resource key: the code with its first "/" written "-") for secrecy review.

    Raises PermissionDenied (not the security administrator or a bureau reviewer), PortalError "invalid" (an
    unknown resource, no reason), InvalidTransition "already_pending". Audits security.secrecy_review.flagged.
    """
    if not actor.has_role(*FLAGGERS):
        raise PermissionDenied(_("仅安全管理员和市大数据局审核员可提请保密审查"), code="not_allowed")
    reason = _text(reason, "reason", _("审查事由"))
    code = (resource or "").strip().replace("-", "/", 1)
    problem = text_problem(code) or (None if code else _("请填写资源代码"))
    if problem:
        raise PortalError(problem, code="invalid", errors={"resource": [problem]})
    with transaction.atomic():
        # The entry's row lock orders this flag against a concurrent approval (which locks it too).
        entry = _entries().select_for_update().filter(code=code).first()
        if entry is None:
            missing = _("资源不存在：%(code)s") % {"code": code}
            raise PortalError(missing, code="invalid", errors={"resource": [missing]})
        if SecrecyReview.objects.filter(entry=entry, state=SecrecyState.PENDING).exists():
            raise InvalidTransition(_("该资源已在待保密审查中"), code="already_pending")
        review = SecrecyReview.objects.create(entry=entry, reason=reason, flagged_by=actor)
        audit.record(actor=actor, action="security.secrecy_review.flagged", obj=review,
                     data={"entry": entry.pk, "code": entry.code, "reason": reason})
        notify(recipients=_reviewers(), title=_("待保密审查：%(name)s") % {"name": entry.name},
               url=review.get_absolute_url())
    return review


def secrecy_review_decide(*, actor: User, review_id: int, decision: str, basis: str) -> SecrecyReview:
    """A bureau reviewer records the decision on a pending review with its basis (待审查 → 已审查).

    Raises NotFound, PermissionDenied (a reader who may not decide), InvalidTransition (decided already),
    PortalError "invalid". Audits security.secrecy_review.decided.
    """
    basis = _text(basis, "basis", _("审查依据"))
    if decision not in SecrecyDecision.values:
        raise PortalError(_("审查结论无效"), code="invalid", errors={"decision": [_("审查结论无效")]})
    with transaction.atomic():
        review = SecrecyReview.objects.restrict(actor, "view").select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFound()
        if not actor.has_role(Role.BUREAU_REVIEWER):
            raise PermissionDenied(_("仅市大数据局审核员可作出保密审查结论"), code="not_reviewer")
        if review.state != SecrecyState.PENDING:
            raise InvalidTransition(_("该保密审查已有结论"), code="already_decided")
        review.state, review.decision, review.basis = SecrecyState.DECIDED, decision, basis
        review.decided_by, review.decided_at = actor, timezone.now()
        review.save(update_fields=["state", "decision", "basis", "decided_by", "decided_at"])
        audit.record(actor=actor, action="security.secrecy_review.decided", obj=review,
                     data={"entry": review.entry_id, "decision": decision, "basis": basis})
    return review


def share_refusal(entry_id: int) -> str | None:
    """The catalog's share guard: why the entry may not be shareable now, or None (never flagged, or cleared)."""
    latest = SecrecyReview.objects.filter(entry_id=entry_id).order_by("-flagged_at", "-id").first()
    if latest is None:
        return None
    if latest.state == SecrecyState.PENDING:
        return str(_("该资源待保密审查，审查结论作出前不能设为共享"))
    if latest.decision == SecrecyDecision.NOT_SHAREABLE:
        return str(_("保密审查结论为不宜共享，不能设为共享；如需共享请重新提请保密审查"))
    return None
