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

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, models, transaction
from django.utils import timezone

from portal import context, keys
from portal.choices import AuditResult
from portal.db import prepared_cursor
from portal.models import AuditChainLink, AuditEvent, AuditPurge, AuditSeal, User

# The trail's tables: rows are only ever inserted (database triggers refuse UPDATE/DELETE; the application's database
# role is also refused UPDATE/DELETE/TRUNCATE on them — `manage.py grant_app_role`). The sealer's queue
# (AuditPending) is not one: draining it deletes rows.
APPEND_ONLY_MODELS = (AuditEvent, AuditChainLink, AuditSeal, AuditPurge)

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
    with prepared_cursor(DEFAULT_DB_ALIAS) as cur:  # the primary, even inside replica_reads()
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


# ------------------------------------------------------------------------------- signed seals (R29.1)


def seal_key() -> keys.SigningKey:
    """The key that signs seals (AUDIT_SEAL_KEY, from the environment; never in the database)."""
    return keys.ed25519_from_b64(getattr(settings, "AUDIT_SEAL_KEY", "") or "", "AUDIT_SEAL_KEY")


def seal_public_keys() -> dict[str, keys.PublicKey]:
    """kid → public key of every key a seal may be signed with: the current one and the retired ones
    (AUDIT_SEAL_PUBLIC_KEYS). Settings, not a table: whoever can rewrite the database could add a key of their own."""
    current = seal_key()
    known = {current.kid: keys.PublicKey(current.public, current.public_raw, current.kid)}
    for spec in getattr(settings, "AUDIT_SEAL_PUBLIC_KEYS", None) or []:
        if spec.strip():
            key = keys.ed25519_public_from_b64(spec, "AUDIT_SEAL_PUBLIC_KEYS")
            known.setdefault(key.kid, key)
    return known


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _statement(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def seal_statement(*, first_seq: int, last_seq: int, count: int, head_hash: str, sealed_at: dt.datetime,
                   kid: str) -> bytes:
    """What a seal's signature covers: JSON of {count, first_seq, head_hash, kid, last_seq, sealed_at (UTC ISO)},
    keys sorted, no whitespace, UTF-8 (clients/audit_verify_bundle.py builds the same bytes)."""
    return _statement({"first_seq": first_seq, "last_seq": last_seq, "count": count, "head_hash": head_hash,
                       "sealed_at": _utc(sealed_at), "kid": kid})


def purge_statement(*, first_seq: int, last_seq: int, count: int, head_hash: str, last_occurred_at: dt.datetime,
                    before: dt.date, purged_at: dt.datetime, kid: str) -> bytes:
    """What a purge record's signature covers: JSON of {"purge": true, before, count, first_seq, head_hash, kid,
    last_occurred_at, last_seq, purged_at}, in the same form as `seal_statement`."""
    return _statement({"purge": True, "first_seq": first_seq, "last_seq": last_seq, "count": count,
                       "head_hash": head_hash, "last_occurred_at": _utc(last_occurred_at),
                       "before": before.isoformat(), "purged_at": _utc(purged_at), "kid": kid})


def sign(statement: bytes) -> tuple[str, str]:
    """(kid, signature base64url) of a statement under the seal key."""
    key = seal_key()
    return key.kid, keys.b64encode(key.private.sign(statement))


def signature_holds(statement: bytes, kid: str, signature: str, known: dict[str, keys.PublicKey]) -> bool:
    """Does `signature` (base64url) verify `statement` under the published key named `kid`?"""
    key = known.get(kid or "")
    if key is None or not signature:
        return False
    try:
        key.public.verify(keys.b64decode(signature), statement)
    except (InvalidSignature, ValueError):
        return False
    return True


def seal_pending(*, batch: int = 5000) -> int:
    """Chain up to `batch` committed, not yet chained events onto the chain head; returns how many.

    Each run that chains anything closes its batch with one seal, signed with AUDIT_SEAL_KEY. The beat runs the
    sealer every 30 seconds and the verification (which writes an event of its own) four times an hour, so every hour
    gets seals and the day's last seal falls in its last quarter hour; no empty checkpoint seals are made. A day's
    bundle (`portal.audit_bundle`) holds the positions whose seals were made that day (local time).

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
        # The seal signs the chain head: who rewrites events and links in the database cannot make a seal for them.
        sealed_at, first, last = timezone.now(), seq + 1, seq + len(chained)
        kid, signature = sign(seal_statement(first_seq=first, last_seq=last, count=len(chained), head_hash=prev,
                                             sealed_at=sealed_at, kid=seal_key().kid))
        seal = AuditSeal.objects.create(first_seq=first, last_seq=last, count=len(chained), head_hash=prev,
                                        sealed_at=sealed_at, kid=kid, signature=signature)
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
