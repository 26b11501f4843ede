"""The audit primitive every floor writes through: `audit.record(actor=…, action="app.entity.verb", obj=…)`.

Writing is one INSERT in the caller's transaction (rolled back with it). The hash chain is built
afterwards in batches by `seal_pending()` (a Celery beat job), the way X-Road seals its message
log: a per-request lock on a chain head would serialise every data read of the platform.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from portal import context
from portal.choices import AuditResult
from portal.db import prepared_cursor
from portal.models import AuditChainLink, AuditEvent, AuditSeal, User

# The trail's tables: rows are only ever inserted (database triggers refuse UPDATE/DELETE; the application's database
# role is also refused UPDATE/DELETE/TRUNCATE on them — `manage.py grant_app_role`). The sealer's queue
# (AuditPending) is not one: draining it deletes rows.
APPEND_ONLY_MODELS = (AuditEvent, AuditChainLink, AuditSeal)

GENESIS = "0" * 64
_SEAL_LOCK = 0x4A5A_A0D1  # pg advisory lock key: one sealer at a time


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    result: str = AuditResult.SUCCESS,
    department=None,
    actor_label: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
) -> AuditEvent:
    """Write one audit event in the current transaction.

    `actor` is a User, a machine principal (anything authenticated with `get_username()` and
    `department`, e.g. a signed API client), or None for the system (then give `actor_label`).
    `department` defaults to the actor's department.
    """
    who = _who(actor, actor_label, department)
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
        object_repr = str(obj) if object_repr is None else object_repr
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if who.is_person else None,
        actor_label=who.actor_label,
        role=who.role,
        department_id=who.department_id,
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        object_repr=(object_repr or "")[:300],
        data=data or {},
        ip=ctx.ip or None,
        request_id=ctx.request_id,
        result=result,
    )
    # One prepared INSERT instead of Model.save(): every data call writes an event, and the ORM's save machinery
    # plus PostgreSQL's parse and plan of a new statement were a fifth of an online query's cost.
    payload = json.dumps(event.data, default=str, ensure_ascii=False)
    with prepared_cursor() as cur:
        cur.execute(_INSERT, [event.occurred_at, event.actor_id, event.actor_label, event.role, event.department_id,
                              event.action, event.object_type, event.object_id, event.object_repr, payload,
                              event.ip, event.request_id, event.result])
        event.pk = cur.fetchone()[0]
    event.data = json.loads(payload)  # as it was stored: dates, decimals and lazy strings as JSON values
    event._state.adding = False
    return event


@dataclass(frozen=True)
class _Who:
    is_person: bool
    actor_id: int | None
    actor_label: str
    role: str
    department_id: int | None


def _who(actor, actor_label: str | None, department) -> _Who:
    """Who an event names: a person (User), a machine principal (authenticated, no user row), or the system."""
    is_person = isinstance(actor, User) and actor.is_authenticated
    if actor is not None and not is_person and getattr(actor, "is_authenticated", False):
        # A machine principal (e.g. a signed API client): its name and department, no user row.
        actor_label = actor_label or actor.get_username()
        department = department if department is not None else getattr(actor, "department", None)
    if department is None and is_person:
        department = actor.department_id
    return _Who(
        is_person=is_person,
        actor_id=actor.pk if is_person else None,
        actor_label=actor_label or (actor.get_username() if is_person else "system"),
        role=",".join(sorted(actor.role_set)) if is_person else "",
        department_id=getattr(department, "pk", department),
    )


def record_rows_sql(
    select: str,
    *,
    action: str,
    object_type: str,
    actor=None,
    actor_label: str | None = None,
    department=None,
    result: str = AuditResult.SUCCESS,
    request_id: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The set-based `record`: an INSERT … SELECT writing one audit event per row of `select`.

    `select` yields four columns, in this order (names do not matter): department_id, object_id, object_repr, data
    (any may be NULL; `object_repr` is cut to 300 characters, a NULL `data` is `{}`) — typically `… FROM marked`,
    where `marked` is the data-modifying CTE (`UPDATE … RETURNING`) whose rows the events record.

    Every other column is filled as `record()` fills it for the same arguments: the actor (a person, a machine
    principal, or the system when None), the actor's department where a row has none, the request's id and client
    IP, `result`; `occurred_at` is the transaction's `now()`. `request_id` overrides the request's (a beat job
    passes its task id).

    Returns (sql, params): the statement (`RETURNING id`) — run it on its own (`record_rows`) or embed it as a CTE,
    `audited AS ({sql})`, in the statement that changes the rows — and its named parameters (all `_audit_*`), to
    merge into that statement's own; `select` itself uses named parameters (`%(name)s`) too.
    """
    who = _who(actor, actor_label, department)
    ctx = context.current()
    sql = _ROWS_INSERT.format(select=select)
    params = {
        "_audit_actor_id": who.actor_id,
        "_audit_actor_label": who.actor_label,
        "_audit_role": who.role,
        "_audit_department_id": who.department_id,
        "_audit_action": action,
        "_audit_object_type": object_type,
        "_audit_ip": ctx.ip or None,
        "_audit_request_id": ctx.request_id if request_id is None else request_id,
        "_audit_result": result,
    }
    return sql, params


# `select` is the caller's SQL text (never user input); the values all travel as parameters.
_ROWS_INSERT = """INSERT INTO portal_auditevent (occurred_at, actor_id, actor_label, role, department_id, action,
                               object_type, object_id, object_repr, data, ip, request_id, result)
SELECT now(), %(_audit_actor_id)s, %(_audit_actor_label)s, %(_audit_role)s,
       coalesce(e.department_id, %(_audit_department_id)s), %(_audit_action)s, %(_audit_object_type)s,
       coalesce(e.object_id::text, ''), left(coalesce(e.object_repr::text, ''), 300),
       coalesce(e.data::jsonb, '{{}}'::jsonb), %(_audit_ip)s::inet, %(_audit_request_id)s, %(_audit_result)s
  FROM ({select}) AS e (department_id, object_id, object_repr, data)
RETURNING id"""


def record_rows(select: str, params: dict[str, Any] | None = None, **kwargs) -> int:
    """Run `record_rows_sql(select, **kwargs)` as a statement of its own (in the caller's transaction): one event
    per row of `select` (with its named `params`); returns how many were written."""
    sql, audit_params = record_rows_sql(select, **kwargs)
    with connection.cursor() as cur:
        cur.execute(sql, {**(params or {}), **audit_params})
        return cur.rowcount


_INSERT = (
    "INSERT INTO portal_auditevent (occurred_at, actor_id, actor_label, role, department_id, action, object_type,"
    " object_id, object_repr, data, ip, request_id, result)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s, %s) RETURNING id"
)


_CANONICAL_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "role",
    "department_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "data",
    "ip",
    "request_id",
    "result",
)


def canonical_json(row: dict[str, Any]) -> str:
    """The event as it is hashed: fixed keys, sorted, UTC ISO time, no whitespace."""
    payload = {k: row[k] for k in _CANONICAL_FIELDS}
    payload["occurred_at"] = row["occurred_at"].astimezone(dt.UTC).isoformat()
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(row)).encode()).hexdigest()


def seal_pending(*, batch: int = 5000) -> int:
    """Chain up to `batch` committed, not yet chained events onto the chain head; returns how many.

    Safe to run concurrently (an advisory lock lets one sealer work, the other returns 0) and
    repeatedly. Events whose transaction has not committed yet are invisible here and are chained
    by a later run, with a higher position than events of lower id already chained.
    """
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEAL_LOCK])
            if not cur.fetchone()[0]:
                return 0
            cur.execute(
                """
                DELETE FROM portal_auditpending
                 WHERE event_id IN (SELECT event_id FROM portal_auditpending ORDER BY event_id LIMIT %s)
                RETURNING event_id
                """,
                [batch],
            )
            ids = [r[0] for r in cur.fetchall()]
        if not ids:
            return 0
        head = AuditChainLink.objects.order_by("-seq").values("seq", "hash").first()
        seq, prev = (head["seq"], head["hash"]) if head else (0, GENESIS)
        rows = AuditEvent.objects.filter(id__in=ids).order_by("id").values(*_CANONICAL_FIELDS)
        chained = []
        for row in rows:
            digest = chain_hash(prev, row)
            chained.append((row["id"], prev, digest))
            prev = digest
        seal = AuditSeal.objects.create(
            first_seq=seq + 1, last_seq=seq + len(chained), count=len(chained), head_hash=prev
        )
        links = [
            AuditChainLink(seq=seq + i, event_id=event_id, prev_hash=before, hash=digest, seal=seal)
            for i, (event_id, before, digest) in enumerate(chained, start=1)
        ]
        AuditChainLink.objects.bulk_create(links, batch_size=2000)
        return len(links)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_at_seq: int | None = None
    reason: str = ""


def verify_chain(*, links: Iterable[dict[str, Any]] | None = None) -> ChainCheck:
    """Recompute the chain from the first position; report the first position whose hash does not hold."""
    if links is None:
        links = (
            AuditChainLink.objects.order_by("seq")
            .values("seq", "prev_hash", "hash", *(f"event__{f}" for f in _CANONICAL_FIELDS))
            .iterator(chunk_size=5000)
        )
    prev, checked, expected_seq = GENESIS, 0, 1
    for link in links:
        row = {f: link[f"event__{f}"] for f in _CANONICAL_FIELDS}
        if link["seq"] != expected_seq:
            return ChainCheck(False, checked, link["seq"], "gap")
        if link["prev_hash"] != prev:
            return ChainCheck(False, checked, link["seq"], "prev_hash")
        if chain_hash(prev, row) != link["hash"]:
            return ChainCheck(False, checked, link["seq"], "hash")
        prev, checked, expected_seq = link["hash"], checked + 1, expected_seq + 1
    return ChainCheck(True, checked)
