"""Filing and the review workflow of catalog entries (R8.1, R8.2, R18.1).

draft -> signoff -> [county_review] -> bureau_review -> approved / returned. Every public function is
keyword-only, runs in one transaction (nesting inside a caller's), locks what it changes, writes its one
audit event in that transaction and opens or closes the clocks it names. Refusals are
`portal.errors.PortalError` subclasses with stable codes.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.notifications import Digest, department_recipients, notify
from portal.services.workdays import local_today

from .. import hooks, search
from ..choices import EDITABLE_STATES, EntryState, ReviewDecision, ReviewStage, ShareType
from ..declarations import fill_declarations
from ..models import (
    ENTRY_FIELDS,
    ITEM_FIELDS,
    CatalogEntry,
    CatalogEntryVersion,
    CatalogReview,
    CatalogUpdateCase,
    Classification,
    DataItem,
)
from ..permissions import access_entry_by_id, require_department_staff
from ..validation import (
    clean_items,
    clean_text,
    clean_values,
    entry_problems,
    item_key,
    publishable_problems,
    raise_problems,
)
from .demands import rematch_gaps
from .resource_permissions import resource_permissions_grant_filer
from .responsibility import responsibility_sync

CITY_REGION_CODE = "410800"
BUREAU_REVIEW_DAYS = 5  # the bureau's review of a filed entry


def city_bureau() -> Department:
    """The 市政务服务和大数据管理局: owner of the bureau's review clocks. Raises PortalError when missing."""
    bureau = (
        Department.objects.filter(is_bureau=True, region__code=CITY_REGION_CODE, is_active=True).order_by("pk").first()
    )
    if bureau is None:
        raise PortalError(
            _(
                "系统中尚未设置市政务服务和大数据管理局（市级大数据主管部门），无法进入市局审核；请系统管理员先在部门管理中设置"
            ),
            code="bureau_missing",
        )
    return bureau


def _issue_code(classification: Classification, provider_code: str) -> str:
    """前段码/后段码: classification code / provider code + 4-digit 顺序码, never reused (counter only rises)."""
    prefix = f"{classification.code}/{provider_code}"
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO catalog_codesequence (prefix, last) VALUES (%s, 1)
            ON CONFLICT (prefix) DO UPDATE SET last = catalog_codesequence.last + 1
            RETURNING last
            """,
            [prefix],
        )
        (seq,) = cur.fetchone()
    return f"{prefix}{seq:04d}"


def apply_values(entry: CatalogEntry, v: dict[str, Any]) -> list[str]:
    """Copy cleaned values onto the entry; returns the names of the fields that changed."""
    changed = []
    for name in ENTRY_FIELDS:
        if name == "classification":
            if entry.classification_id != v[name].pk:
                entry.classification = v[name]
                changed.append(name)
            continue
        if getattr(entry, name) != v[name]:
            setattr(entry, name, v[name])
            changed.append(name)
    return changed


def sync_items(entry: CatalogEntry, items: list[dict[str, Any]]) -> bool:
    """Make the entry's data items equal `items`, keeping the row (and id) of every item whose name stays.

    Other chapters point at data items (grants, ingestion schemas); a rename is a new item.
    Returns whether anything changed.
    """
    items = fill_declarations(items)
    existing = {item_key(i.name): i for i in entry.items.all()}
    wanted = {item_key(i["name"]): i for i in items}
    changed = False
    stale = [i.pk for k, i in existing.items() if k not in wanted]
    if stale:
        DataItem.objects.filter(pk__in=stale).delete()
        changed = True
    to_update, to_create = [], []
    for position, data in enumerate(items, start=1):
        current = existing.get(item_key(data["name"]))
        if current is None:
            to_create.append(DataItem(entry=entry, position=position, **data))
            continue
        fields = {"position": position, **data}
        if any(getattr(current, f) != val for f, val in fields.items()):
            for f, val in fields.items():
                setattr(current, f, val)
            to_update.append(current)
    if to_update:
        # position is unique per entry but deferred: swapping two rows is fine inside the transaction.
        DataItem.objects.bulk_update(to_update, ["position", *ITEM_FIELDS])
        changed = True
    if to_create:
        DataItem.objects.bulk_create(to_create)
        changed = True
    return changed


def entry_snapshot(entry: CatalogEntry) -> dict[str, Any]:
    """The entry as a JSON document (values + items): what an approved version freezes."""
    values = {name: getattr(entry, name) for name in ENTRY_FIELDS if name != "classification"}
    values["classification"] = entry.classification.code
    values["classification_name"] = entry.classification.name
    values.update(
        code=entry.code,
        provider=entry.provider.name,
        provider_code=entry.provider_code,
        publish_date=entry.publish_date.isoformat() if entry.publish_date else None,
        duplicate_note=entry.duplicate_note,
    )
    items = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in entry.items.order_by("position")]
    return {"values": values, "items": items}


def _review(entry: CatalogEntry, actor: User, stage: str, decision: str, comment: str = "", **share) -> CatalogReview:
    return CatalogReview.objects.create(
        entry=entry, actor=actor, stage=stage, decision=decision, comment=comment, **share
    )


def require_waiting(
    state: str, *, waiting: Collection[str], approved: str, message: str, repeated: str | None = None
) -> None:
    """Refuse a review step on an entry or update case that does not wait for it (InvalidTransition): code
    "already_approved" once it is approved (with the message `repeated` where given), "invalid_state" otherwise."""
    if state in waiting:
        return
    if state == approved:
        raise InvalidTransition(repeated or message, code="already_approved")
    raise InvalidTransition(message)


def return_comment(comment: str) -> str:
    """The cleaned comment a return must carry; PortalError "comment_required" without one."""
    comment = clean_text(comment)
    if not comment:
        raise PortalError(_("退回须填写意见"), code="comment_required", errors={"comment": [_("请填写退回意见")]})
    return comment


def _entry_move(
    entry: CatalogEntry,
    *,
    actor: User,
    to: str,
    stage: str,
    decision: str,
    action: str,
    comment: str,
    data: dict[str, Any] | None = None,
) -> str:
    """One step of the review workflow on the locked entry: its new state saved, the review row and the audit
    event (state old/new, `data`, comment). Returns the state it left."""
    before = entry.state
    entry.state = to
    entry.save(update_fields=["state", "updated_at"])
    _review(entry, actor, stage, decision, comment)
    audit.record(
        actor=actor,
        action=action,
        obj=entry,
        data={"state": {"old": before, "new": to}, **(data or {}), "comment": comment},
    )
    return before


def publish_version(
    entry: CatalogEntry, *, actor: User, on, update_case: CatalogUpdateCase | None = None
) -> dict[str, int]:
    """What follows an approval that has saved the entry with its new version number (the entry's own review or an
    update case): the version's snapshot, the provider's responsibility list, the re-matching of open demands.
    Returns responsibility_sync's summary."""
    CatalogEntryVersion.objects.create(
        entry=entry, number=entry.version, snapshot=entry_snapshot(entry), approved_by=actor, update_case=update_case
    )
    summary = responsibility_sync(entry=entry, on=on)
    rematch_gaps(entry)
    return summary


def _county_bureau_users(region_id: int) -> list[User]:
    return list(
        User.objects.filter(is_active=True, department__region_id=region_id, roles__role=Role.COUNTY_BUREAU).distinct()
    )


def bureau_reviewers() -> list[User]:
    """The active bureau reviewers: notified of every filing or update case waiting for their review."""
    return list(User.objects.filter(is_active=True, roles__role=Role.BUREAU_REVIEWER).distinct())


def _open_bureau_review(entry: CatalogEntry) -> None:
    deadline_open(
        case=entry,
        clock=Clock.CATALOG_REVIEW,
        department=city_bureau(),
        working_days=BUREAU_REVIEW_DAYS,
        title=_("目录审核：%(name)s（%(dept)s）") % {"name": entry.name, "dept": entry.provider.name},
        responsible_role=Role.BUREAU_REVIEWER,
        url=entry.get_absolute_url(),
    )
    notify(
        recipients=bureau_reviewers(),
        title=_("待审核目录：%(name)s") % {"name": entry.name},
        url=entry.get_absolute_url(),
        digest=Digest("catalog.review", _("有 {n} 项目录待审核"), reverse("catalog:review-queue")),
    )


# --------------------------------------------------------------------------------------------------
# Filing (R8.1)


def catalog_entry_save(
    *,
    actor: User,
    department: Department,
    values: dict[str, Any],
    items: list[dict[str, Any]],
    entry: CatalogEntry | None = None,
    duplicate_note: str | None = None,
) -> CatalogEntry:
    """Create (entry=None) or update a draft/returned entry of `department` with its data items.

    The resource code is issued on creation (classification/provider code + sequence) and re-issued when
    the classification of a never-approved entry changes. Raises PortalError (code "invalid", `.errors`
    keyed like entry_problems), PermissionDenied, NotFound (another department's entry) or
    InvalidTransition (not editable). Audits catalog.entry.created / catalog.entry.updated. No clocks.
    """
    require_department_staff(actor, department)
    provider = values.get("provider")
    if provider is not None and getattr(provider, "pk", provider) != department.pk:
        raise PortalError(_("只能填报本部门的目录"), code="invalid", errors={"provider": [_("提供方须为本部门")]})
    raise_problems(entry_problems(values, items))
    v = clean_values(values)
    cleaned_items = clean_items(items)
    with transaction.atomic():
        creating = entry is None
        if creating:
            entry = CatalogEntry(provider=department, provider_code=department.credit_code, created_by=actor)
            old_code = None
        else:
            entry = access_entry_by_id(actor, entry.pk, action="change", for_update=True)
            if entry.provider_id != department.pk:
                raise NotFound()
            if entry.state not in EDITABLE_STATES:
                raise InvalidTransition(
                    _("“%(state)s”状态的条目不能修改；已发布的条目请提交目录更新申请")
                    % {"state": entry.get_state_display()},
                    code="not_editable",
                )
            old_code = entry.code
        changed = apply_values(entry, v)
        if duplicate_note is not None and duplicate_note != entry.duplicate_note:
            entry.duplicate_note = duplicate_note
            changed.append("duplicate_note")
        entry.provider_code = department.credit_code
        if (creating or "classification" in changed or not entry.code) and entry.version == 0:
            entry.code = _issue_code(entry.classification, entry.provider_code)
        entry.save()
        items_changed = sync_items(entry, cleaned_items)
        search.reindex([entry.pk])
        if creating:
            audit.record(
                actor=actor,
                action="catalog.entry.created",
                obj=entry,
                department=department,
                data={"code": entry.code, "items": len(cleaned_items)},
            )
            resource_permissions_grant_filer(actor=actor, entry=entry)
        else:
            audit.record(
                actor=actor,
                action="catalog.entry.updated",
                obj=entry,
                department=department,
                data={"fields": changed, "items_changed": items_changed, "code": {"old": old_code, "new": entry.code}},
            )
    return entry


def catalog_entry_delete(*, actor: User, entry_id: int) -> None:
    """Delete a never-approved draft/returned entry of the actor's department (its code is not reused).

    Raises NotFound, PermissionDenied, InvalidTransition. Audits catalog.entry.deleted. No clocks.
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="change", for_update=True)
        if entry.version > 0 or entry.state not in EDITABLE_STATES:
            raise InvalidTransition(_("只能删除从未发布的草稿或退回条目"), code="not_deletable")
        audit.record(
            actor=actor, action="catalog.entry.deleted", obj=entry, data={"code": entry.code, "name": entry.name}
        )
        entry.delete()


# --------------------------------------------------------------------------------------------------
# Review workflow (R8.2, R18.1): draft -> signoff -> [county_review] -> bureau_review -> approved / returned


def catalog_entry_submit(*, actor: User, entry_id: int, comment: str = "") -> CatalogEntry:
    """Submit a draft or returned entry for the department head's sign-off.

    Raises NotFound, PermissionDenied, InvalidTransition (code "invalid_state"), PortalError ("invalid"
    when the entry is incomplete). Audits catalog.entry.submitted. No clocks (the bureau's opens on sign-off).
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="change", for_update=True)
        if entry.state not in EDITABLE_STATES:
            raise InvalidTransition(_("只有草稿或退回的条目可以提交"))
        raise_problems(publishable_problems(entry.pk, _entry_values(entry), _entry_items(entry)))
        _entry_move(
            entry, actor=actor, to=EntryState.SIGNOFF, stage=ReviewStage.SIGNOFF, decision=ReviewDecision.SUBMITTED,
            action="catalog.entry.submitted", comment=comment,
        )
        notify(
            recipients=department_recipients(entry.provider, Role.DEPT_HEAD),
            title=_("待签发目录：%(name)s") % {"name": entry.name},
            url=entry.get_absolute_url(),
            digest=Digest("catalog.signoff", _("有 {n} 项目录待签发"), reverse("catalog:review-queue")),
        )
    return entry


def catalog_entry_sign_off(*, actor: User, entry_id: int, comment: str = "") -> CatalogEntry:
    """The department head signs the submission off: to county pre-review (county departments) or bureau review.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError("bureau_missing").
    Audits catalog.entry.signed_off. Opens CATALOG_REVIEW when the entry goes straight to the bureau.
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="signoff", for_update=True)
        if entry.state != EntryState.SIGNOFF:
            raise InvalidTransition(_("该条目不在待签发状态"))
        county = not entry.provider.region.is_city
        _entry_move(
            entry, actor=actor, to=EntryState.COUNTY_REVIEW if county else EntryState.BUREAU_REVIEW,
            stage=ReviewStage.SIGNOFF, decision=ReviewDecision.SIGNED, action="catalog.entry.signed_off",
            comment=comment,
        )
        if county:
            notify(
                recipients=_county_bureau_users(entry.provider.region_id),
                title=_("待初审目录：%(name)s") % {"name": entry.name},
                url=entry.get_absolute_url(),
                digest=Digest("catalog.county_review", _("有 {n} 项目录待初审"), reverse("catalog:review-queue")),
            )
        else:
            _open_bureau_review(entry)
    return entry


def catalog_entry_county_pass(*, actor: User, entry_id: int, comment: str = "") -> CatalogEntry:
    """The county bureau of the provider's region passes its pre-review (R8.3): on to the city bureau.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError("bureau_missing").
    Audits catalog.entry.county_passed. Opens CATALOG_REVIEW (5 working days, the city bureau).
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="county_review", for_update=True)
        if entry.state != EntryState.COUNTY_REVIEW:
            raise InvalidTransition(_("该条目不在待县级初审状态"))
        _entry_move(
            entry, actor=actor, to=EntryState.BUREAU_REVIEW, stage=ReviewStage.COUNTY, decision=ReviewDecision.PASSED,
            action="catalog.entry.county_passed", comment=comment,
        )
        _open_bureau_review(entry)
    return entry


_RETURN_STAGE = {
    EntryState.SIGNOFF: ("signoff", ReviewStage.SIGNOFF),
    EntryState.COUNTY_REVIEW: ("county_review", ReviewStage.COUNTY),
    EntryState.BUREAU_REVIEW: ("bureau_review", ReviewStage.BUREAU),
}


def catalog_entry_return(*, actor: User, entry_id: int, comment: str) -> CatalogEntry:
    """Return an entry to its department with a comment, from whichever stage it waits in.

    The head (sign-off), the region's county bureau (pre-review) or a bureau reviewer (review) may return.
    Raises NotFound, PermissionDenied, InvalidTransition, PortalError("comment_required").
    Audits catalog.entry.returned. Closes CATALOG_REVIEW when returned by the bureau.
    """
    comment = return_comment(comment)
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="view", for_update=True)
        require_waiting(
            entry.state, waiting=_RETURN_STAGE, approved=EntryState.APPROVED,
            message=_("“%(state)s”状态的条目不能退回") % {"state": entry.get_state_display()},
        )
        action, stage = _RETURN_STAGE[entry.state]
        if not CatalogEntry.objects.restrict(actor, action).filter(pk=entry.pk).exists():
            raise PermissionDenied(_("当前环节不由您办理"))
        before = _entry_move(
            entry, actor=actor, to=EntryState.RETURNED, stage=stage, decision=ReviewDecision.RETURNED,
            action="catalog.entry.returned", comment=comment, data={"stage": stage},
        )
        if before == EntryState.BUREAU_REVIEW:
            deadline_close(case=entry, clock=Clock.CATALOG_REVIEW)
        notify(
            recipients=department_recipients(entry.provider, Role.DEPT_STAFF),
            title=_("目录被退回：%(name)s") % {"name": entry.name},
            body=comment,
            url=entry.get_absolute_url(),
            digest=Digest("catalog.returned", _("有 {n} 项目录被退回"), reverse("catalog:index")),
        )
    return entry


def catalog_entry_approve(
    *,
    actor: User,
    entry_id: int,
    comment: str = "",
    share_type: str | None = None,
    share_condition: str | None = None,
    no_share_basis: str | None = None,
) -> CatalogEntry:
    """The bureau approves an entry in review, confirming or changing its sharing type (R18.1).

    Publishes it in the master catalog as a new version (snapshot kept), sets the publish date on first
    approval, updates the provider's responsibility list and re-matches open demands — one transaction.
    Raises NotFound, PermissionDenied, InvalidTransition (code "already_approved" for a second approval,
    "invalid_state" otherwise), PortalError ("invalid" when the sharing type lacks its condition/basis).
    Audits catalog.entry.approved. Closes CATALOG_REVIEW.
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="bureau_review", for_update=True)
        require_waiting(
            entry.state, waiting=(EntryState.BUREAU_REVIEW,), approved=EntryState.APPROVED,
            message=_("该条目不在待市局审核状态"), repeated=_("该条目已审核通过，不能重复审核"),
        )
        old_share = _share(entry)
        if share_type:
            entry.share_type = share_type
            if share_condition is not None:
                entry.share_condition = clean_text(share_condition)
            if no_share_basis is not None:
                entry.no_share_basis = clean_text(no_share_basis)
        require_share_cleared(entry)
        raise_problems(publishable_problems(entry.pk, _entry_values(entry), _entry_items(entry)))
        today = local_today()
        entry.state = EntryState.APPROVED
        entry.version += 1
        entry.publish_date = entry.publish_date or today
        entry.approved_at = timezone.now()
        entry.save(
            update_fields=[
                "state",
                "version",
                "publish_date",
                "approved_at",
                "share_type",
                "share_condition",
                "no_share_basis",
                "updated_at",
            ]
        )
        _review(
            entry,
            actor,
            ReviewStage.BUREAU,
            ReviewDecision.APPROVED,
            comment,
            share_type_before=old_share["share_type"],
            share_type_after=entry.share_type,
        )
        publish_version(entry, actor=actor, on=today)
        deadline_close(case=entry, clock=Clock.CATALOG_REVIEW)
        new_share = _share(entry)
        audit.record(
            actor=actor,
            action="catalog.entry.approved",
            obj=entry,
            data={
                "code": entry.code,
                "version": entry.version,
                "comment": comment,
                "share": {"old": old_share, "new": new_share, "changed": old_share != new_share},
            },
        )
        notify(
            recipients=department_recipients(entry.provider, Role.DEPT_STAFF),
            title=_("目录已发布：%(name)s") % {"name": entry.name},
            url=entry.get_absolute_url(),
            digest=Digest("catalog.published", _("{n} 项目录已发布"), reverse("catalog:index")),
        )
    return entry


SHAREABLE = (ShareType.UNCONDITIONAL, ShareType.CONDITIONAL)


def require_share_cleared(entry: CatalogEntry) -> None:
    """An entry becoming (or staying) shareable passes the registered share guard: a resource flagged for secrecy
    review is shared only after the reviewer's decision allows it (R30, security's register)."""
    if entry.share_type not in SHAREABLE:
        return
    problem = hooks.share_refusal(entry.pk)
    if problem:
        raise InvalidTransition(problem, code="secrecy_review")


def _share(entry: CatalogEntry) -> dict[str, str]:
    return {
        "share_type": entry.share_type,
        "share_condition": entry.share_condition,
        "no_share_basis": entry.no_share_basis,
    }


def _entry_values(entry: CatalogEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


def _entry_items(entry: CatalogEntry) -> list[dict[str, Any]]:
    return [{f: getattr(i, f) for f in ITEM_FIELDS} for i in entry.items.order_by("position")]


