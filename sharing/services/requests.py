"""Sharing write side: one function per use case (R19.3 requests and grants, R28.1 API clients).

Each runs in one transaction, locks its row, checks the state, writes its audit event in the same
transaction, opens/closes the sharing-review clock through the kernel's deadline service, and sends
its messages on commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.choices import EntryState, ExchangeMethod, ShareType
from catalog.models import CatalogEntry
from catalog.services import city_bureau
from portal import audit
from portal import context as request_context
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.permissions import int_or_none
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.notifications import department_recipients, notify
from portal.services.workdays import local_today
from security import crypto

from .choices import (
    ATTACHMENT_EXTENSIONS,
    ATTACHMENT_MAX_BYTES,
    ClientState,
    GrantState,
    Purpose,
    RequestState,
)
from .models import ApiClient, Grant, SharingAttachment, SharingComment, SharingRequest
from .permissions import access_grant_by_id, access_request_by_id
from .querysets import STAFF_ROLES

MAX_PERIOD_DAYS = 3 * 366  # a grant is reviewed again at least every three years


def review_working_days() -> int:
    return int(settings.PORTAL.get("SHARING_REVIEW_WORKING_DAYS", 10))



def _reviewers() -> list[User]:
    return list(User.objects.filter(is_active=True, roles__role=Role.BUREAU_REVIEWER).distinct())


def _on_commit_notify(recipients: Iterable[User], title: str, url: str = "", body: str = "") -> None:
    recipients = list(recipients)
    transaction.on_commit(lambda: notify(recipients=recipients, title=title, body=body, url=url))


def _lock_request(user: User, request_id, action: str) -> SharingRequest:
    return access_request_by_id(user, request_id, action=action, for_update=True)


# ---------------------------------------------------------------- requests


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
    if not (actor.is_authenticated and actor.has_role(*STAFF_ROLES) and actor.department_id):
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
        _on_commit_notify([*department_recipients(entry.provider), *_reviewers()], title, req.get_absolute_url())
    return req


def sharing_request_comment(*, actor: User, request_id: int, body: str) -> SharingComment:
    """The provider department comments on a request under review.

    Raises NotFound, PermissionDenied, InvalidTransition (decided already).
    """
    body = (body or "").strip()
    if not body:
        raise PortalError(_("请填写意见"), errors={"body": [_("此项必填")]})
    with transaction.atomic():
        req = _lock_request(actor, request_id, "comment")
        if req.state != RequestState.SUBMITTED:
            raise InvalidTransition(_("申请已办结，不能再提出意见"))
        comment = SharingComment.objects.create(request=req, author=actor, department_id=actor.department_id,
                                                body=body)
        audit.record(actor=actor, action="sharing.request.commented", obj=req,
                     data={"comment": comment.pk, "body": body[:500]})
        title = _("提供部门对共享申请 #%(id)s 提出意见") % {"id": req.pk}
        _on_commit_notify([*_reviewers(), *department_recipients(req.consumer)], title, req.get_absolute_url())
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
        _on_commit_notify([*department_recipients(req.consumer), *department_recipients(req.entry.provider)],
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
        _on_commit_notify(department_recipients(req.consumer),
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


# ---------------------------------------------------------------- grants


def grant_revoke(*, actor: User, grant_id: int, reason: str) -> Grant:
    """The provider department or a bureau reviewer revokes an active grant; reads stop at once."""
    reason = (reason or "").strip()
    if not reason:
        raise PortalError(_("撤销须说明理由"), errors={"reason": [_("此项必填")]})
    with transaction.atomic():
        grant = access_grant_by_id(actor, grant_id, action="revoke", for_update=True)
        if grant.state == GrantState.REVOKED:
            raise InvalidTransition(_("授权已撤销"))
        before = grant.state
        grant.state, grant.revoked_at, grant.revoked_by, grant.revoke_reason = (
            GrantState.REVOKED, timezone.now(), actor, reason)
        grant.save(update_fields=["state", "revoked_at", "revoked_by", "revoke_reason"])
        audit.record(actor=actor, action="sharing.grant.revoked", obj=grant,
                     data={"state": {"old": before, "new": grant.state}, "reason": reason},
                     department=actor.department)
        _on_commit_notify(department_recipients(grant.consumer),
                          _("授权已撤销：%(entry)s") % {"entry": grant.entry.name}, grant.get_absolute_url(), reason)
    return grant


_EXPIRE_SQL = """
WITH expired AS (
    UPDATE sharing_grant
       SET state = 'expired', expired_at = now()
     WHERE state = 'active' AND valid_to < %(today)s
 RETURNING id, consumer_id, entry_id, valid_to
), audited AS (
    INSERT INTO portal_auditevent (occurred_at, actor_label, role, department_id, action, object_type,
                                   object_id, object_repr, data, request_id, result)
    SELECT now(), 'system', '', consumer_id, 'sharing.grant.expired', 'sharing.grant', id::text,
           'grant #' || id::text, jsonb_build_object('entry', entry_id, 'valid_to', valid_to),
           %(request_id)s, 'success'
      FROM expired
 RETURNING 1
)
SELECT id FROM expired
"""

_REMIND_SQL = """
UPDATE sharing_grant
   SET reminded_at = now()
 WHERE state = 'active' AND reminded_at IS NULL AND valid_to >= %(today)s AND valid_to <= %(horizon)s
RETURNING id
"""


def grant_expiry_notice_days() -> int:
    return int(settings.PORTAL.get("SHARING_GRANT_NOTICE_DAYS", 30))


def grant_expire_due(*, today: dt.date | None = None, request_id: str = "") -> int:
    """Mark grants past their end date expired (one audit event each) and tell the consumer; returns how many.

    Also reminds the consumer once, PORTAL["SHARING_GRANT_NOTICE_DAYS"] days ahead, so it can apply
    again before its systems stop. Set-based statements; idempotent and safe to run concurrently (each
    UPDATE re-checks its condition on the rows it locks). Reads never depend on this job:
    read_permission checks the dates itself.
    """
    today = today or local_today()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(_EXPIRE_SQL, {"today": today,
                                      "request_id": request_id or request_context.current().request_id})
            expired_ids = [row[0] for row in cur.fetchall()]
            cur.execute(_REMIND_SQL, {"today": today, "horizon": today + dt.timedelta(days=grant_expiry_notice_days())})
            reminded_ids = [row[0] for row in cur.fetchall()]
        grants = Grant.objects.filter(pk__in=expired_ids + reminded_ids).select_related("consumer", "entry")
        for grant in grants:
            if grant.pk in expired_ids:
                title = _("授权已到期：%(entry)s") % {"entry": grant.entry.name}
            else:
                title = _("授权即将到期（%(day)s）：%(entry)s") % {"day": grant.valid_to.isoformat(),
                                                              "entry": grant.entry.name}
            _on_commit_notify(department_recipients(grant.consumer), title, grant.get_absolute_url(),
                              _("如需继续使用，请重新提交共享申请。"))
    return len(expired_ids)


# ---------------------------------------------------------------- API clients

CLIENT_ID_PREFIX = "jzc_"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _require_security_admin(actor: User) -> None:
    if not (actor.is_authenticated and actor.has_role(Role.SECURITY_ADMIN)):
        raise NotFound()


def _lock_client(actor: User, client_pk) -> ApiClient:
    _require_security_admin(actor)
    client = (
        ApiClient.objects.restrict(actor).filter(pk=int_or_none(client_pk) or 0)
        .select_related("department").select_for_update(of=("self",)).first()
    )
    if client is None:
        raise NotFound()
    return client


def api_client_register(
    *, actor: User, department_id: int, name: str, rate_per_minute: int = 600, contact: str = ""
) -> tuple[ApiClient, str]:
    """A security admin registers a department's system; returns (client, secret to show once)."""
    _require_security_admin(actor)
    department = Department.objects.filter(pk=int_or_none(department_id) or 0, is_active=True).first()
    if department is None:
        raise PortalError(_("请选择部门"), errors={"department": [_("部门不存在或已停用")]})
    name = (name or "").strip()
    if not name:
        raise PortalError(_("请填写系统名称"), errors={"name": [_("此项必填")]})
    if not 1 <= int(rate_per_minute) <= 100_000:
        raise PortalError(_("调用上限应在 1 至 100000 之间"), errors={"rate_per_minute": [_("超出范围")]})
    secret = _new_secret()
    with transaction.atomic():
        client = ApiClient.objects.create(
            client_id=CLIENT_ID_PREFIX + secrets.token_hex(12), name=name[:100], department=department,
            secret_enc=crypto.encrypt(secret), rate_per_minute=int(rate_per_minute), contact=(contact or "")[:100],
            created_by=actor,
        )
        audit.record(actor=actor, action="sharing.client.registered", obj=client,
                     data={"client_id": client.client_id, "department": department.pk,
                           "rate_per_minute": client.rate_per_minute},
                     department=department)
    return client, secret


def api_client_suspend(*, actor: User, client_pk: int, reason: str) -> ApiClient:
    """Stop a client at once (its next call answers `client_suspended`)."""
    reason = (reason or "").strip()
    if not reason:
        raise PortalError(_("停用须说明原因"), errors={"reason": [_("此项必填")]})
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        if client.state == ClientState.SUSPENDED:
            raise InvalidTransition(_("该接入系统已停用"))
        client.state, client.suspend_reason = ClientState.SUSPENDED, reason[:300]
        client.save(update_fields=["state", "suspend_reason"])
        audit.record(actor=actor, action="sharing.client.suspended", obj=client,
                     data={"state": {"old": ClientState.ACTIVE, "new": client.state}, "reason": reason},
                     department=client.department)
    return client


def api_client_resume(*, actor: User, client_pk: int) -> ApiClient:
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        if client.state == ClientState.ACTIVE:
            raise InvalidTransition(_("该接入系统未停用"))
        client.state, client.suspend_reason = ClientState.ACTIVE, ""
        client.save(update_fields=["state", "suspend_reason"])
        audit.record(actor=actor, action="sharing.client.resumed", obj=client,
                     data={"state": {"old": ClientState.SUSPENDED, "new": client.state}},
                     department=client.department)
    return client


def api_client_rotate_secret(*, actor: User, client_pk: int) -> tuple[ApiClient, str]:
    """Issue a new secret (the old one stops working at once); returns (client, new secret to show once)."""
    secret = _new_secret()
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        client.secret_enc, client.secret_rotated_at = crypto.encrypt(secret), timezone.now()
        client.save(update_fields=["secret_enc", "secret_rotated_at"])
        audit.record(actor=actor, action="sharing.client.secret_rotated", obj=client,
                     data={"client_id": client.client_id}, department=client.department)
    return client, secret
