"""Leak tracing (R25.1): the security administrator traces a leaked file to its export (sharing.export.leaks)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction

from portal import audit
from portal.choices import AuditResult

from ..export.leaks import Tracing, threshold_text, trace_file

TOP = 5  # candidates kept in the event


def leak_trace(*, actor, raw: bytes, name: str, resource: str | None = None, since: dt.date | None = None) -> Tracing:
    """Trace `raw` (a leaked file's bytes) and audit it: one `security.leak.traced` event naming the file (name,
    size, SHA-256), what was searched, the export named (or none) and the best candidates' scores."""
    result = trace_file(raw, resource=resource, since=since)
    named = result.named
    with transaction.atomic():
        audit.record(
            actor=actor, actor_label=None if actor else "manage.py trace_leak", action="security.leak.traced",
            object_type="portal.auditevent", object_id=str(named["event"]) if named else "",
            object_repr=(f"{named['kind']} {named['trace']}" if named else name)[:300],
            result=AuditResult.SUCCESS,
            data={
                "file": name[:200], "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                "resource": resource, "since": since.isoformat() if since else None,
                "rows": result.rows, "informative": result.informative, "candidates": len(result.ranked),
                "named": {k: named.get(k) for k in ("trace", "kind", "event", "who", "evidence", "score")}
                if named else None,
                "threshold": threshold_text(),
                "best": [{"trace": c.trace, "event": c.info.get("event"), "matched": c.matched,
                          "informative": c.informative, "chance": c.chance} for c in result.ranked[:TOP]],
                "written": [{"trace": info["trace"], "event": info["event"], "count": count}
                            for info, count in result.written],
            },
        )
    return result
