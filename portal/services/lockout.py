"""The security administrator's unlock of an account or a source address (audited)."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog
from django.db import transaction

from portal import audit
from portal.choices import Role
from portal.errors import PermissionDenied
from portal.lockout import locked_until


def unlock(*, actor, kind: str, value: str) -> int:
    """Lift the lock of an account (`kind="username"`) or a source address (`kind="ip_address"`): its failures are
    forgotten. Security administrator only; audited. Returns how many failures were cleared."""
    if actor is None or not actor.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied()
    if kind not in ("username", "ip_address"):
        raise ValueError(kind)
    until = locked_until(**{kind: value})
    with transaction.atomic():
        cleared, _ = AccessFailureLog.objects.filter(**{kind: value}).delete()
        AccessAttempt.objects.filter(**{kind: value}).delete()
        audit.record(
            actor=actor, action="portal.auth.unlocked", object_type="axes.lock", object_id=f"{kind}:{value}",
            object_repr=value, data={"kind": kind, "value": value, "was_locked_until": until, "failures": cleared},
        )
    return cleared
