"""Login, logout, failure and lockout events: all go to the audit trail with source IP and user agent
(等保 8.1.4.3). Called by the receivers of portal/signals.py; the IP is the request's (the audit `ip` column)."""

from __future__ import annotations

from portal import audit
from portal.choices import AuditResult


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


def logged_out(*, user, user_agent: str | None = None) -> None:
    audit.record(actor=user, action="portal.auth.logout", obj=user, data=_agent(user_agent))
