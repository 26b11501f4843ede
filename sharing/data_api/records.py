"""Reading a data call's rows and rendering them: pages of the pull and the online query's subject, from the dataset's
resource table `pool.r<id>` (aggregation.storage.reading.shown: one prepared statement on the connection of reads —
the replica inside `replica_reads()`). `records_queryset` and `RowRenderer` still read aggregation_record for the
download and the push (sharing.export, sharing.push) until those move too.

Masking (what "full" means): `Permission` has no masked/full notion, so an item is returned *in full* when
the caller reads its own resource (basis "provider") or the item is named in the grant the call is made
under. Personal items (those with a masking kind, `aggregation.access.mask_kind`) read on any other basis — an
unconditional resource, base items read without a grant — are returned masked (`security.masking.mask`): every
read takes the masked form stored with each row (the table's m<n> column of that kind) and opens the row's one token
only for what it returns in full (or a row stored without the form). Items the policy does not allow are never
returned at all. An empty value is null.

Pagination (keyset, no OFFSET; constant time per page however deep):
- without `since`: live rows in id order, cursor = (dataset, id), the table's primary key. Rows inserted while a
  consumer pages may land below its cursor (ids come from a cached sequence) and are then not in this walk; the rows
  that existed at the start are neither skipped nor doubled; changes to a row do not move it.
- with `since`: rows changed after `since` in (updated_at, id) order, deleted rows included (values
  omitted, `deleted: true`), cursor = (dataset, updated_at, id), the table's (updated_at, id) index.
  A row changed while paging moves to the end and is delivered again (upserts by key are idempotent).
  For an incremental sync, pass the last `updated_at` received minus a minute (a transaction that commits
  late carries its start time).

Filters: `?<item>=<value>` exact match on declared, readable items. The subject key goes through the
blind index (the unique key_hash index); other encrypted items cannot be filtered (`invalid`); clear
items compare their canonical text (`?date=2024/1/31` matches nothing). A clear-item filter is evaluated while
walking the id index (a selective filter on a huge dataset scans more rows per page; the key filter is always one
index lookup).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models.fields.json import KT

from aggregation.models import Record
from aggregation.storage import reading
from security import crypto
from security.documents import attach_integrity
from security.masking import mask

from .calls import DataCall
from .cursor import encode_cursor


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


def read_page(call: DataCall) -> tuple[list[dict], str | None]:
    """One page of results and the cursor of the next one (None on the last page): the dataset's resource table
    (aggregation.storage.reading.shown: one statement with the R14.4 flag; the masked forms stored with each row)."""
    from aggregation.choices import VerificationState
    from security.documents import is_document_entry

    if call.dataset is None:
        return [], None
    since = call.since is not None
    if since:
        bounds = {"since": call.since, "after": call.cursor or None, "include_deleted": True}
    else:
        bounds = {"after_id": call.cursor[0] if call.cursor else None}
    rows = reading.shown(call.dataset, call.projection, kinds=call.mask_kinds, filters=call.filters or None,
                         limit=call.limit + 1, open_state=VerificationState.OPEN.value, **bounds)
    more = len(rows) > call.limit
    rows = rows[: call.limit]
    marks = {False: verification_fields(False), True: verification_fields(True)}
    iso = reading.api_stamp
    documents = is_document_entry(call.entry)  # attach_integrity's own test, once per page
    results = []
    for _rid, stamp, deleted, flagged, values in rows:
        if deleted:
            row = {"deleted": True}
        else:
            row = values
            if since:
                row["deleted"] = False
        row["updated_at"] = iso(stamp)
        row.update(marks[bool(flagged)])
        if documents:
            attach_integrity(call, row)  # R26.1: signed records of licences, documents, contracts
        results.append(row)
    cursor = None
    if more and rows:
        last = rows[-1]
        moment = dt.datetime.fromisoformat(iso(last[1])) if since else None
        cursor = encode_cursor(call.dataset.pk, last[0], moment)
    return results, cursor


def next_url(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    pairs = [(k, v) for k, values in request.query_params.lists() if k != "cursor" for v in values]
    pairs.append(("cursor", cursor))
    return request.build_absolute_uri(request.path) + "?" + urlencode(pairs)


@dataclass(slots=True)
class Subject:
    """The online query's row of one subject, as the call shows it (aggregation.storage.reading.shown)."""

    id: int
    stamp: str  # updated_at (reading.api_stamp)
    flagged: bool  # an open verification case (R14.4)
    values: dict


def subject_record(call: DataCall, key: str) -> Subject | None:
    """The live row of one subject key (the blind index: one probe of the table's unique key_hash index), or None;
    one statement, the R14.4 flag included. Called only after prepare_call let the call through (a refused call
    never reads the row)."""
    from aggregation.choices import VerificationState

    if call.dataset is None or not key or len(key) > 100:
        return None
    found = reading.shown(call.dataset, call.projection, kinds=call.mask_kinds, key_hashes=[crypto.blind_index(key)],
                          open_state=VerificationState.OPEN.value)
    if not found:
        return None
    rid, stamp, _deleted, flagged, values = found[0]
    return Subject(rid, stamp, bool(flagged), values)


def subject_values(call: DataCall, subject: Subject) -> dict:
    row = dict(subject.values)
    row["updated_at"] = reading.api_stamp(subject.stamp)
    row.update(verification_fields(subject.flagged))
    attach_integrity(call, row)  # R26.1
    return row
