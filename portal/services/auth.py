"""Login, logout, failure and lockout events: all go to the audit trail with source IP and user agent
(等保 8.1.4.3). Called by the receivers of portal/signals.py; the IP is the request's (the audit `ip` column)."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from portal import audit
from portal.choices import ADMIN_ROLES, AuditResult
from portal.services.settings import value as setting_value


def _agent(user_agent: str | None) -> dict:
    return {"user_agent": (user_agent or "")[:300]}


def login_succeeded(*, user, user_agent: str | None = None) -> None:
    audit.record(actor=user, action="portal.auth.login", obj=user, data=_agent(user_agent))


def login_failed(*, username: str, user_agent: str | None = None, locked: bool = False) -> None:
    # No actor: the attempt names an account that may not exist; keep what was typed, nothing more.
    audit.record(
        actor=None,
        actor_label=(username or "")[:150] or "-",
        action="portal.auth.login_failed",
        result=AuditResult.FAILURE,
        data={**_agent(user_agent), "locked": locked},
    )


def locked_out(*, username: str | None, ip_address: str | None, until, user_agent: str | None = None) -> None:
    """The failure that set a lock on the account and/or the source address."""
    audit.record(
        actor=None,
        actor_label=(username or "")[:150] or "-",
        action="portal.auth.locked_out",
        result=AuditResult.FAILURE,
        data={**_agent(user_agent), "ip_address": ip_address, "until": until},
    )


def logged_out(*, user, user_agent: str | None = None, reason: str | None = None) -> None:
    """A sign-out: the user's own, or the portal's (`reason`, e.g. "idle_timeout" after the idle limit)."""
    data = {**_agent(user_agent), **({"reason": reason} if reason else {})}
    audit.record(actor=user, action="portal.auth.logout", obj=user, data=data)


def password_change(*, user, new_password: str, user_agent: str | None = None) -> None:
    """The user's own password change (already validated by the policy, e.g. Django's PasswordChangeForm): the new
    hash, its `PasswordHistory` row and the `portal.auth.password_changed` event commit together."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record(actor=user, action="portal.auth.password_changed", obj=user, data=_agent(user_agent))


# Active accounts last used (signed in, or created if never) before the cut-off, the administrators aside, are
# disabled; each gets one event. Set-based: one statement whatever the number of accounts.
_DISABLE_INACTIVE = """
WITH marked AS (
    UPDATE portal_user u SET is_active = false
     WHERE u.is_active AND coalesce(u.last_login, u.date_joined) < %(cutoff)s
       AND NOT EXISTS (SELECT 1 FROM portal_userrole r WHERE r.user_id = u.id AND r.role = ANY(%(exempt)s))
    RETURNING u.id, u.department_id, u.username, coalesce(u.last_login, u.date_joined) AS last_seen
), audited AS ({audit})
SELECT count(*) FROM audited"""


def disable_inactive_accounts(*, now=None, request_id: str | None = None) -> int:
    """Disable the accounts unused for the setting `inactive_disable_days` (等保 8.1.4.2 d: no idle accounts), one
    `portal.auth.disabled_inactive` event each; returns how many. Idempotent: a disabled account is not matched again.

    The three administrators' accounts (ADMIN_ROLES) are left out: disabling the only system administrator would
    leave nobody who can re-enable accounts in the portal (only a shell on the server), and disabling the audit or
    security administrator would stop 三员分立's checks; their passwords expire every 90 days instead."""
    days = setting_value("inactive_disable_days")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    select = ("SELECT department_id, id, username,"
              " jsonb_build_object('last_seen', last_seen, 'inactive_days', %(days)s::int) FROM marked")
    audit_sql, audit_params = audit.record_rows_sql(
        select, action="portal.auth.disabled_inactive", object_type="portal.user",
        actor_label="disable_inactive", request_id=request_id,
    )
    params = {"cutoff": cutoff, "exempt": [r.value for r in ADMIN_ROLES], "days": days, **audit_params}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_DISABLE_INACTIVE.replace("{audit}", audit_sql), params)
        return cur.fetchone()[0]
