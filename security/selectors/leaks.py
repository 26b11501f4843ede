"""The leak monitor's anomalies as the security administrator sees them (R28.4), and the calls behind one."""

from __future__ import annotations

from portal.errors import NotFound
from portal.models import AuditEvent
from portal.permissions import int_or_none

from ..models import LeakAnomaly


def anomaly_list(*, user, kind: str = "", state: str = "", caller: str = ""):
    rows = LeakAnomaly.objects.restrict(user, "view").select_related("department", "decided_by")
    if kind:
        rows = rows.filter(kind=kind)
    if state:
        rows = rows.filter(state=state)
    if caller:
        rows = rows.filter(caller=caller)
    return rows


def anomaly_get(*, user, anomaly_id) -> LeakAnomaly:
    anomaly = anomaly_list(user=user).filter(pk=int_or_none(anomaly_id) or 0).first()
    if anomaly is None:
        raise NotFound()
    return anomaly


def anomaly_calls(anomaly: LeakAnomaly) -> list[dict]:
    """The evidence: each call's time, caller, resource, method, purpose and rows — the audit events the anomaly
    names (what the monitor kept of them: no values, no keys), in the anomaly's order."""
    ids = [row[0] for row in anomaly.evidence]
    events = AuditEvent.objects.filter(pk__in=ids).only(
        "id", "occurred_at", "actor_label", "action", "object_repr", "data", "result").in_bulk()
    calls = []
    for event_id, rows in anomaly.evidence:
        event = events.get(event_id)
        data = event.data if event is not None else {}
        calls.append({"id": event_id, "rows": rows, "event": event,
                      "resource": data.get("resource", "") if event else "",
                      "method": data.get("method", "") if event else "",
                      "purpose": data.get("purpose", "") if event else ""})
    return calls
