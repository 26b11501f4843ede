"""The one read policy of shared data (R19, R25): which items a department may read, under which grant.

Every data call (pull, online query, bulk download, push subscription) asks `read_permission` at the
moment of the read; nothing caches a yes. Status codes, decided once here:

- the entry is not published (draft, under review, 涉密, unknown) → 404 `not_found`: a resource the
  caller may not see at all answers 404 (SPEC §9.2);
- the entry is published — every department sees it in the shared catalog — but the call is outside
  a grant → 403 `no_grant` (no grant, revoked grant, grant not yet valid, an item or an exchange
  method the grant does not cover) or 403 `grant_expired` (the department's grant for it has run out
  and no other grant covers the call);
- the entry does not offer the exchange method at all → 403 `method_not_offered`;
- an item name the entry does not have → 400 `invalid`.

A data call reads everything the policy looks at in ONE statement (`entry_for_read`: the entry with its provider,
classification and dataset, the declared items and the calling department's grants) and passes the items and grants
on as `ReadFacts`; they are read afresh by every call, so a grant revoked or run out is refused by the next call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.choices import EntryState, ExchangeMethod, ShareType
from catalog.models import CatalogEntry, Classification
from portal.db import prepared_cursor
from portal.errors import NotFound, PortalError
from portal.models import Department
from security.signing.principal import audit_actor

from .choices import GrantState
from .models import Grant


class NoGrant(PortalError):
    code = "no_grant"
    status = 403
    default_detail = gettext_lazy("没有覆盖此次调用的有效授权，请先提交共享申请")


class GrantExpired(PortalError):
    code = "grant_expired"
    status = 403
    default_detail = gettext_lazy("授权已过期，请重新提交共享申请")


class MethodNotOffered(PortalError):
    code = "method_not_offered"
    status = 403
    default_detail = gettext_lazy("该资源不提供此共享方式")


@dataclass(frozen=True)
class Permission:
    """The answer: readable `items` (entry order) and the grant they are read under (None: no grant needed)."""

    entry: CatalogEntry
    department: Department
    method: str
    items: tuple[str, ...]
    grant: Grant | None
    basis: str  # "provider" (own data), "unconditional" (R19.1/R19.2), or "grant"

    @property
    def unconditional(self) -> bool:
        return self.grant is None

    @property
    def purpose(self) -> str:
        return self.grant.purpose if self.grant else ""


@dataclass(frozen=True)
class ReadFacts:
    """The rest of read_permission's input, read in the statement that read the entry (`entry_for_read`).

    `declared`: (name, is_base_item, data_type) of every item in position order; `grants`: the department's grants
    on the entry, latest end first (the rows as they are at the moment of the call: nothing here is cached).
    """

    entry_id: int
    department_id: int | None
    declared: tuple[tuple[str, bool, str], ...]
    grants: tuple[Grant, ...]

    def applies(self, entry: CatalogEntry, department: Department) -> bool:
        return self.entry_id == entry.pk and self.department_id is not None and self.department_id == department.pk


# ---------------------------------------------------------------------------------------- the one statement


class _Reader:
    """SELECT list of one model's concrete columns and the instance from them (the ORM's own field converters)."""

    def __init__(self, model, alias: str):
        self.model = model
        fields = model._meta.concrete_fields
        qn = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{qn(f.column)}" for f in fields)
        self.width = len(fields)
        self.attnames = [f.attname for f in fields]
        self.converters = []
        for n, f in enumerate(fields):
            col = f.get_col(alias)
            convs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if convs:
                self.converters.append((n, col, convs))

    def build(self, values: list):
        for n, col, convs in self.converters:
            for conv in convs:
                values[n] = conv(values[n], col, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)


# The grant columns the policy and the audit read (in the model's field order, as Model.from_db takes them); the
# others stay deferred.
_GRANT_FIELDS = ("id", "consumer_id", "entry_id", "items", "purpose", "methods", "valid_from", "valid_to", "state")

_ENTRY_SQL = """
SELECT {columns},
       (SELECT json_agg(json_build_array(i.name, i.is_base_item, i.data_type) ORDER BY i.position)
          FROM catalog_dataitem i
         WHERE i.entry_id = e.id),
       (SELECT json_agg(json_build_array(g.id, g.items, g.purpose, g.methods, g.valid_from, g.valid_to, g.state)
                        ORDER BY g.valid_to DESC, g.id DESC)
          FROM sharing_grant g
         WHERE g.consumer_id = %s AND g.entry_id = e.id)
{subject_columns}
  FROM catalog_catalogentry e
  JOIN catalog_classification c ON c.id = e.classification_id
  JOIN portal_department p ON p.id = e.provider_id
  LEFT JOIN aggregation_dataset d ON d.entry_id = e.id{subject_join}
 WHERE {where}
 ORDER BY e.id
 LIMIT 1"""

# The online query's record, read in the same statement (one round trip fewer per call): the subject's row by the unique
# (dataset_id, key_hash) index and whether it has an open verification case (R14.4). It is only handed over after the
# policy has allowed the call (sharing.data_api.subject_record); a refused call never sees it.
# SUBJECT_SQL is also the online query's own lookup (sharing.data_api.subject_record) with `{dataset}` = %s; parameters:
# the open state, [the dataset id,] the blind index.
SUBJECT_SQL = """
        SELECT r.id, r.data, r.updated_at, r.deleted_at,
               EXISTS (SELECT 1 FROM aggregation_verificationcase v
                        WHERE v.record_id = r.id AND v.state = %s) AS flagged,
               r.masked
          FROM aggregation_record r
         WHERE r.dataset_id = {dataset} AND r.key_hash = %s
         LIMIT 1"""
_SUBJECT_COLUMNS = ",\n       s.id, s.data, s.updated_at, s.deleted_at, s.flagged, s.masked"
_SUBJECT_JOIN = "\n  LEFT JOIN LATERAL (" + SUBJECT_SQL.format(dataset="d.id") + ") s ON true"


@cache
def _statement(by: str, subject: bool = False):
    """(readers, SQL) of entry_for_read, built once per process; `by` is "id" or "code"; `subject`: with the record."""
    from aggregation.models import Dataset

    readers = (_Reader(CatalogEntry, "e"), _Reader(Classification, "c"), _Reader(Department, "p"),
               _Reader(Dataset, "d"))
    where = {"id": "e.id = %s", "code": "e.code = %s"}[by]
    return readers, _ENTRY_SQL.format(columns=", ".join(r.sql for r in readers), where=where,
                                      subject_columns=_SUBJECT_COLUMNS if subject else "",
                                      subject_join=_SUBJECT_JOIN if subject else "")


def entry_for_read(*, pk: int | None = None, code: str | None = None,
                   department_id: int | None = None) -> tuple[CatalogEntry | None, ReadFacts | None]:
    """The entry by id or code, whatever its state, with its provider, classification and dataset loaded (as
    `select_related` would), and the ReadFacts of `department_id` on it — one statement, nothing cached."""
    entry, facts, _subject = entry_and_subject_for_read(pk=pk, code=code, department_id=department_id)
    return entry, facts


def entry_and_subject_for_read(*, pk: int | None = None, code: str | None = None, department_id: int | None = None,
                               key_hash: bytes | None = None, open_state: str = ""):
    """entry_for_read, plus — when `key_hash` is given — the dataset's record of that blind index in the same statement:
    (entry, facts, (id, data, updated_at, deleted_at, has an open case of state `open_state`, masked forms) or None).
    The caller hands the record out only after the policy allowed the call."""
    subject = key_hash is not None
    readers, sql = _statement("id" if pk is not None else "code", subject)
    params = [department_id, *((open_state, key_hash) if subject else ()), pk if pk is not None else code]
    with prepared_cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None, None, None
    record = None
    if subject:
        row, record = row[:-6], row[-6:]
        if record[0] is None:
            record = None
    values, at = list(row), 0
    parts = []
    for reader in readers:
        parts.append(values[at:at + reader.width])
        at += reader.width
    items, grants = values[at], values[at + 1]
    entry_reader, class_reader, provider_reader, dataset_reader = readers
    entry = entry_reader.build(parts[0])
    meta = CatalogEntry._meta
    meta.get_field("classification").set_cached_value(entry, class_reader.build(parts[1]))
    meta.get_field("provider").set_cached_value(entry, provider_reader.build(parts[2]))
    if parts[3][0] is None:
        meta.get_field("dataset").set_cached_value(entry, None)  # entry.dataset raises DoesNotExist, as usual
    else:
        dataset = dataset_reader.build(parts[3])
        meta.get_field("dataset").set_cached_value(entry, dataset)
        dataset_reader.model._meta.get_field("entry").set_cached_value(dataset, entry)
    facts = ReadFacts(
        entry_id=entry.pk,
        department_id=department_id,
        declared=tuple((name, bool(base), data_type) for name, base, data_type in items or ()),
        grants=tuple(
            Grant.from_db(DEFAULT_DB_ALIAS, _GRANT_FIELDS,
                          [gid, department_id, entry.pk, g_items, purpose, methods, dt.date.fromisoformat(start),
                           dt.date.fromisoformat(end), state])
            for gid, g_items, purpose, methods, start, end, state in grants or ()
        ),
    )
    return entry, facts, record


# ---------------------------------------------------------------------------------------- the policy


def _local_day(at: dt.datetime | None) -> dt.date:
    return timezone.localdate(at) if at is not None else timezone.localdate()


def read_permission(
    *,
    department: Department,
    entry: CatalogEntry,
    items: list[str] | None,
    method: str,
    at: dt.datetime | None = None,
    facts: ReadFacts | None = None,
) -> Permission:
    """Which of `items` (None: all the department may read) `department` may read from `entry` by `method` at `at`.

    Raises NotFound (404) for an unpublished entry, PortalError `invalid` for unknown items or method,
    MethodNotOffered, NoGrant and GrantExpired (403) for calls outside a grant. Base data items are
    always readable (R19.2); unconditional entries are readable whole without a request (R19.1).
    `facts`: the items and grants as `entry_for_read` read them with the entry (otherwise they are queried here).
    """
    if entry.state != EntryState.APPROVED or entry.is_secret:
        raise NotFound()
    if method not in ExchangeMethod.values:
        raise PortalError(_("未知的共享方式"), code="invalid", errors={"method": [_("未知的共享方式")]})
    if facts is not None and not facts.applies(entry, department):
        facts = None
    if facts is not None:
        declared = [(name, base) for name, base, _type in facts.declared]
    else:
        declared = list(entry.items.order_by("position").values_list("name", "is_base_item"))
    all_names = [name for name, _base in declared]
    if items is not None:
        if not items:
            raise PortalError(_("请指定信息项"), code="invalid", errors={"items": [_("请指定信息项")]})
        unknown = [name for name in items if name not in all_names]
        if unknown:
            raise PortalError(
                _("信息项不存在：%(items)s") % {"items": "、".join(unknown)},
                code="invalid",
                errors={"items": unknown},
            )
    wanted = all_names if items is None else [name for name in all_names if name in set(items)]

    if department.pk == entry.provider_id:
        # The provider reads (and pushes) its own resource whole, by any method.
        return Permission(entry, department, method, tuple(wanted), None, "provider")
    if method not in entry.exchange_methods:
        raise MethodNotOffered()
    if entry.share_type == ShareType.UNCONDITIONAL:
        return Permission(entry, department, method, tuple(wanted), None, "unconditional")

    base = {name for name, is_base in declared if is_base}
    needs_grant = [name for name in wanted if name not in base]
    if not needs_grant:
        return Permission(entry, department, method, tuple(wanted), None, "unconditional")

    day = _local_day(at)
    if facts is not None:
        grants = list(facts.grants)
    else:
        grants = list(Grant.objects.filter(consumer=department, entry=entry).order_by("-valid_to", "-id"))
    valid = [g for g in grants if g.is_valid_on(day) and method in g.methods]
    if items is None:
        # Default projection: the base items plus what the widest valid grant covers.
        if valid:
            grant = max(valid, key=lambda g: (len(set(g.items) - base), g.valid_to, g.pk))
            covered = set(grant.items) | base
            return Permission(
                entry, department, method, tuple(n for n in wanted if n in covered), grant, "grant"
            )
        if base and not any(_expired(g, day) for g in grants):
            return Permission(entry, department, method, tuple(n for n in wanted if n in base), None, "unconditional")
        _refuse(grants, day, method, needs_grant)
    for grant in valid:
        if set(needs_grant) <= set(grant.items):
            return Permission(entry, department, method, tuple(wanted), grant, "grant")
    _refuse(grants, day, method, needs_grant)
    raise AssertionError("unreachable")  # pragma: no cover


def _expired(grant: Grant, day: dt.date) -> bool:
    return grant.state == GrantState.EXPIRED or (grant.state == GrantState.ACTIVE and grant.valid_to < day)


def _refuse(grants: list[Grant], day: dt.date, method: str, needs_grant: list[str]) -> None:
    """Raise the most useful refusal: expired when the only thing missing is time, otherwise no grant."""
    live = [g for g in grants if g.is_valid_on(day)]
    if live:
        if not any(method in g.methods for g in live):
            raise NoGrant(_("授权不包含此共享方式"), errors={"method": [method]})
        outside = sorted(set(needs_grant) - set().union(*(set(g.items) for g in live if method in g.methods)))
        raise NoGrant(
            _("以下信息项不在授权范围内：%(items)s") % {"items": "、".join(outside or needs_grant)},
            errors={"items": outside or needs_grant},
        )
    if any(_expired(g, day) for g in grants):
        raise GrantExpired()
    raise NoGrant()


def authorize_read(
    *,
    user,
    entry: CatalogEntry,
    items: list[str] | None,
    method: str,
    purpose: str = "",
    at: dt.datetime | None = None,
    facts: ReadFacts | None = None,
) -> Permission:
    """read_permission for the caller of a data call (a person or an API client), auditing every refusal.

    A refused call (not_found, invalid, method_not_offered, no_grant, grant_expired) writes one
    `sharing.data.refused` event (result "denied") naming the caller, the entry, the method, the items
    and the stated purpose (R25.1: calls outside a grant are refused and logged), then re-raises.
    The successful call is audited by the data endpoint itself, with what it returned.
    """
    from portal import audit
    from portal.choices import AuditResult

    department = getattr(user, "department", None)
    try:
        if department is None:
            raise NoGrant(_("调用者不属于任何部门"))
        return read_permission(department=department, entry=entry, items=items, method=method, at=at, facts=facts)
    except PortalError as exc:
        audit.record(
            **audit_actor(user),
            action="sharing.data.refused",
            obj=entry,
            result=AuditResult.DENIED,
            data={"code": exc.code, "method": method, "items": items, "purpose": purpose[:200],
                  "errors": {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()}},
        )
        raise
