"""Read side of the resource pool: datasets in scope, records by key, plain values, history, integrity check.

Records are the rows of the dataset's resource table `pool.r<id>` (storage.reading: a `Row`; row ids = record ids).
The integrity check and the history's current version still read `aggregation_record`: history rows store
before/after in the record's JSON form (a token per personal item), which the table's rows (one token per row) are
not comparable with until the writer writes its own history form (issue 18).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from security import crypto

from ..access import dataset_scope_q
from ..ingest.encryption import row_digest
from ..models import Dataset, Record
from ..storage import reading


def dataset_list(*, user, department_id: int | None = None) -> QuerySet[Dataset]:
    qs = Dataset.objects.restrict(user, "view").select_related("entry", "department")
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("department__name", "entry__code")


def pool_entries(*, user, department_id: int | None = None):
    """Approved entries in the user's scope with their dataset (None before the first load): the pool page."""
    from catalog.choices import EntryState
    from catalog.models import CatalogEntry
    qs = (
        CatalogEntry.objects.filter(state=EntryState.APPROVED).in_scope(user, "provider")
        .select_related("provider", "dataset")
    )
    if department_id:
        qs = qs.filter(provider_id=department_id)
    return qs.order_by("provider__name", "code")


def datasets_visible(user) -> QuerySet[Dataset]:
    """Datasets whose records `user` may open (404 for the rest): access.dataset_scope_q."""
    return Dataset.objects.filter(dataset_scope_q(user))


def visible_record(user, dataset_pk, pk) -> tuple[Dataset, reading.Row] | None:
    """The dataset and live row if `user` may open them (datasets_visible), else None."""
    dataset = datasets_visible(user).select_related("entry", "department").filter(pk=dataset_pk).first()
    row = reading.get(dataset, int(pk)) if dataset is not None and dataset.columns else None
    return (dataset, row) if row is not None else None


def data_arrivals(entry_ids: list[int]) -> dict[int, dt.datetime | None]:
    """When data last arrived per catalog entry (its dataset's last load); registered with catalog.hooks.

    Entries without a dataset are absent (no data yet)."""
    return dict(Dataset.objects.filter(entry_id__in=entry_ids).values_list("entry_id", "last_loaded_at"))


def record_get(*, dataset: Dataset, key: str) -> reading.Row | None:
    """The row of a subject key by its blind index (one probe of the unique key_hash index, no decryption), deleted
    ones included."""
    if not dataset.columns:
        return None
    return reading.by_key(dataset, key, include_deleted=True)


def record_values(row: reading.Row, *, decrypt: bool = True) -> dict[str, Any]:
    """The row's values by item name, empty values absent: its encrypted items (the subject key too) in plain text
    when `decrypt` — the row's one token opened; a token that does not authenticate gives none of them —, else as
    stored (storage.reading.history_form: the token under "token")."""
    if not decrypt:
        return reading.history_form(row)
    (secret,) = reading.decrypted([row], crypto.cipher())
    return {**row.values, **{k: v for k, v in (secret or {}).items() if v not in (None, "")}}


def record_page(*, dataset: Dataset, after_id: int | None = None, limit: int = 50) -> list[reading.Row]:
    """Keyset page of a dataset's live rows (id order, by the table's primary key)."""
    if not dataset.columns:
        return []
    return reading.rows(dataset, after_id=after_id or None, limit=limit)


@dataclass
class IntegrityReport:
    checked: int
    digest_mismatch: list[int]  # changed around the application (digest no longer matches the plain values)
    history_mismatch: list[int]  # current values differ from the last history row (changed without history)
    missing_records: list[int]  # record ids in history but no longer in the table (deleted around the app)
    undecryptable: list[int]

    @property
    def ok(self) -> bool:
        return not (self.digest_mismatch or self.history_mismatch or self.missing_records or self.undecryptable)


def record_integrity(*, dataset: Dataset, limit: int | None = None) -> IntegrityReport:
    """Show unauthorised changes and deletions of a dataset's records (R35.5).

    Every change made by the application writes a history row in the same statement and a keyed row digest;
    SQL by hand can do neither, so: digest ≠ keyed digest of the plain values, or the plain subject key ≠ the
    blind index the row is filed under (a row copied from another record); current data ≠ what the last history
    row says the record became — its `after`, or for an insert recorded without a copy, the inserted version
    (version 1, sealed by the row digest written in the same statement); or a history row pointing at a record
    that no longer exists.
    """
    cipher = crypto.cipher()
    report = IntegrityReport(0, [], [], [], [])
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT r.id FROM aggregation_record r
              LEFT JOIN LATERAL (SELECT h.op, h.after FROM aggregation_recordhistory h
                                  WHERE h.record_id = r.id ORDER BY h.id DESC LIMIT 1) h ON true
             WHERE r.dataset_id = %s AND r.deleted_at IS NULL
               AND CASE WHEN h.op = 'insert' AND h.after IS NULL THEN r.version <> 1
                        ELSE r.data IS DISTINCT FROM h.after END
            """,
            [dataset.pk],
        )
        history_mismatch = {r[0] for r in cur.fetchall()}
        cur.execute(
            """
            SELECT DISTINCT h.record_id FROM aggregation_recordhistory h
             WHERE h.dataset_id = %s AND NOT EXISTS (SELECT 1 FROM aggregation_record r WHERE r.id = h.record_id)
            """,
            [dataset.pk],
        )
        report.missing_records = [r[0] for r in cur.fetchall()]
    key_item = dataset.key_item_name
    qs = Record.objects.filter(dataset=dataset).order_by("id").values_list("id", "data", "row_hash", "key_hash",
                                                                           "version", "deleted_at")
    for n, (rid, data, stored_hash, key_hash, version, deleted_at) in enumerate(qs.iterator(chunk_size=5000)):
        if limit is not None and n >= limit:
            break
        report.checked += 1
        try:
            plain = {k: (cipher.decrypt(v) if crypto.is_encrypted(v) else v) for k, v in data.items()}
        except crypto.DecryptionError:
            report.undecryptable.append(rid)
            continue
        plain = {k: v if isinstance(v, str) else json.dumps(v) for k, v in plain.items() if v not in (None, "")}
        key_ok = key_item in plain and cipher.blind_index(plain[key_item]) == bytes(key_hash)
        if bytes(row_digest(cipher, plain)) != bytes(stored_hash) or not key_ok:
            report.digest_mismatch.append(rid)
            if version == 1 and deleted_at is None:
                # Still the inserted version: its history row references it (sealed by the digest), so the values
                # no longer being what was inserted is a change without history as well.
                history_mismatch.add(rid)
    report.history_mismatch = sorted(history_mismatch)
    return report


def history_rows(record_id: int, rows) -> list[tuple[Any, dict | None, dict | None]]:
    """(history row, before, after) for `rows` (history rows of record `record_id`, any order, ending with its
    newest).

    An insert written by the bulk statements does not copy the row (`after` is NULL): it references the inserted
    version, which is the `before` of the record's next history row, or the record's current data while there is
    no next row. Other rows carry their own before/after. (The current data in the history's form — the record's
    JSON, a token per personal item — is read from aggregation_record: module docstring.)
    """
    ordered = sorted(rows, key=lambda h: h.pk)
    out = []
    for i, h in enumerate(ordered):
        after = h.after
        if after is None and h.op == "insert":
            after = (ordered[i + 1].before if i + 1 < len(ordered) else
                     Record.objects.filter(pk=record_id).values_list("data", flat=True).first())
        out.append((h, h.before, after))
    return out
