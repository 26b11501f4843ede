"""Grants: revocation, and the nightly expiry (with the reminder before it)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.errors import InvalidTransition, PortalError
from portal.models import User
from portal.services.notifications import department_recipients
from portal.services.workdays import local_today

from ..choices import GrantState
from ..models import Grant
from ..permissions import access_grant_by_id
from .common import notify_on_commit


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
        notify_on_commit(department_recipients(grant.consumer),
                          _("授权已撤销：%(entry)s") % {"entry": grant.entry.name}, grant.get_absolute_url(), reason)
    return grant


_EXPIRE_SQL = """
WITH expired AS (
    UPDATE sharing_grant
       SET state = 'expired', expired_at = now()
     WHERE state = 'active' AND valid_to < %(today)s
 RETURNING id, consumer_id, entry_id, valid_to
), audited AS (
    {audited}
)
SELECT id FROM expired
"""
_EXPIRED_ROWS = (  # department_id, object_id, object_repr, data of each expired grant's event
    "SELECT consumer_id, id, 'grant #' || id::text, jsonb_build_object('entry', entry_id, 'valid_to', valid_to)"
    " FROM expired"
)

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
        audited, audit_params = audit.record_rows_sql(
            _EXPIRED_ROWS, action="sharing.grant.expired", object_type="sharing.grant", request_id=request_id or None
        )
        with connection.cursor() as cur:
            cur.execute(_EXPIRE_SQL.format(audited=audited), {"today": today, **audit_params})
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
            notify_on_commit(department_recipients(grant.consumer), title, grant.get_absolute_url(),
                              _("如需继续使用，请重新提交共享申请。"))
    return len(expired_ids)
