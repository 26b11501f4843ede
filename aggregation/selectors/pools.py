"""Read side of the resource pool: datasets in scope, records by key, plain values, history, integrity check.

Records are the rows of the dataset's resource table `pool.r<id>` (storage.reading: a `Row`; row ids = record ids).
The integrity check (R35.5) and the history's current version read the table too (issue 18): the table mirrors the
records while the old path writes them, and is all there is once it does not. History rows hold before/after in
two forms — the writer's ({"token": the row's one token, item: text …}) and, written by the records path, the
record's JSON (a token per personal item); they are compared as clear {item: value} (storage.reading.history_clear).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from security import crypto

from ..access import dataset_scope_q
from ..ingest.encryption import row_digest
from ..models import Dataset, IngestJob
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
    # (load job id, rows it inserted, rows the table holds with its stamp) where the two differ: rows a load inserted
    # and nothing changed since have no history row, so their deletion around the application shows only here
    load_shortfalls: list[tuple[int, int, int]] = field(default_factory=list)
    error: str = ""  # the check could not run (the table dropped or unreadable beneath the application)

    @property
    def ok(self) -> bool:
        return not (self.digest_mismatch or self.history_mismatch or self.missing_records or self.undecryptable
                    or self.load_shortfalls or self.error)


def record_integrity(*, dataset: Dataset, limit: int | None = None) -> IntegrityReport:
    """Show unauthorised changes and deletions of a dataset's rows (R35.5), read from its resource table.

    Every change made by the application writes a history row in the same transaction and a keyed row digest;
    SQL by hand can do neither, so, per row (the first `limit` in id order, walked in batches):
    - digest_mismatch: the keyed digest of its plain values (clear columns as canonical text, the opened token)
      ≠ row_hash, or its plain subject key's blind index ≠ key_hash (a row copied from another);
      undecryptable: its token does not authenticate;
    - history_mismatch: a live row whose values differ from what its last history row says it became (its after,
      compared as clear values); a row with no history row, or whose last one is an insert without a copy, must
      be the inserted version (its digest sound; its version 1, below). And over the whole table without
      decrypting (storage.reading.history_breaks): a version other than 1 + its changes in history, a live row
      whose last history row is a deletion (restored around the application), a deleted row whose last is not;
    - missing_records: history rows naming a record the table no longer holds (deleted around the application);
    - load_shortfalls: a load's insert leaves no history row, so a row a load inserted and nothing changed since,
      deleted by SQL, is named by nothing: each succeeded load's inserted count is compared with the rows holding
      its stamp as created_at (IngestJob.written_at; loads from before the stamp existed are not counted).
    """
    report = IntegrityReport(0, [], [], [], [])
    if not dataset.columns:
        return report
    cipher = crypto.cipher()
    key_item = dataset.key_item_name
    live = {name for name, e in dataset.columns.items() if not e.get("retired")}  # (retired since: not compared)
    history_mismatch = set(reading.history_breaks(dataset))
    report.missing_records = reading.history_orphans(dataset)
    loads = IngestJob.objects.filter(dataset=dataset, written_at__isnull=False, inserted_rows__gt=0)
    report.load_shortfalls = reading.inserted_counts(dataset, loads.values_list("pk", "written_at", "inserted_rows"))
    for batch in reading.checked_walk(dataset, limit=limit):
        secrets = reading.decrypted([c.row for c in batch], cipher)
        compared = [c for c in batch if c.after is not None and c.row.deleted_at is None]
        afters = dict(zip((c.row.id for c in compared), reading.history_clear([c.after for c in compared], cipher),
                          strict=True))
        for c, secret in zip(batch, secrets, strict=True):
            row = c.row
            report.checked += 1
            if secret is None:
                report.undecryptable.append(row.id)
                continue
            plain = {**row.values, **{k: v for k, v in secret.items() if v not in (None, "")}}
            key_ok = key_item in plain and cipher.blind_index(plain[key_item]) == row.key_hash
            sound = key_ok and bytes(row_digest(cipher, plain)) == c.row_hash
            if not sound:
                report.digest_mismatch.append(row.id)
            if row.deleted_at is not None or c.op == "delete" or c.same:
                continue  # (deletions: history_breaks; `same`: byte for byte what the history says)
            if c.op is None or (c.op == "insert" and c.no_copy):
                if not sound:  # no longer the inserted version its job / history row references
                    history_mismatch.add(row.id)
                continue
            became = afters.get(row.id)
            if became is None or {k: v for k, v in became.items() if k in live} != plain:
                history_mismatch.add(row.id)
    report.history_mismatch = sorted(history_mismatch)
    return report


def history_rows(record_id: int, rows, *, dataset: Dataset | None = None
                 ) -> list[tuple[Any, dict | None, dict | None]]:
    """(history row, before, after) for `rows` (history rows of record `record_id`, any order, ending with its
    newest), before/after as stored (either form: module docstring).

    An insert written without a copy (`after` NULL: the records path's bulk statements) references the inserted
    version: the `before` of the record's next history row, or — while there is none — the current row, read from
    the dataset's table in the writer's form (storage.reading.history_form; `dataset`: default the history row's).
    Other rows carry their own before/after.
    """
    ordered = sorted(rows, key=lambda h: h.pk)
    out = []
    for i, h in enumerate(ordered):
        after = h.after
        if after is None and h.op == "insert":
            if i + 1 < len(ordered):
                after = ordered[i + 1].before
            else:
                dataset = dataset or Dataset.objects.filter(pk=h.dataset_id).first()
                row = reading.get(dataset, record_id, include_deleted=True) if dataset and dataset.columns else None
                after = reading.history_form(row) if row is not None else None
        out.append((h, h.before, after))
    return out


def history_changes(record_id: int, rows, *, dataset: Dataset) -> list[tuple[Any, list[str]]]:
    """(history row, the items it changed) for `rows` as `history_rows` takes them, in the same order: before and
    after compared as clear values (either form, storage.reading.history_clear; the record page shows item names,
    never values). A version that cannot be read counts all its items as changed."""
    resolved = history_rows(record_id, rows, dataset=dataset)
    forms = [f for _h, before, after in resolved for f in (before, after)]
    clear = reading.history_clear(forms, crypto.cipher())
    out = []
    for n, (h, before, after) in enumerate(resolved):
        b, a = clear[2 * n] or {}, clear[2 * n + 1] or {}
        keys = set(b) | set(a)
        if (before is not None and clear[2 * n] is None) or (after is not None and clear[2 * n + 1] is None):
            # A version that cannot be read: every item it names counts as changed.
            keys |= {k for form in (before, after) for k in (form or {}) if k != "token"}
            out.append((h, sorted(keys)))
            continue
        out.append((h, sorted(k for k in keys if b.get(k) != a.get(k))))
    return out
