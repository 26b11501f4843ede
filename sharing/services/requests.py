"""Sharing requests (R19.3): submit, comment, approve (creating the grant), reject, withdraw.

Each runs in one transaction, locks its row, checks the state, writes its audit event in the same
transaction, opens/closes the sharing-review clock through the kernel's deadline service, and sends
its messages on commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import resource_perms
from catalog.choices import EntryState, ExchangeMethod, ShareType
from catalog.models import CatalogEntry
from catalog.services.entries import city_bureau
from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import User
from portal.permissions import int_or_none, is_department_member, is_staff_of
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.notifications import department_recipients
from portal.services.workdays import local_today

from ..choices import ATTACHMENT_EXTENSIONS, ATTACHMENT_MAX_BYTES, Purpose, RequestState
from ..models import Grant, SharingAttachment, SharingComment, SharingRequest
from ..permissions import access_request_by_id
from .common import notify_on_commit

MAX_PERIOD_DAYS = 3 * 366  # a grant is reviewed again at least every three years


def review_working_days() -> int:
    return int(settings.PORTAL.get("SHARING_REVIEW_WORKING_DAYS", 10))


def _reviewers() -> list[User]:
    return list(User.objects.filter(is_active=True, roles__role=Role.BUREAU_REVIEWER).distinct())


def _lock_request(user: User, request_id, action: str) -> SharingRequest:
    return access_request_by_id(user, request_id, action=action, for_update=True)


# What the first bytes of each allowed type look like (a renamed .exe is not a PDF, 等保 8.1.4.4).
_MAGIC = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "docx": (b"PK\x03\x04",),
}


def _head(f: UploadedFile) -> bytes:
    f.seek(0)
    head = f.read(8)
    f.seek(0)
    return head


def _check_attachments(files: list[UploadedFile]) -> None:
    for f in files:
        ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else ""
        if ext not in ATTACHMENT_EXTENSIONS or not _head(f).startswith(_MAGIC[ext]):
            raise PortalError(
                _("附件只能是 PDF、JPG、PNG 或 DOCX 文件：%(name)s") % {"name": f.name},
                errors={"attachments": [_("文件类型不允许")]},
            )
        if f.size > ATTACHMENT_MAX_BYTES:
            raise PortalError(
                _("附件不能超过 10 MB：%(name)s") % {"name": f.name}, errors={"attachments": [_("文件过大")]}
            )


def _validate_request_values(entry: CatalogEntry, values: dict, today: dt.date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field in ("legal_basis", "duty_basis", "business_need"):
        if not str(values.get(field) or "").strip():
            errors[field] = [_("此项必填")]
    purpose = values.get("purpose")
    if purpose not in Purpose.values:
        errors["purpose"] = [_("请选择用途")]
    elif purpose == Purpose.OTHER and not str(values.get("purpose_detail") or "").strip():
        errors["purpose_detail"] = [_("用途为“其他”时请说明")]
    names = set(entry.items.values_list("name", flat=True))
    items = list(dict.fromkeys(values.get("items") or []))
    if not items:
        errors["items"] = [_("请至少选择一个信息项")]
    elif unknown := [i for i in items if i not in names]:
        errors["items"] = [_("信息项不存在：%(items)s") % {"items": "、".join(unknown)}]
    methods = list(dict.fromkeys(values.get("methods") or []))
    if not methods:
        errors["methods"] = [_("请至少选择一种共享方式")]
    elif bad := [m for m in methods if m not in entry.exchange_methods or m not in ExchangeMethod.values]:
        errors["methods"] = [_("该资源不提供以下共享方式：%(m)s") % {"m": "、".join(bad)}]
    valid_from, valid_to = values.get("valid_from"), values.get("valid_to")
    if not isinstance(valid_from, dt.date) or not isinstance(valid_to, dt.date):
        errors["valid_to"] = [_("请填写使用期限")]
    elif valid_from > valid_to:
        errors["valid_to"] = [_("结束日期不能早于开始日期")]
    elif valid_to < today:
        errors["valid_to"] = [_("结束日期不能早于今天")]
    elif (valid_to - valid_from).days > MAX_PERIOD_DAYS:
        errors["valid_to"] = [_("使用期限最长三年")]
    return errors


def sharing_request_submit(
    *, actor: User, entry_id: int, values: dict, attachments: list[UploadedFile] | None = None
) -> SharingRequest:
    """A consumer department's data staff/head requests items of a published conditional/not-shared entry.

    Opens the SHARING_REVIEW clock (PORTAL["SHARING_REVIEW_WORKING_DAYS"] working days, city bureau,
    bureau reviewers). Raises PermissionDenied (not staff), NotFound (entry not published), PortalError
    (own entry, unconditional entry, invalid values: `.errors` per field).
    """
    if not is_department_member(actor):
        raise PermissionDenied(_("只有部门数据专员或负责人可以提交共享申请"))
    entry = (
        CatalogEntry.objects.filter(pk=int_or_none(entry_id) or 0, state=EntryState.APPROVED, is_secret=False)
        .select_related("provider").first()
    )
    if entry is None:
        raise NotFound()
    if entry.provider_id == actor.department_id:
        raise PortalError(_("不能申请本部门提供的资源"), code="own_entry")
    if entry.share_type == ShareType.UNCONDITIONAL:
        raise PortalError(_("无条件共享资源无需申请，可直接调用"), code="unconditional")
    today = local_today()
    errors = _validate_request_values(entry, values, today)
    if errors:
        raise PortalError(_("申请内容不完整或有误"), errors=errors)
    files = list(attachments or [])
    _check_attachments(files)
    bureau = city_bureau()
    with transaction.atomic():
        req = SharingRequest.objects.create(
            consumer_id=actor.department_id,
            entry=entry,
            legal_basis=values["legal_basis"].strip(),
            duty_basis=values["duty_basis"].strip(),
            business_need=values["business_need"].strip(),
            purpose=values["purpose"],
            purpose_detail=str(values.get("purpose_detail") or "").strip()[:200],
            items=[n for n in entry.items.order_by("position").values_list("name", flat=True)
                   if n in set(values["items"])],
            methods=[m for m in entry.exchange_methods if m in set(values["methods"])],
            valid_from=values["valid_from"],
            valid_to=values["valid_to"],
            submitted_on=today,
            created_by=actor,
        )
        for f in files:
            digest = hashlib.sha256()
            for chunk in f.chunks():
                digest.update(chunk)
            f.seek(0)
            SharingAttachment.objects.create(
                request=req, file=f, original_name=f.name[:200], size=f.size, sha256=digest.hexdigest(),
                uploaded_by=actor,
            )
        deadline = deadline_open(
            case=req, clock=Clock.SHARING_REVIEW, department=bureau, working_days=review_working_days(),
            started_on=today, title=_("共享申请审核：%(dept)s 申请 %(entry)s") % {
                "dept": req.consumer.name, "entry": entry.name},
            responsible_role=Role.BUREAU_REVIEWER, url=req.get_absolute_url(),
        )
        audit.record(
            actor=actor, action="sharing.request.submitted", obj=req,
            data={"entry": entry.pk, "code": entry.code, "items": req.items, "methods": req.methods,
                  "purpose": req.purpose, "valid_from": req.valid_from, "valid_to": req.valid_to,
                  "attachments": len(files), "due_on": deadline.due_on},
        )
        title = _("新的共享申请：%(dept)s 申请 %(entry)s") % {"dept": req.consumer.name, "entry": entry.name}
        notify_on_commit([*department_recipients(entry.provider), *_reviewers()], title, req.get_absolute_url())
    return req


def sharing_request_comment(*, actor: User, request_id: int, body: str) -> SharingComment:
    """The provider department comments on a request under review.

    Raises NotFound, PermissionDenied, InvalidTransition (decided already).
    """
    body = (body or "").strip()
    if not body:
        raise PortalError(_("请填写意见"), errors={"body": [_("此项必填")]})
    with transaction.atomic():
        try:
            req = _lock_request(actor, request_id, "comment")
        except PermissionDenied:
            # Visible but refused: the provider's own staff lack the resource's permission; anyone else the role.
            req = access_request_by_id(actor, request_id)
            if is_staff_of(actor, req.entry.provider_id):
                raise resource_perms.denial(resource_perms.COMMENT_REQUEST) from None
            raise
        if req.state != RequestState.SUBMITTED:
            raise InvalidTransition(_("申请已办结，不能再提出意见"))
        comment = SharingComment.objects.create(request=req, author=actor, department_id=actor.department_id,
                                                body=body)
        audit.record(actor=actor, action="sharing.request.commented", obj=req,
                     data={"comment": comment.pk, "body": body[:500]})
        title = _("提供部门对共享申请 #%(id)s 提出意见") % {"id": req.pk}
        notify_on_commit([*_reviewers(), *department_recipients(req.consumer)], title, req.get_absolute_url())
    return comment


def _check_reviewer(actor: User, req: SharingRequest) -> None:
    if actor.department_id == req.consumer_id:
        raise PermissionDenied(_("不能审核本部门提交的共享申请"), code="own_department")


def sharing_request_approve(
    *,
    actor: User,
    request_id: int,
    items: list[str] | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    comment: str = "",
) -> Grant:
    """A bureau reviewer approves, possibly narrowing items and period; creates the grant, closes the clock.

    Raises NotFound/PermissionDenied (not a reviewer, own department), InvalidTransition (not under
    review), PortalError (items or period wider than requested).
    """
    with transaction.atomic():
        req = _lock_request(actor, request_id, "review")
        _check_reviewer(actor, req)
        if req.state != RequestState.SUBMITTED:
            raise InvalidTransition()
        granted_items = req.items if items is None else [i for i in req.items if i in set(items)]
        errors: dict[str, list[str]] = {}
        if items is not None and (extra := [i for i in items if i not in req.items]):
            errors["items"] = [_("只能缩小申请的信息项：%(items)s 未申请") % {"items": "、".join(extra)}]
        elif not granted_items:
            errors["items"] = [_("请至少保留一个信息项")]
        start, end = valid_from or req.valid_from, valid_to or req.valid_to
        if start < req.valid_from or end > req.valid_to:
            errors["valid_to"] = [_("只能缩短申请的使用期限")]
        elif start > end:
            errors["valid_to"] = [_("结束日期不能早于开始日期")]
        if errors:
            raise PortalError(_("批准内容有误"), errors=errors)
        now = timezone.now()
        req.state, req.decided_by, req.decided_at, req.decision_reason = (
            RequestState.APPROVED, actor, now, (comment or "").strip())
        req.save(update_fields=["state", "decided_by", "decided_at", "decision_reason", "updated_at"])
        grant = Grant.objects.create(
            request=req, consumer=req.consumer, entry=req.entry, items=granted_items, purpose=req.purpose,
            methods=req.methods, valid_from=start, valid_to=end, approved_by=actor,
        )
        deadline = deadline_close(case=req, clock=Clock.SHARING_REVIEW)
        audit.record(
            actor=actor, action="sharing.request.approved", obj=req,
            data={"state": {"old": RequestState.SUBMITTED, "new": req.state}, "grant": grant.pk,
                  "items": granted_items, "valid_from": start, "valid_to": end,
                  "narrowed": granted_items != req.items or (start, end) != (req.valid_from, req.valid_to),
                  "closed_late": bool(deadline and deadline.closed_late), "comment": req.decision_reason},
        )
        title = _("共享申请已批准：%(entry)s") % {"entry": req.entry.name}
        notify_on_commit([*department_recipients(req.consumer), *department_recipients(req.entry.provider)],
                          title, req.get_absolute_url())
    return grant


def sharing_request_reject(*, actor: User, request_id: int, reason: str) -> SharingRequest:
    """A bureau reviewer rejects with a reason; closes the clock. Raises as sharing_request_approve."""
    reason = (reason or "").strip()
    if not reason:
        raise PortalError(_("驳回须说明理由"), errors={"reason": [_("此项必填")]})
    with transaction.atomic():
        req = _lock_request(actor, request_id, "review")
        _check_reviewer(actor, req)
        if req.state != RequestState.SUBMITTED:
            raise InvalidTransition()
        req.state, req.decided_by, req.decided_at, req.decision_reason = (
            RequestState.REJECTED, actor, timezone.now(), reason)
        req.save(update_fields=["state", "decided_by", "decided_at", "decision_reason", "updated_at"])
        deadline = deadline_close(case=req, clock=Clock.SHARING_REVIEW)
        audit.record(
            actor=actor, action="sharing.request.rejected", obj=req,
            data={"state": {"old": RequestState.SUBMITTED, "new": req.state}, "reason": reason,
                  "closed_late": bool(deadline and deadline.closed_late)},
        )
        notify_on_commit(department_recipients(req.consumer),
                          _("共享申请被驳回：%(entry)s") % {"entry": req.entry.name}, req.get_absolute_url(), reason)
    return req


def sharing_request_withdraw(*, actor: User, request_id: int) -> SharingRequest:
    """The consumer department withdraws a request under review; closes the clock."""
    with transaction.atomic():
        req = _lock_request(actor, request_id, "change")
        if req.state != RequestState.SUBMITTED:
            raise InvalidTransition()
        req.state = RequestState.WITHDRAWN
        req.save(update_fields=["state", "updated_at"])
        deadline_close(case=req, clock=Clock.SHARING_REVIEW)
        audit.record(actor=actor, action="sharing.request.withdrawn", obj=req,
                     data={"state": {"old": RequestState.SUBMITTED, "new": req.state}})
    return req
