"""Catalog update cases (R10): trigger -> apply within 10 WD -> bureau reviews within 5 WD of receipt.

A published entry changes only through an update case; its approval publishes a new version and brings the
provider's responsibility list along in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, PortalError
from portal.models import User
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.notifications import department_recipients, notify
from portal.services.workdays import local_today

from .. import hooks, search
from ..choices import OPEN_UPDATE_STATES, EntryState, UpdateCaseState, UpdateTrigger
from ..models import CatalogEntry, CatalogUpdateCase
from ..permissions import access_entry_by_id, access_update_case_by_id
from ..selectors.entries import version_diff
from ..validation import clean_items, clean_text, clean_values, entry_problems, publishable_problems, raise_problems
from .entries import (
    apply_values,
    bureau_reviewers,
    city_bureau,
    entry_snapshot,
    publish_version,
    require_share_cleared,
    require_waiting,
    return_comment,
    sync_items,
)

UPDATE_APPLY_DAYS = 10  # R10.1
UPDATE_REVIEW_DAYS = 5  # R10.2


def update_case_open(
    *,
    actor: User,
    entry_id: int,
    trigger_kind: str,
    trigger_date: dt.date,
    trigger_document: str,
    trigger_description: str = "",
) -> CatalogUpdateCase:
    """Record that a law was amended or the department's duties changed, for a published entry.

    Raises NotFound, PermissionDenied, InvalidTransition ("invalid_state" unless published,
    "update_case_running" when one is open), PortalError ("invalid"). Audits catalog.update_case.opened.
    Opens CATALOG_UPDATE_APPLY: 10 working days from the trigger date, for the provider department.
    """
    problems: dict[str, list[str]] = {}
    if trigger_kind not in UpdateTrigger.values:
        problems["trigger_kind"] = [_("请选择更新原因")]
    if not isinstance(trigger_date, dt.date):
        problems["trigger_date"] = [_("请填写发生日期")]
    elif trigger_date > local_today():
        problems["trigger_date"] = [_("发生日期不能晚于今天")]
    if not clean_text(trigger_document):
        problems["trigger_document"] = [_("请填写依据文件（法规名称或职能调整文件文号）")]
    raise_problems(problems)
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="change", for_update=True)
        if entry.state != EntryState.APPROVED:
            raise InvalidTransition(_("只有已发布的目录条目需要提交更新申请；未发布的条目可直接修改"))
        if CatalogUpdateCase.objects.filter(entry=entry, state__in=OPEN_UPDATE_STATES).exists():
            raise InvalidTransition(_("该条目已有进行中的目录更新申请"), code="update_case_running")
        case = CatalogUpdateCase.objects.create(
            entry=entry,
            department=entry.provider,
            trigger_kind=trigger_kind,
            trigger_date=trigger_date,
            trigger_document=clean_text(trigger_document),
            trigger_description=clean_text(trigger_description),
            proposed=entry_snapshot(entry),
            created_by=actor,
        )
        deadline_open(
            case=case,
            clock=Clock.CATALOG_UPDATE_APPLY,
            department=entry.provider,
            working_days=UPDATE_APPLY_DAYS,
            started_on=trigger_date,
            title=_("目录更新申请：%(name)s") % {"name": entry.name},
            responsible_role=Role.DEPT_STAFF,
            url=case.get_absolute_url(),
        )
        audit.record(
            actor=actor,
            action="catalog.update_case.opened",
            obj=case,
            data={
                "entry": entry.pk,
                "code": entry.code,
                "trigger_kind": trigger_kind,
                "trigger_date": trigger_date,
                "trigger_document": case.trigger_document,
            },
        )
    return case


def update_case_save(
    *, actor: User, case_id: int, values: dict[str, Any], items: list[dict[str, Any]]
) -> CatalogUpdateCase:
    """Store the proposed new content of the entry on a draft or returned update case.

    The classification (and so the resource code) cannot change through an update. Raises NotFound,
    PermissionDenied, InvalidTransition, PortalError ("invalid"). Audits catalog.update_case.updated. No clocks.
    """
    problems = entry_problems(values, items)
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="change", for_update=True)
        if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
            raise InvalidTransition(_("该更新申请已提交或已办结，不能修改"))
        v = clean_values(values)
        if v["classification"] is not None and v["classification"].pk != case.entry.classification_id:
            problems.setdefault("classification", []).append(_("目录更新不能变更信息资源分类（资源代码不可更改）"))
        raise_problems(problems)
        values_json = {k: val for k, val in v.items() if k != "classification"}
        values_json["classification"] = case.entry.classification.code
        case.proposed = {"values": values_json, "items": clean_items(items)}
        case.save(update_fields=["proposed", "updated_at"])
        audit.record(actor=actor, action="catalog.update_case.updated", obj=case, data={"entry": case.entry_id})
    return case


def update_case_changes(case: CatalogUpdateCase) -> dict[str, Any]:
    """The proposal against the entry's current published version (selectors.entries.version_diff shape)."""
    return version_diff(entry_snapshot(case.entry), case.proposed)


def update_case_submit(*, actor: User, case_id: int) -> CatalogUpdateCase:
    """The department applies: the bureau receives the update application today.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("invalid", "no_changes",
    "bureau_missing"). Audits catalog.update_case.submitted. Closes CATALOG_UPDATE_APPLY (late or not),
    opens CATALOG_UPDATE_REVIEW: 5 working days from receipt, for the city bureau's reviewers.
    """
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="change", for_update=True)
        if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
            raise InvalidTransition(_("该更新申请不能再次提交"))
        proposed = case.proposed or {}
        raise_problems(entry_problems(proposed.get("values", {}), proposed.get("items", [])))
        if update_case_changes(case)["empty"]:
            raise PortalError(_("更新内容与现行目录相同，请先填写需要更新的内容"), code="no_changes")
        today = local_today()
        before = case.state
        case.state = UpdateCaseState.SUBMITTED
        case.submitted_on = today
        case.save(update_fields=["state", "submitted_on", "updated_at"])
        apply_clock = deadline_close(case=case, clock=Clock.CATALOG_UPDATE_APPLY, on=today)
        deadline_open(
            case=case,
            clock=Clock.CATALOG_UPDATE_REVIEW,
            department=city_bureau(),
            working_days=UPDATE_REVIEW_DAYS,
            started_on=today,
            title=_("目录更新审核：%(name)s（%(dept)s）") % {"name": case.entry.name, "dept": case.department.name},
            responsible_role=Role.BUREAU_REVIEWER,
            url=case.get_absolute_url(),
        )
        audit.record(
            actor=actor,
            action="catalog.update_case.submitted",
            obj=case,
            data={
                "state": {"old": before, "new": case.state},
                "received_on": today,
                "applied_late": bool(apply_clock and apply_clock.closed_late),
            },
        )
        notify(
            recipients=bureau_reviewers(),
            title=_("待审核目录更新：%(name)s") % {"name": case.entry.name},
            url=case.get_absolute_url(),
        )
    return case


def update_case_approve(*, actor: User, case_id: int, comment: str = "") -> CatalogUpdateCase:
    """The bureau approves: the entry takes the proposed content as a new version and the provider's
    responsibility list follows, in this one transaction (R10.2).

    Raises NotFound, PermissionDenied, InvalidTransition ("already_approved" / "invalid_state"),
    PortalError ("invalid"), InvalidTransition ("items_unfit": data already stored does not fit a changed item, the
    values listed), and what the registered item hooks raise (e.g. "table_busy"). Audits
    catalog.update_case.approved. Closes CATALOG_UPDATE_REVIEW.
    """
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="review", for_update=True)
        require_waiting(
            case.state, waiting=(UpdateCaseState.SUBMITTED,), approved=UpdateCaseState.APPROVED,
            message=_("该更新申请不在待审核状态"), repeated=_("该更新申请已审核通过，不能重复审核"),
        )
        entry = (
            CatalogEntry.objects.select_for_update(of=("self",))
            .select_related("provider", "classification")
            .get(pk=case.entry_id)
        )
        values = dict(case.proposed.get("values", {}))
        items = case.proposed.get("items", [])
        values["classification"] = entry.classification
        raise_problems(publishable_problems(entry.pk, values, items))
        if refusal := hooks.item_change_refusal(entry.pk, clean_items(items)):
            raise InvalidTransition(refusal, code="items_unfit")
        changes = update_case_changes(case)
        changed = apply_values(entry, clean_values(values))
        require_share_cleared(entry)
        entry.version += 1
        entry.approved_at = timezone.now()
        entry.save()
        sync_items(entry, clean_items(items))
        hooks.items_changed(entry.pk, actor=actor)  # the stored data follows (aggregation's tables), or all is undone
        search.reindex([entry.pk])
        today = local_today()
        resp = publish_version(entry, actor=actor, on=today, update_case=case)
        _decide(case, actor=actor, state=UpdateCaseState.APPROVED, comment=clean_text(comment))
        deadline_close(case=case, clock=Clock.CATALOG_UPDATE_REVIEW, on=today)
        audit.record(
            actor=actor,
            action="catalog.update_case.approved",
            obj=case,
            data={
                "entry": entry.pk,
                "code": entry.code,
                "version": entry.version,
                "fields": changed,
                "items": changes["items"],
                "responsibility": resp,
                "comment": case.comment,
            },
        )
        notify(
            recipients=department_recipients(case.department, Role.DEPT_STAFF),
            title=_("目录更新已通过：%(name)s") % {"name": entry.name},
            url=case.get_absolute_url(),
        )
    return case


def _decide(case: CatalogUpdateCase, *, actor: User, state: str, comment: str) -> None:
    """The bureau's decision on the locked case: its state, who decided when, the comment."""
    case.state = state
    case.decided_at, case.decided_by, case.comment = timezone.now(), actor, comment
    case.save(update_fields=["state", "decided_at", "decided_by", "comment", "updated_at"])


def update_case_return(*, actor: User, case_id: int, comment: str) -> CatalogUpdateCase:
    """The bureau returns the application with a comment; the department may revise and apply again.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("comment_required").
    Audits catalog.update_case.returned. Closes CATALOG_UPDATE_REVIEW.
    """
    comment = return_comment(comment)
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="review", for_update=True)
        require_waiting(
            case.state, waiting=(UpdateCaseState.SUBMITTED,), approved=UpdateCaseState.APPROVED,
            message=_("该更新申请不在待审核状态"),
        )
        _decide(case, actor=actor, state=UpdateCaseState.RETURNED, comment=comment)
        deadline_close(case=case, clock=Clock.CATALOG_UPDATE_REVIEW)
        audit.record(
            actor=actor,
            action="catalog.update_case.returned",
            obj=case,
            data={"state": {"old": UpdateCaseState.SUBMITTED, "new": case.state}, "comment": comment},
        )
        notify(
            recipients=department_recipients(case.department, Role.DEPT_STAFF),
            title=_("目录更新申请被退回：%(name)s") % {"name": case.entry.name},
            body=comment,
            url=case.get_absolute_url(),
        )
    return case


def update_case_withdraw(*, actor: User, case_id: int, reason: str) -> CatalogUpdateCase:
    """The department withdraws an update case it has not (or no longer) submitted, e.g. nothing to change.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("comment_required").
    Audits catalog.update_case.withdrawn. Closes CATALOG_UPDATE_APPLY if it still runs.
    """
    reason = clean_text(reason)
    if not reason:
        raise PortalError(_("撤回须说明理由"), code="comment_required", errors={"reason": [_("请填写撤回理由")]})
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="change", for_update=True)
        if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
            raise InvalidTransition(_("已提交或已办结的更新申请不能撤回"))
        before = case.state
        case.state = UpdateCaseState.WITHDRAWN
        case.comment = reason
        case.save(update_fields=["state", "comment", "updated_at"])
        deadline_close(case=case, clock=Clock.CATALOG_UPDATE_APPLY)
        audit.record(
            actor=actor,
            action="catalog.update_case.withdrawn",
            obj=case,
            data={"state": {"old": before, "new": case.state}, "reason": reason},
        )
    return case

