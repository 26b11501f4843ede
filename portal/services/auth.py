"""Login and logout events: success and failure both go to the audit trail (等保 8.1.4.3)."""

from __future__ import annotations

from portal import audit
from portal.choices import AuditResult


def login_succeeded(*, user) -> None:
    audit.record(actor=user, action="portal.auth.login", obj=user)


def login_failed(*, username: str) -> None:
    # No actor: the attempt names an account that may not exist; keep what was typed, nothing more.
    audit.record(
        actor=None,
        actor_label=(username or "")[:150] or "-",
        action="portal.auth.login_failed",
        result=AuditResult.FAILURE,
    )


def logged_out(*, user) -> None:
    audit.record(actor=user, action="portal.auth.logout", obj=user)
