"""The audit administrator's reads of the trail, themselves audited (R29, 等保 8.1.4.3): every search (page or API)
and every export writes one event with the filters used and the number of rows shown or written.

Only the audit administrator reads the trail (三员分立): the system and security administrators and every business
role are refused here as on the pages (NotFound: the trail does not exist for them).
"""

from __future__ import annotations

from portal import audit
from portal.choices import AuditResult, Role
from portal.errors import NotFound


def may_read_trail(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.AUDIT_ADMIN)


def require_trail_reader(user) -> None:
    if not may_read_trail(user):
        raise NotFound()


def audit_trail_searched(*, actor, filters: dict, rows: int, via: str, page: dict | None = None) -> None:
    """Record one search of the trail (`via`: "page" or "api"), in the caller's transaction, after the read."""
    require_trail_reader(actor)
    audit.record(actor=actor, action="security.audit.searched", object_type="portal.auditevent",
                 data={"filters": filters, "rows": rows, "via": via, **({"page": page} if page else {})})


def audit_trail_exported(*, actor, filters: dict, rows: int, completed: bool) -> None:
    """Record one CSV export of the trail when its stream ends (`completed`: false when it broke off)."""
    require_trail_reader(actor)
    audit.record(actor=actor, action="security.audit.exported", object_type="portal.auditevent",
                 result=AuditResult.SUCCESS if completed else AuditResult.FAILURE,
                 data={"filters": filters, "rows": rows, "completed": completed, "format": "csv"})
