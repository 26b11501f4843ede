"""Reading a data call's rows and rendering them: pages of the pull and the online query's subject, from the dataset's
resource table `pool.r<id>` (aggregation.storage.reading.shown: one prepared statement on the connection of reads —
the replica inside `replica_reads()`). The download and the push read the same tables through storage.reading too
(sharing.export, sharing.push).

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

from aggregation.storage import reading
from security import crypto
from security.documents import attach_integrity

from .calls import DataCall
from .cursor import encode_cursor


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
