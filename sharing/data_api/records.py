"""Reading a data call's rows and rendering them: pages of the pull, the online query's subject (and, through
records_queryset and RowRenderer, the download and the push).

Masking (what "full" means): `Permission` has no masked/full notion, so an item is returned *in full* when
the caller reads its own resource (basis "provider") or the item is named in the grant the call is made
under. Personal items (those with a masking kind, `aggregation.access.mask_kind`) read on any other basis — an
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

Filters: `?<item>=<value>` exact match on declared, readable items. The subject key goes through the
blind index (`key_hash`, the unique B-tree); other encrypted items cannot be filtered (`invalid`); clear
items compare `data->>'item'` as text. There is no GIN index on `data`, so a clear-item filter is
evaluated while walking the dataset's id index (a selective filter on a huge dataset scans more rows
per page; the key filter is always one index lookup).
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from django.db.models.fields.json import KT

from aggregation.models import Record
from portal.db import prepared_cursor
from security import crypto
from security.documents import attach_integrity
from security.masking import mask

from .calls import DataCall
from .cursor import encode_cursor
from .facts import SUBJECT_SQL


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
    from aggregation.selectors.verification import VERIFICATION_NOTICE

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

    from aggregation.choices import VerificationState

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
# condition) in the same statement: the statement prepare_call also reads with the entry (facts.SUBJECT_SQL).
_SUBJECT_SQL = SUBJECT_SQL.format(dataset="%s")
_SUBJECT_FIELDS = ("id", "data", "masked", "updated_at", "deleted_at")  # in Record's field order, as from_db reads them


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def subject_record(call: DataCall, key: str):
    """The live record of one subject key (blind index lookup), or None; one statement, the R14.4 flag included."""
    from django.db import connection

    from aggregation.choices import VerificationState

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
    from aggregation.selectors.verification import records_under_verification

    row = RowRenderer(call).values(record.data, record.masked)
    row["updated_at"] = record.updated_at.isoformat()
    flagged = getattr(record, "under_verification", None)
    if flagged is None:  # a record not read by subject_record
        flagged = record.pk in records_under_verification([record.pk])
    row.update(verification_fields(flagged))
    attach_integrity(call, row)  # R26.1
    return row
