"""The data exchange methods of the sharing chapter (SPEC §9.2, R22.1, R25.1): pull, online query, bulk download.

One preparation (`prepare_call`) for every data call, so the three methods refuse and audit alike:

1. the resource by its code; an unknown or unpublished one answers 404 `not_found` (read_permission);
2. the grant policy, `sharing.access.authorize_read`, asked for exactly the items the call touches —
   the projected items (`fields`, default: all the caller may read) and the items it filters on —
   so an item outside the grant answers 403 `no_grant` / `grant_expired` (audited there);
3. the caller's own input: `X-Purpose` (required), `limit` (1–5 000), `cursor`, `since`, filter values;
   every refusal here answers 400 `invalid` and writes one `sharing.data.refused` event.

A call that passes writes one `sharing.data.read` event: caller (person or API client), department, grant,
basis, purpose, resource, items, masked items, row count, method, cursor/since (filter names, never values).

Masking (what "full" means): `Permission` has no masked/full notion, so an item is returned *in full* when
the caller reads its own resource (basis "provider") or the item is named in the grant the call is made
under. Personal items (stored encrypted, or personal by `sensitivity_of`) read on any other basis — an
unconditional resource, base items read without a grant — are returned masked (`security.masking.mask`): every
read (page, online query, download, push) takes the masked forms stored with each row (Record.masked) and decrypts
only what it returns in full (or a row stored without the form: `RowRenderer.values`). Items the policy does not
allow are never returned at all.

Pagination (keyset, no OFFSET; constant time per page however deep, migration aggregation 0004):
- without `since`: live rows in id order, cursor = (dataset, id), index (dataset_id, id). Rows inserted
  while a consumer pages get higher ids, so the rows that existed at the start are neither skipped nor
  doubled; changes to a row do not move it.
- with `since`: rows changed after `since` in (updated_at, id) order, deleted rows included (values
  omitted, `deleted: true`), cursor = (dataset, updated_at, id), index (dataset_id, updated_at, id).
  A row changed while paging moves to the end and is delivered again (upserts by key are idempotent).
  For an incremental sync, pass the last `updated_at` received minus a minute (a transaction that commits
  late carries its start time).
The cursor is opaque: base64url of a small JSON object bound to the dataset; anything else is `invalid`.

Filters: `?<item>=<value>` exact match on declared, readable items. The subject key goes through the
blind index (`key_hash`, the unique B-tree); other encrypted items cannot be filtered (`invalid`); clear
items compare `data->>'item'` as text. There is no GIN index on `data`, so a clear-item filter is
evaluated while walking the dataset's id index (a selective filter on a huge dataset scans more rows
per page; the key filter is always one index lookup).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from aggregation.api.views import RecordPushView
from aggregation.models import Dataset, Record
from catalog.choices import ExchangeMethod
from catalog.models import CatalogEntry
from portal import audit
from portal.choices import AuditResult
from portal.db import prepared_cursor
from portal.errors import NotFound, PortalError
from security import crypto
from security.documents import attach_integrity
from security.masking import item_mask_kind, mask
from security.signing.principal import ClientPrincipal, audit_actor
from security.signing.scheme import purpose_of

from .access import SUBJECT_SQL, NoGrant, Permission, ReadFacts, authorize_read, entry_and_subject_for_read

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
RESERVED_PARAMS = frozenset({"fields", "limit", "cursor", "since", "format", "bom"})


# --------------------------------------------------------------------------------------------- preparation


@dataclass
class DataCall:
    """A data call that passed the policy: what to read, how to show it, what to audit."""

    user: Any
    entry: CatalogEntry
    dataset: Dataset | None
    permission: Permission
    method: str
    purpose: str
    projection: list[str]
    filters: dict[str, str] = field(default_factory=dict)
    since: dt.datetime | None = None
    limit: int = DEFAULT_LIMIT
    cursor: tuple | None = None
    cursor_given: bool = False
    mask_kinds: dict[str, str] = field(default_factory=dict)
    encrypted: frozenset[str] = frozenset()
    # The online query's record, read with the entry (prepare_call's `subject_key`): (key, row or None).
    prefetched: tuple | None = None

    @property
    def grant_id(self) -> int | None:
        return self.permission.grant.pk if self.permission.grant else None

    def audit_data(self, rows: int, **extra) -> dict:
        return {
            "resource": self.entry.code or str(self.entry.pk), "grant": self.grant_id,
            "basis": self.permission.basis, "purpose": self.purpose, "items": self.projection,
            "masked": sorted(self.mask_kinds), "rows": rows, "method": self.method,
            "cursor": self.cursor_given, "since": self.since.isoformat() if self.since else None,
            "filters": sorted(self.filters), **extra,
        }

    def record_read(self, rows: int, *, result: str = AuditResult.SUCCESS, **extra) -> None:
        audit.record(**audit_actor(self.user), action="sharing.data.read", obj=self.entry, result=result,
                     data=self.audit_data(rows, **extra))


def find_entry(resource: str) -> CatalogEntry | None:
    """The entry by its URL-safe code (or id before it has one), whatever its state: the policy judges that."""
    return entry_and_facts(resource, department_id=None)[0]


def entry_and_facts(resource: str, *, department_id: int | None,
                    key_hash: bytes | None = None) -> tuple[CatalogEntry | None, ReadFacts | None, tuple | None]:
    """find_entry, and the ReadFacts of `department_id` on the entry, in ONE statement (entry_and_subject_for_read):
    the entry with its provider, classification and dataset (every data call reads them), its declared items and the
    department's grants on it — the policy's whole input, read at the moment of the call — and, with `key_hash`, the
    record of that subject (see subject_record). (None, None, None): no entry.
    """
    from aggregation.models_uses import VerificationState

    resource = (resource or "").strip()
    read = {"department_id": department_id, "key_hash": key_hash, "open_state": VerificationState.OPEN.value}
    if resource.isdigit():
        try:
            pk = int(resource)
        except ValueError:  # digits int() does not read (e.g. "²")
            return None, None, None
        return entry_and_subject_for_read(pk=pk, **read)
    if not resource or len(resource) > 100:
        return None, None, None
    return entry_and_subject_for_read(code=resource.replace("-", "/", 1), **read)


def refuse(user, *, entry: CatalogEntry | None, resource: str, method: str, purpose: str, exc: PortalError,
           items=None) -> PortalError:
    """Audit a refusal found outside the grant policy (bad input, unknown resource); returns `exc` to raise."""
    target = {"obj": entry} if entry is not None else {"object_type": "catalog.catalogentry",
                                                        "object_id": "", "object_repr": resource[:100]}
    audit.record(
        **audit_actor(user), action="sharing.data.refused", result=AuditResult.DENIED, **target,
        data={"code": exc.code, "method": method, "items": items, "purpose": purpose[:200],
              "resource": resource[:100],
              "errors": {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()}},
    )
    return exc


def _invalid(message: str, name: str) -> PortalError:
    return PortalError(message, code="invalid", errors={name: [message]})


def _split_fields(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def prepare_call(request, resource: str, *, method: str, params=None, paged: bool = False,
                 filters_allowed: bool = True, subject_key: str | None = None) -> DataCall:
    """Resolve, authorize (audited) and validate one data call; raises PortalError (already audited).

    `subject_key` (the online query): the subject's record is read in the entry's statement and kept on the call for
    subject_record, which hands it out only because this function returned (the policy allowed the call)."""
    user = request.user
    params = request.query_params if params is None else params
    purpose = purpose_of(request)
    key_hash = crypto.blind_index(subject_key) if subject_key and len(subject_key) <= 100 else None
    entry, facts, subject = entry_and_facts(resource, department_id=getattr(user, "department_id", None),
                                            key_hash=key_hash)
    person_without_role = not isinstance(user, ClientPrincipal) and not getattr(user, "role_set", None)
    if entry is None or person_without_role:
        # A person with no role sees no data at all (as in the catalog); an unknown resource is 404 too.
        raise refuse(user, entry=entry, resource=resource, method=method, purpose=purpose, exc=NotFound())

    def bad(message: str, name: str, items=None) -> PortalError:
        return refuse(user, entry=entry, resource=resource, method=method, purpose=purpose,
                      exc=_invalid(message, name), items=items)

    fields = _split_fields(params.get("fields"))
    filters = {k: params.get(k) for k in params if k not in RESERVED_PARAMS}
    if fields is not None and not fields:
        raise bad(_("fields 不能为空"), "fields")
    if filters and not filters_allowed:
        names = "、".join(sorted(filters))[:200]
        raise bad(_("不支持的参数：%(names)s") % {"names": names}, "params")
    if fields is not None:
        wanted = list(dict.fromkeys([*fields, *filters]))
        permission = authorize_read(user=user, entry=entry, items=wanted, method=method, purpose=purpose,
                                    facts=facts)
        projection = [n for n in permission.items if n in set(fields)]
    else:
        permission = authorize_read(user=user, entry=entry, items=None, method=method, purpose=purpose, facts=facts)
        outside = [n for n in filters if n not in permission.items]
        if outside:
            # Unknown names answer `invalid`, known but not granted ones `no_grant` (both audited there).
            authorize_read(user=user, entry=entry, items=[*permission.items, *outside], method=method,
                           purpose=purpose, facts=facts)
            raise refuse(user, entry=entry, resource=resource, method=method, purpose=purpose,
                         exc=NoGrant(errors={"items": outside}), items=outside)
        projection = list(permission.items)

    if not purpose:
        raise bad(_("请在请求头 X-Purpose 中说明本次调用的业务用途"), "X-Purpose", projection)

    try:
        dataset = entry.dataset
    except Dataset.DoesNotExist:
        dataset = None
    call = DataCall(user=user, entry=entry, dataset=dataset, permission=permission, method=method,
                    purpose=purpose, projection=projection,
                    prefetched=(subject_key, subject) if key_hash is not None else None)

    for name, value in filters.items():
        if value is None or value == "" or len(value) > 500:
            raise bad(_("筛选条件“%(item)s”的值无效") % {"item": name}, name, projection)
        if dataset is not None and name in dataset.encrypted_items and name != dataset.key_item_name:
            message = _("加密存储的信息项“%(item)s”不能作为筛选条件，请按主体标识筛选") % {"item": name}
            raise bad(message, name, projection)
    call.filters = filters

    raw_since = params.get("since")
    if raw_since is not None:
        parsed = None
        try:
            parsed = parse_datetime(raw_since.strip().replace(" ", "+"))
        except ValueError:
            parsed = None
        if parsed is None:
            raise bad(_("since 须为 ISO 8601 时间，例如 2026-01-01T08:00:00+08:00"), "since", projection)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        call.since = parsed

    if paged:
        raw_limit = params.get("limit")
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except (TypeError, ValueError):
                limit = 0
            if not 1 <= limit <= MAX_LIMIT:
                raise bad(_("limit 须为 1 至 %(max)d 之间的整数") % {"max": MAX_LIMIT}, "limit", projection)
            call.limit = limit
        raw_cursor = params.get("cursor")
        if raw_cursor is not None:
            call.cursor_given = True
            call.cursor = decode_cursor(raw_cursor, dataset_id=dataset.pk if dataset else None,
                                        incremental=call.since is not None)
            if call.cursor is None or (call.since is not None and call.cursor[0] <= call.since):
                raise bad(_("cursor 无效，请使用上一页返回的 next 链接"), "cursor", projection)

    if dataset is not None:
        call.encrypted = frozenset(dataset.encrypted_items) | {dataset.key_item_name}
        call.mask_kinds = mask_kinds(entry, dataset, permission, projection)
    return call


def mask_kinds(entry: CatalogEntry, dataset: Dataset, permission: Permission, projection: list[str]) -> dict:
    """Projected personal items the caller reads masked, with their masking kind (see the module docstring)."""
    if permission.basis == "provider":
        return {}
    full = set(permission.grant.items) if permission.grant is not None else set()
    if all(name in full for name in projection):
        return {}
    types = dict(entry.items.values_list("name", "data_type"))
    kinds = {}
    for name in projection:
        if name in full:
            continue
        # The kinds the pipeline stores masked forms under (ingest.item_specs): the export reads them by kind.
        kind = item_mask_kind(name, types.get(name, "C"), encrypted=name in dataset.encrypted_items,
                              key_kind=dataset.key_kind if name == dataset.key_item_name else None)
        if kind is not None:
            kinds[name] = kind
    return kinds


# --------------------------------------------------------------------------------------------- cursor


def encode_cursor(dataset_id: int, last_id: int, updated_at: dt.datetime | None = None) -> str:
    payload = {"d": dataset_id, "i": last_id}
    if updated_at is not None:
        payload["t"] = updated_at.astimezone(dt.UTC).isoformat()
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str, *, dataset_id: int | None, incremental: bool) -> tuple | None:
    """(id,) or (updated_at, id) from an opaque cursor of this dataset and mode; None when malformed."""
    if not value or len(value) > 200:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("d") != dataset_id or dataset_id is None:
        return None
    last_id = payload.get("i")
    if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 < last_id < 2**63:
        return None
    if not incremental:
        return None if "t" in payload else (last_id,)
    stamp = payload.get("t")
    if not isinstance(stamp, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment, last_id)


# --------------------------------------------------------------------------------------------- reading


def records_queryset(call: DataCall):
    """The call's rows in keyset order (no page bound): live rows by id, or changes since `since`.

    A page's index scan must START at the cursor. PostgreSQL's B-tree scan takes its start key column by column
    and prefers an equality: with `dataset_id = d` beside a row comparison `(dataset_id, …) > (d, …)` it starts at
    the dataset's first entry and filters its way to the cursor (page 1 000 of a 1 M-row dataset read ≈ 3 900
    index pages instead of ≈ 10, and the time grew with the depth). So:
    - without `since`: `dataset_id = d AND id > n` — the equality and `id > n` together are the start key (d, n) of
      the (dataset_id, id) index — plus the row comparison `(dataset_id, id) > (d, n)`, which only that index can
      use: the planner then never picks the primary key to filter its way through other datasets' interleaved
      rows. The first page is the same with n = 0 (ids start at 1).
    - with `since` and a cursor (t, n): the row comparison `(dataset_id, updated_at, id) > (d, t, n)` is the start
      key, bounded by `dataset_id <= d` (together: exactly the dataset's rows after the cursor), with no equality
      and no `updated_at > since` beside it (either would start the scan earlier: at the dataset, or at `since` —
      all rows of a bulk load share one `updated_at`, so even (d, t) is no start key).
    - with `since` and no cursor: `dataset_id = d AND updated_at > since`, the start key (d, since).
    A filter on the subject key is one lookup in the unique (dataset_id, key_hash) index (with the equality).
    """
    ds = call.dataset
    if call.since is None:
        last = call.cursor[0] if call.cursor else 0
        qs = Record.objects.filter(dataset_id=ds.pk, id__gt=last, deleted_at__isnull=True).extra(
            where=["(aggregation_record.dataset_id, aggregation_record.id) > (%s, %s)"], params=[ds.pk, last])
        qs = qs.order_by("dataset_id", "id")
    else:
        if not call.cursor:
            qs = Record.objects.filter(dataset_id=ds.pk, updated_at__gt=call.since)
        else:
            qs = Record.objects.extra(
                where=["aggregation_record.dataset_id <= %s",
                       "(aggregation_record.dataset_id, aggregation_record.updated_at, aggregation_record.id)"
                       " > (%s, %s, %s)"],
                params=[ds.pk, ds.pk, call.cursor[0], call.cursor[1]],
            )
        qs = qs.order_by("dataset_id", "updated_at", "id")
    for n, (name, value) in enumerate(call.filters.items()):
        if name == ds.key_item_name:
            qs = qs.filter(dataset_id=ds.pk, key_hash=crypto.blind_index(value))
        else:
            alias = f"_f{n}"
            qs = qs.alias(**{alias: KT(f"data__{name}")}).filter(**{alias: value})
    return qs.values_list("id", "data", "updated_at", "deleted_at", "masked")


class RowRenderer:
    """Plain, projected, masked values of stored rows; decrypts only projected encrypted items."""

    def __init__(self, call: DataCall):
        self.call = call
        self.cipher = crypto.cipher()
        self.projection = call.projection
        self.masks = call.mask_kinds

    def values(self, data: dict, masked: dict | None = None) -> dict:
        """`data` rendered. `masked`: the row's stored masked forms (Record.masked); an item read masked is its form of
        that kind when the row has one (nothing to decrypt: the form is what masking the value gives)."""
        out = {}
        for name in self.projection:
            kind = self.masks.get(name)
            if kind and masked:
                form = masked.get(kind, {}).get(name)
                if form is not None:
                    out[name] = form
                    continue
            value = data.get(name)
            if value is not None and name in self.call.encrypted and isinstance(value, str) \
                    and crypto.is_encrypted(value):
                try:
                    value = self.cipher.decrypt(value)
                except crypto.DecryptionError:
                    value = None
            if kind and value not in (None, ""):
                value = mask(str(value), kind)
            out[name] = value
        return out


def verification_fields(flagged: bool) -> dict:
    from aggregation.verification import VERIFICATION_NOTICE

    if flagged:
        return {"under_verification": True, "verification_notice": str(VERIFICATION_NOTICE)}
    return {"under_verification": False}


# json_build_object takes at most 100 arguments: wider projections read the whole `data` instead.
_MAX_SQL_PROJECTION = 50


_STAMP_SQL = """to_char("aggregation_record"."updated_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""


def _iso_stamp(text: str) -> str:
    """`updated_at.isoformat()` of the UTC datetime Django would load, from its _STAMP_SQL text."""
    return (text[:-7] if text.endswith(".000000") else text) + "+00:00"


# R14.4: whether the record has an open verification case (aggregation.verification.records_under_verification's
# condition), evaluated in the page's own statement (one probe of the one-open-case index per row) rather than by a
# second query with the page's 1 000 ids.
_FLAG_SQL = ('EXISTS (SELECT 1 FROM "aggregation_verificationcase" v'
             ' WHERE v."record_id" = "aggregation_record"."id" AND v."state" = %s)')
# A stored value that is not a JSON string (or null): `->>` would give its JSON text, so such a row comes as JSON.
_NOT_TEXT = '$.* ? (@.type() != "string" && @.type() != "null")'
_DATA = '"aggregation_record"."data"'


def projected_queryset(call: DataCall):
    """records_queryset reading only what the page shows, in SQL: each projected item as text (`data ->> item`, or
    its stored masked form when read masked; a missing item is NULL), `updated_at` as _STAMP_SQL text and the R14.4
    flag. Python builds each row's dict from the texts (no JSON parsing: `json_build_object(…)::text` + json.loads
    cost ≈ 4 ms of server time and ≈ 3 ms of Python per 1 000-row page, `->>` ≈ 1 ms in all). A row holding any
    value that is not a string — stored values are the cleaned strings of ingestion and push, so normally none —
    also comes as the JSON object of its projected items (projection order, missing → null), which then wins, so
    numbers, booleans and nested values keep their JSON type.

    Rows are (id, updated_at, deleted_at, flagged, json, *texts) when the second result is True; with more than
    _MAX_SQL_PROJECTION items (id, datetime, deleted_at, flagged, stored `data` dict, stored `masked` dict)."""
    from django.db.models import BooleanField, TextField
    from django.db.models.expressions import RawSQL

    from aggregation.models_uses import VerificationState

    qs = records_queryset(call)
    flag = RawSQL(_FLAG_SQL, (VerificationState.OPEN.value,), output_field=BooleanField())  # noqa: S611 — constant SQL
    if len(call.projection) > _MAX_SQL_PROJECTION:
        columns = ("id", "updated_at", "deleted_at", "_flag", "data", "masked")
        return qs.annotate(_flag=flag).values_list(*columns), False
    def text(name: str) -> RawSQL:
        # An item read masked: the row's stored masked form (Record.masked; masking it again changes nothing), or the
        # stored value to decrypt and mask when the row has none of that kind.
        if name in call.mask_kinds:
            return RawSQL(f'COALESCE("aggregation_record"."masked" -> %s ->> %s, {_DATA} ->> %s)',  # noqa: S611
                          (call.mask_kinds[name], name, name), output_field=TextField())
        return RawSQL(f"{_DATA} ->> %s", (name,), output_field=TextField())  # noqa: S611 — names are params

    texts = {f"_v{i}": text(name) for i, name in enumerate(call.projection)}
    args = ", ".join([f"%s, {_DATA} -> %s"] * len(call.projection))
    params = [_NOT_TEXT, *(p for name in call.projection for p in (name, name))]
    exact = RawSQL(f"CASE WHEN jsonb_path_exists({_DATA}, %s::jsonpath) THEN json_build_object({args})::text END",  # noqa: S611 — names are params
                   params, output_field=TextField())
    stamp = RawSQL(_STAMP_SQL, (), output_field=TextField())  # noqa: S611 — constant SQL
    return (qs.annotate(_stamp=stamp, _flag=flag, _exact=exact, **texts)
            .values_list("id", "_stamp", "deleted_at", "_flag", "_exact", *texts), True)


def read_page(call: DataCall) -> tuple[list[dict], str | None]:
    """One page of results and the cursor of the next one (None on the last page)."""
    from security.documents import is_document_entry

    if call.dataset is None:
        return [], None
    qs, projected = projected_queryset(call)
    rows = list(qs[: call.limit + 1])
    more = len(rows) > call.limit
    rows = rows[: call.limit]
    renderer = RowRenderer(call)
    # Rows whose projection has nothing to decrypt or mask are the projected values as they are.
    plain = projected and not any(n in call.encrypted or n in call.mask_kinds for n in call.projection)
    values = renderer.values
    names = call.projection
    loads = json.loads
    marks = {False: verification_fields(False), True: verification_fields(True)}
    since = call.since is not None
    iso = _iso_stamp if projected else dt.datetime.isoformat
    documents = is_document_entry(call.entry)  # attach_integrity's own test, once per page
    results = []
    for _rid, updated_at, deleted_at, flagged, data, *texts in rows:
        if deleted_at is not None:
            row = {"deleted": True}
        else:
            if projected:  # masked items are already their stored forms where the row has them
                data, forms = dict(zip(names, texts, strict=True)) if data is None else loads(data), None
            else:
                forms = texts[0]
            row = data if plain else values(data, forms)
            if since:
                row["deleted"] = False
        row["updated_at"] = iso(updated_at)
        row.update(marks[bool(flagged)])
        if documents:
            attach_integrity(call, row)  # R26.1: signed records of licences, documents, contracts
        results.append(row)
    cursor = None
    if more and rows:
        last = rows[-1]
        moment = None
        if since:
            moment = dt.datetime.fromisoformat(_iso_stamp(last[1])) if projected else last[1]
        cursor = encode_cursor(call.dataset.pk, last[0], moment)
    return results, cursor


def next_url(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    pairs = [(k, v) for k, values in request.query_params.lists() if k != "cursor" for v in values]
    pairs.append(("cursor", cursor))
    return request.build_absolute_uri(request.path) + "?" + urlencode(pairs)


# aggregation.selectors.record_get's lookup (the unique (dataset_id, key_hash) index), reading only the columns served,
# and whether the record has an open verification case (R14.4; aggregation.verification.records_under_verification's
# condition) in the same statement: the statement prepare_call also reads with the entry (access.SUBJECT_SQL).
_SUBJECT_SQL = SUBJECT_SQL.format(dataset="%s")
_SUBJECT_FIELDS = ("id", "data", "masked", "updated_at", "deleted_at")  # in Record's field order, as from_db reads them


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def subject_record(call: DataCall, key: str):
    """The live record of one subject key (blind index lookup), or None; one statement, the R14.4 flag included."""
    from django.db import connection

    from aggregation.models_uses import VerificationState

    if call.dataset is None or not key or len(key) > 100:
        return None
    if call.prefetched is not None and call.prefetched[0] == key:
        row = call.prefetched[1]  # read with the entry (prepare_call), by the same SUBJECT_SQL
    else:
        with prepared_cursor() as cur:
            cur.execute(_SUBJECT_SQL, [VerificationState.OPEN.value, call.dataset.pk, crypto.blind_index(key)])
            row = cur.fetchone()
    if row is None or row[3] is not None:
        return None
    rid, data, updated_at, deleted_at, flagged, masked = row
    record = Record.from_db(connection.alias, _SUBJECT_FIELDS,
                            [rid, _json(data), _json(masked), updated_at, deleted_at])
    record.under_verification = flagged
    return record


def subject_values(call: DataCall, record) -> dict:
    from aggregation.verification import records_under_verification

    row = RowRenderer(call).values(record.data, record.masked)
    row["updated_at"] = record.updated_at.isoformat()
    flagged = getattr(record, "under_verification", None)
    if flagged is None:  # a record not read by subject_record
        flagged = record.pk in records_under_verification([record.pk])
    row.update(verification_fields(flagged))
    attach_integrity(call, row)  # R26.1
    return row


# --------------------------------------------------------------------------------------------- API views

_PURPOSE = OpenApiParameter("X-Purpose", str, OpenApiParameter.HEADER, required=True,
                            description="本次调用的业务用途（记录在审计日志中）")
_FIELDS = OpenApiParameter("fields", str, required=False, description="逗号分隔的信息项；缺省为有权读取的全部信息项")


class RecordsView(RecordPushView):
    """/api/v1/data/{resource}/records/ — GET: pull (data interface); POST: the provider's push (AGG-1)."""

    @extend_schema(
        summary="数据接口：分页拉取（游标分页、字段投影、精确筛选、增量）",
        description=(
            "返回 {\"results\": [...], \"next\": 下一页链接或 null}。`fields` 缺省为有权读取的全部信息项；"
            "`limit` 缺省 100，最大 5000；`cursor` 取自 next 链接，不透明；`since`（ISO 8601 时间）只返回此后"
            "变更的行（含已删除行，`deleted: true`）；其余参数按信息项精确筛选（主体标识经盲索引）。"
            "授权外的信息项返回 403 no_grant；参数错误返回 400 invalid。每次调用都记录审计日志。"
        ),
        parameters=[_PURPOSE, _FIELDS, OpenApiParameter("limit", int, required=False),
                    OpenApiParameter("cursor", str, required=False),
                    OpenApiParameter("since", OpenApiTypes.DATETIME, required=False)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, resource: str):
        call = prepare_call(request, resource, method=ExchangeMethod.API, paged=True)
        results, cursor = read_page(call)
        call.record_read(len(results), limit=call.limit)
        return Response({"results": results, "next": next_url(request, cursor)})


class RecordDetailView(APIView):
    """GET /api/v1/data/{resource}/records/{key}/ — online query of one subject (在线查询)."""

    @extend_schema(
        summary="在线查询：按身份证号 / 统一社会信用代码查询一个主体", operation_id="data_record_query",
        description="返回有权读取的信息项；无此主体返回 404 not_found。每次查询都记录审计日志。",
        parameters=[_PURPOSE, _FIELDS], responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, resource: str, key: str):
        call = prepare_call(request, resource, method=ExchangeMethod.QUERY, filters_allowed=False, subject_key=key)
        record = subject_record(call, key)
        if record is None:
            call.record_read(0, found=False)
            raise NotFound(_("没有该主体的数据"))
        row = subject_values(call, record)
        call.record_read(1, found=True)
        return Response(row)
