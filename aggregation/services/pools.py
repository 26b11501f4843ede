"""Write side of the resource pool: datasets, record upserts from code, the provider push, record deletion.

A file load goes through an ingest job (services.ingest); rows pushed or corrected from code go through
`records_upsert`, the same COPY and set-based statement in the caller's transaction.

Issue 18's contract step: with AGGREGATION["WRITE_RECORDS"] off the writers here write the resource table
`pool.r<dataset id>` only, through storage.writing (records_upsert: write_batch with kept items, insert history
rows and the changes; record_delete: writing.delete_row; dataset_recount: the table's live rows) — aggregation_record
is not touched. On (the default until the lead flips it) the old path writes aggregation_record and mirrors it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import resource_perms
from catalog.one_source import base_item_claimant
from portal import audit
from portal.choices import AuditResult, Role
from portal.errors import NotFound, PermissionDenied, PortalError
from security import crypto
from security.masking import mask

from .. import access
from ..ingest import encryption, planning, staging
from ..ingest.planning import Plan
from ..ingest.processing import RowProcessor
from ..ingest.rotation import rotate_case_key_hashes, rotate_records
from ..ingest.validation import key_kind_of
from ..models import Dataset, Record, RecordHistory
from ..selectors.pools import IntegrityReport, record_get, record_integrity, record_page
from ..selectors.verification import verification_flags
from ..storage import ddl, moving, reading, rotating, writing
from ..storage.layout import Layout

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Datasets


def dataset_ensure(*, entry) -> Dataset:
    """The dataset of an approved entry, created on first use (its key item and encrypted items from the catalog).

    Raises PortalError ("not_published") for an entry that is not approved, ("no_subject_key") for one without
    a subject-key item. Audits aggregation.dataset.created when it creates one.
    """
    existing = Dataset.objects.filter(entry=entry).first()
    if existing is not None:
        return existing
    if entry.state != "approved":
        raise PortalError(_("目录条目尚未发布，不能归集数据"), code="not_published")
    items = list(entry.items.order_by("position"))
    key = next((i for i in items if i.is_subject_key), None)
    if key is None:
        raise PortalError(_("目录条目没有标记主体标识信息项（身份证号码或统一社会信用代码等），不能归集数据"),
                          code="no_subject_key")
    key_kind = key_kind_of(key.name, key.data_type)
    with transaction.atomic():
        dataset, created = Dataset.objects.get_or_create(
            entry=entry,
            defaults={
                "department_id": entry.provider_id,
                "key_item_name": key.name,
                "key_kind": key_kind,
                "encrypted_items": planning.encrypted_item_names(items),
                "mask_kinds": planning.mask_kinds_of(planning.item_specs(items, key_kind=key_kind, encrypted_items=())),
            },
        )
        if created:
            audit.record(
                actor=None, action="aggregation.dataset.created", obj=dataset, department=entry.provider,
                data={"entry": entry.code, "key": key.name, "encrypted_items": dataset.encrypted_items},
            )
            ddl.table_create(dataset)
    return dataset


def datasets_sync() -> int:
    """Give every approved entry with a subject-key item its dataset (idempotent; beat job and seed).

    Returns how many datasets were created; each creation is audited by dataset_ensure.
    """
    from catalog.models import CatalogEntry

    missing = CatalogEntry.objects.filter(state="approved", dataset__isnull=True, items__is_subject_key=True)
    created = 0
    for entry in missing.distinct().iterator():
        try:
            dataset_ensure(entry=entry)
            created += 1
        except PortalError:
            log.warning("entry %s: no dataset", entry.pk)
    for dataset in Dataset.objects.select_related("entry", "department").order_by("pk"):
        if _write_records():
            masked_forms_sync(dataset)
            tables_sync(dataset)
        else:  # the masked columns are remasked once the table's layout follows the catalog
            tables_sync(dataset)
            masked_forms_sync(dataset)
    return created


def tables_sync(dataset: Dataset) -> None:
    """The dataset's resource table (storage.ddl): created for a dataset older than the tables, else brought in line
    with catalog changes the update-case hook did not migrate. A refusal (values that do not fit, the table busy) is
    logged and tried again on the next run."""
    try:
        with transaction.atomic():
            if not ddl.table_create(dataset):
                ddl.table_migrate(dataset, actor=None)
    except PortalError as exc:
        log.warning("dataset %s: table not migrated: %s", dataset.pk, exc.code)


def _write_records() -> bool:
    """The contract step's switch (settings.AGGREGATION["WRITE_RECORDS"]): True, the writers write aggregation_record
    and mirror it into the resource tables; False, they write the tables only."""
    return bool(settings.AGGREGATION.get("WRITE_RECORDS", True))


def records_rotate(**kwargs) -> dict[str, int]:
    """Key rotation of the pool (registered with security.rotation as "aggregation.records"): {"records": rows,
    "history": history rows} changed (or that would change, with `dry_run`).

    Writing the tables only: every dataset's resource table and its history rows re-sealed in place
    (storage.rotating.table_rotate), one transaction per dataset holding the dataset's row locked, as a load does.
    Writing records: ingest.rotation.rotate_records on aggregation_record and its history, then every dataset's table
    copied again from its records (storage.moving.mirror) — one transaction per dataset."""
    if not _write_records():
        counts = {"records": 0, "history": 0}
        for dataset_id in Dataset.objects.exclude(columns={}).order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                locked = Dataset.objects.select_for_update().get(pk=dataset_id)
                if not locked.columns:
                    continue
                done = rotating.table_rotate(locked, **kwargs)
            for name, n in done.items():
                counts[name] += n
        return counts
    counts = rotate_records(**kwargs)
    if not kwargs.get("dry_run"):
        for dataset_id in Dataset.objects.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                moving.mirror(dataset_id)
    return counts


def verification_cases_rotate(*, cipher, batch: int, recompute_blind_index: bool, dry_run: bool,
                              on_batch=None) -> dict[str, int]:
    """On a blind-index rotation, each verification case's copy of its record's key hash (registered with
    security.rotation after "aggregation.records", which recomputed them); {"verification case indexes": n}. Writing
    records: copied from aggregation_record (ingest.rotation.rotate_case_key_hashes); writing the tables only: from
    the dataset's resource table (storage.rotating.case_key_hashes)."""
    hook = {} if on_batch is None else {"on_batch": on_batch}
    if _write_records():
        return rotate_case_key_hashes(cipher=cipher, batch=batch, recompute_blind_index=recompute_blind_index,
                                      dry_run=dry_run, **hook)
    count = 0
    if recompute_blind_index:
        for dataset in Dataset.objects.exclude(columns={}).order_by("pk"):
            count += rotating.case_key_hashes(dataset, batch=batch, dry_run=dry_run, **hook)
    return {"verification case indexes": count}


def masked_forms_sync(dataset: Dataset) -> int:
    """Recompute the stored masked forms when the masking kinds of the dataset's items have changed since they were
    stored (a catalog update); the number of rows changed. Until then a read decrypts and masks the values whose form
    is missing. Audits aggregation.dataset.remasked when the kinds changed.

    Writing records: the records' forms (Record.masked: ingest.encryption.remask), then the table mirrored. Writing
    the tables only: the table's masked columns (storage.rotating.table_remask), once its layout follows the catalog
    (the table's migration recreates a changed kind's column empty; datasets_sync migrates before it remasks).
    """
    kinds = planning.mask_kinds_of(planning.plan_for(dataset).items)
    if kinds == dataset.mask_kinds:
        return 0
    if not _write_records():
        # The table's masked columns follow its layout, which the table's migration (ddl.table_migrate: a changed
        # kind's column recreated empty) brings in line with the catalog: until it has, nothing is remasked and the
        # kinds stay as they were, so the next sync tries again (meanwhile a read masks what has no stored form).
        if not dataset.columns or Layout.stored(dataset).masked(retired=False) != Layout.of(dataset).masked(
                retired=False):
            return 0
        changed = rotating.table_remask(dataset)
        with transaction.atomic():
            Dataset.objects.filter(pk=dataset.pk).update(mask_kinds=kinds)
            audit.record(actor=None, action="aggregation.dataset.remasked", obj=dataset,
                         department=dataset.department,
                         data={"kinds": kinds, "previous": dataset.mask_kinds, "rows": changed})
        dataset.mask_kinds = kinds
        return changed
    changed = encryption.remask(dataset.pk, kinds)
    with transaction.atomic():
        Dataset.objects.filter(pk=dataset.pk).update(mask_kinds=kinds)
        if changed:
            moving.mirror(dataset.pk)
        audit.record(actor=None, action="aggregation.dataset.remasked", obj=dataset, department=dataset.department,
                     data={"kinds": kinds, "previous": dataset.mask_kinds, "rows": changed})
    dataset.mask_kinds = kinds
    return changed


def refresh_encrypted_items(dataset: Dataset) -> Plan:
    """The plan of the dataset; items that became personal since (catalog update) join encrypted_items."""
    plan = planning.plan_for(dataset)
    wanted = [i.name for i in plan.items if i.encrypt]
    if set(wanted) - set(dataset.encrypted_items):
        dataset.encrypted_items = sorted(set(dataset.encrypted_items) | set(wanted))
        Dataset.objects.filter(pk=dataset.pk).update(encrypted_items=dataset.encrypted_items)
    return plan


def one_source_problems(dataset: Dataset) -> list[str]:
    """R12.1: base data items of this entry already provided by another entry (the existing source named)."""
    problems = []
    for item in dataset.entry.items.filter(is_base_item=True, is_subject_key=False).order_by("position"):
        claim = base_item_claimant(item.name, dataset.entry_id)
        if claim is not None:
            department, entry = claim
            problems.append(
                _("基础数据项“%(item)s”已由%(dept)s的“%(entry)s”（%(code)s）权威提供，按一数一源不得重复归集")
                % {"item": item.name, "dept": department.name, "entry": entry.name, "code": entry.code}
            )
    return problems


def require_loader(actor, dataset: Dataset) -> None:
    """NotFound outside the actor's view of the dataset; PermissionDenied unless the provider's data staff, and
    then (code no_resource_permission) unless they hold the resource's load_data permission."""
    if not Dataset.objects.restrict(actor, "view").filter(pk=dataset.pk).exists():
        raise NotFound()
    _require_data_staff(actor, dataset.entry_id, dataset.department_id, _("只有提供部门的数据专员可以归集数据"))


def _require_data_staff(actor, entry_id: int, provider_id: int, refusal: str) -> None:
    if not actor.has_role(Role.DEPT_STAFF) or actor.department_id != provider_id:
        raise PermissionDenied(refusal)
    resource_perms.require(actor, entry_id=entry_id, provider_id=provider_id, perm=resource_perms.LOAD_DATA)


def dataset_recount(dataset: Dataset, now) -> None:
    """Store the dataset's live record count and its last load time `now` (the live rows of its resource table when
    the writers write the tables only: AGGREGATION["WRITE_RECORDS"] off)."""
    if not _records_written():
        dataset.row_count = reading.count(dataset) if dataset.columns else 0
    else:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM aggregation_record WHERE dataset_id = %s AND deleted_at IS NULL", [dataset.pk]
            )
            dataset.row_count = cur.fetchone()[0]
    dataset.last_loaded_at = now
    dataset.save(update_fields=["row_count", "last_loaded_at"])


# --------------------------------------------------------------------------------------------------
# Upserting rows from code (API push, verification corrections)


@dataclass(frozen=True)
class Rejection:
    row: int
    item: str
    value: str
    reason: str


@dataclass(frozen=True)
class Change:
    record_id: int
    history_id: int
    op: str


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


def records_upsert(
    *, actor, dataset: Dataset, rows: list[dict[str, Any]], reason: str = "", job=None, all_or_nothing: bool = False
) -> UpsertResult:
    """Validate, clean and upsert rows (item name → value) by subject key, with history, in the caller's transaction.

    Loads through COPY into a transaction-local stage table and the same set-based statement as file jobs.
    Rows are numbered from 1; a row with an unknown item is rejected. An item a row leaves out keeps the subject's
    stored value (as a file without that column does); an item given as null or "" is emptied. With
    `all_or_nothing`, any rejection means nothing is written. Does not audit: the calling service does (push,
    verification correction). `result.changes`: (record id, history id, op) of every insert and update — an insert
    from code has its history row (op 'insert', after = the row) on both paths.

    With AGGREGATION["WRITE_RECORDS"] off: the rows checked by the processor's checker (the same canonical text and
    rejections) and written by storage.writing.write_batch into the resource table, the left-out items of each row
    kept from the stored row (`_keep`), the dataset row locked first (as a load locks it).
    """
    result = UpsertResult()
    if not rows:
        return result
    plan = planning.plan_for(dataset)
    names = [i.name for i in plan.items]
    known = set(names)
    processor = RowProcessor(plan, names, {n: n for n in names})
    table: list[list] = []
    omitted: dict[int, list[str]] = {}  # row number → the items the row leaves out (they keep their stored values)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            result.rejected.append(Rejection(number, "", "", _("每行应为对象（信息项名称 → 值）")))
            table.append([])
            continue
        unknown = [k for k in row if k not in known]
        if unknown:
            result.rejected.append(Rejection(number, unknown[0], "", _("不是该资源的信息项")))
            table.append([])
            continue
        table.append([row.get(n) for n in names])
        if left_out := [n for n in names if n not in row and n != plan.key_item]:
            omitted[number] = left_out
    if not _records_written():
        return _upsert_tables(actor=actor, dataset=dataset, plan=plan, processor=processor, table=table,
                              omitted=omitted, result=result, reason=reason, job=job, all_or_nothing=all_or_nothing)
    batch = processor.process(1, table)
    result.rejected.extend(Rejection(r, c, v, why) for r, c, v, why in batch.rejections)
    result.rejected.sort(key=lambda r: r.row)
    if not batch.accepted or (all_or_nothing and result.rejected):
        return result
    stage = f"agg_push_{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        cur = staging.raw_cursor()
        staging.stage_create(cur, stage, on_commit_drop=True)
        with staging.copy_into(cur, stage) as copy:
            copy.write(batch.copy_text)
        duplicates = staging.stage_dedupe(cur, stage)
        cur.close()
        now = timezone.now()
        with connection.cursor() as c:
            if omitted:
                staging.stage_keep_items(c, stage, dataset_id=dataset.pk, rows=omitted, cipher=processor.cipher,
                                         items=sorted({n for items in omitted.values() for n in items}))
            changes = staging.upsert_from_stage(
                c, stage, dataset_id=dataset.pk, actor_id=getattr(actor, "pk", None), job_id=getattr(job, "pk", job),
                reason=reason, now=now, changes=True, copy_inserts=True,
            )
            result.changes = [Change(r, h, op) for r, h, op in changes]
            c.execute(f"DROP TABLE {stage}")
        moving.mirror(dataset.pk, ids=[ch.record_id for ch in result.changes])
        result.inserted = sum(1 for ch in result.changes if ch.op == "insert")
        result.updated = sum(1 for ch in result.changes if ch.op == "update")
        result.unchanged = batch.accepted - duplicates - result.inserted - result.updated
        if result.inserted or result.updated:
            dataset_recount(locked, now)
    return result


def _records_written() -> bool:
    """The transitional switch of issue 18's contract step: True — the old path (aggregation_record + mirror)."""
    return bool(settings.AGGREGATION.get("WRITE_RECORDS", True))


def _upsert_tables(*, actor, dataset: Dataset, plan: Plan, processor: RowProcessor, table: list[list],
                   omitted: dict[int, list[str]], result: UpsertResult, reason: str, job,
                   all_or_nothing: bool) -> UpsertResult:
    """records_upsert into the resource table only (storage.writing): the processor's checker gives the canonical
    text and the rejections; the items a row leaves out are kept per row (`_keep`), inserts and updates get their
    history rows, in the caller's transaction."""
    frame, rejections, _counted = processor.checker.check(1, table)
    result.rejected.extend(Rejection(r, c, v, why) for r, c, v, why in rejections)
    result.rejected.sort(key=lambda r: r.row)
    if not frame.height or (all_or_nothing and result.rejected):
        return result
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        ddl.table_create(locked)  # (a no-op when it exists)
        target = Layout.stored(locked).target(locked.key_item_name)
        written = {c.item for c in target.columns}
        # An item of the table the checker has no column for (the catalog changed, the table not yet migrated)
        # keeps its stored value in every row; a checked item the table has no column for cannot be written.
        absent = [c.item for c in target.columns if c.item not in frame.columns]
        frame = frame.select("row_no", *[pl.col(n).cast(pl.Utf8) for n in frame.columns if n in written],
                             *[pl.lit(None, dtype=pl.Utf8).alias(n) for n in absent])
        keep = [[i for i in (*omitted.get(n, ()), *absent) if i in written] or None for n in frame["row_no"]]
        frame = frame.with_columns(pl.Series("_keep", keep, dtype=pl.List(pl.Utf8)))
        now = timezone.now()
        written_result = writing.write_batch(
            target, frame, cipher=writing.cipher(), job_id=getattr(job, "pk", job), actor_id=getattr(actor, "pk", None),
            reason=reason, now=now, history_inserts=True, changes=True)
        result.changes = [Change(r, h, op) for r, h, op in written_result.changes]
        result.inserted, result.updated = written_result.inserted, written_result.updated
        result.unchanged = written_result.unchanged
        if result.inserted or result.updated:
            dataset_recount(locked, now)
    return result


def records_push(*, actor, entry, rows: Any, purpose: str = "", all_or_nothing: bool = False) -> UpsertResult:
    """Provider push (SPEC §9.2 POST /data/{resource}/records/): only the provider's data staff.

    Raises NotFound (resource outside the caller's view), PermissionDenied (not the provider's data staff),
    PortalError ("invalid" body, "one_source"). Audits aggregation.records.pushed with the counts.
    """
    # The caller resolved `entry` within its view scope (a published entry is visible to every department):
    # seeing it is not enough to write its data.
    _require_data_staff(actor, entry.pk, entry.provider_id, _("只有提供部门的数据专员可以推送数据"))
    dataset = dataset_ensure(entry=entry)
    if not isinstance(rows, list):
        raise PortalError(_("请求体应为 JSON 数组，每个元素是一行数据"), code="invalid")
    if len(rows) > 5000:
        raise PortalError(_("每次最多推送 5000 行；更多数据请分批推送或上传文件"), code="invalid")
    problems = one_source_problems(dataset)
    if problems:
        raise PortalError(problems[0], code="one_source")
    with transaction.atomic():
        result = records_upsert(actor=actor, dataset=dataset, rows=rows, reason=purpose or _("接口推送"),
                                all_or_nothing=all_or_nothing)
        audit.record(
            actor=actor, action="aggregation.records.pushed", obj=dataset, department=dataset.department,
            data={"rows": len(rows), "inserted": result.inserted, "updated": result.updated,
                  "unchanged": result.unchanged, "rejected": len({r.row for r in result.rejected}),
                  "purpose": purpose},
        )
    return result


def record_delete(*, actor, dataset: Dataset, key: str, reason: str) -> Record | reading.Row:
    """Mark a record deleted (soft: the row stays, a history row says who/when/why). Provider's data staff.

    Raises NotFound (no such key / outside scope), PermissionDenied, PortalError (no reason).
    Audits aggregation.record.deleted. Returns the deleted row: a Record on the old path, the table's row as
    storage.reading reads it (id, deleted_at, version …) when the writers write the tables only.
    """
    require_loader(actor, dataset)
    if not (reason or "").strip():
        raise PortalError(_("删除数据须说明原因"), code="invalid")
    if not _records_written():
        return _delete_from_table(actor=actor, dataset=dataset, key=key, reason=reason.strip())
    with transaction.atomic():
        record = record_get(dataset=dataset, key=key)
        if record is None or record.deleted_at is not None:
            raise NotFound()
        record = Record.objects.select_for_update().get(pk=record.id)
        now = timezone.now()
        RecordHistory.objects.create(record=record, dataset=dataset, op="delete", before=record.data, after=None,
                                     actor=actor, reason=reason.strip())
        record.deleted_at = now
        record.version += 1
        record.updated_at = now
        record.save(update_fields=["deleted_at", "version", "updated_at"])
        moving.mirror(dataset.pk, ids=[record.pk])
        dataset_recount(dataset, dataset.last_loaded_at or now)
        audit.record(actor=actor, action="aggregation.record.deleted", obj=record, department=dataset.department,
                     data={"dataset": dataset.pk, "reason": reason.strip()})
    return record


def _delete_from_table(*, actor, dataset: Dataset, key: str, reason: str) -> reading.Row:
    with transaction.atomic():
        row = record_get(dataset=dataset, key=key)
        if row is None or row.deleted_at is not None:
            raise NotFound()
        now = timezone.now()
        target = Layout.stored(dataset).target(dataset.key_item_name)
        history_id = writing.delete_row(target, row.id, actor_id=getattr(actor, "pk", None), reason=reason, now=now)
        if history_id is None:  # deleted meanwhile (the lock waited for that writer)
            raise NotFound()
        dataset_recount(dataset, dataset.last_loaded_at or now)
        audit.record(actor=actor, action="aggregation.record.deleted", object_type="aggregation.record",
                     object_id=row.id, object_repr=f"{dataset.pk}#{row.id}", department=dataset.department,
                     data={"dataset": dataset.pk, "reason": reason})
        return reading.get(dataset, row.id, include_deleted=True)


# --------------------------------------------------------------------------------------------------
# Reads of pooled values: each writes its read event (R29.1) in the same transaction; the pages and the API call them


@dataclass
class RecordRead:
    """One record as its reader may see it (record_read)."""

    dataset: Dataset
    record: reading.Row
    values: dict[str, Any]  # item → value as shown, in the catalog's order (the subject key too when the whole record)
    key: str | None  # the subject key as shown; None when only some items were read
    full: bool  # personal items in full (the provider's own staff), else masked
    flags: dict  # the R14.4 verification fields (selectors.verification.verification_flags)


def record_read(*, actor, dataset: Dataset, record: reading.Row, items: list[str] | None = None,
                context: dict[str, Any] | None = None) -> RecordRead:
    """Read one record as `actor` may see it (decrypted, masked unless `access.full_values_allowed`) and write its
    `aggregation.record.viewed` event in the same transaction.

    The caller has checked that `actor` may open the record (selectors.pools.datasets_visible: 404 outside it).
    `items`: only these items, without the key (e.g. a verification case's disputed values); default: the whole
    record. `context`: added to the event's data (e.g. {"api": True}).
    """
    full = access.full_values_allowed(actor, dataset)
    typed = list(dataset.entry.items.order_by("position").values_list("name", "data_type"))
    if items is not None:
        types = dict(typed)
        typed = [(name, types.get(name, "C")) for name in items]
    layout = Layout.stored(dataset)
    key_item = dataset.key_item_name
    kinds = {} if full else {n: k for n, k in access.mask_kinds(dataset, typed).items()
                             if k is not None and not (items is None and n == key_item)}
    names = [n for n, _t in typed]
    with transaction.atomic():
        shown = reading.rendered(layout, [record], [n for n in names if n in layout.columns], kinds=kinds)[0]
        values = {n: shown.get(n) for n in names}
        key = None
        if items is None:
            key = values[key_item] = access.key_display(dataset, shown.get(key_item), full=full)
        flags = verification_flags(record)
        audit.record(
            actor=actor, action="aggregation.record.viewed", object_type="aggregation.record", object_id=record.id,
            object_repr=dataset.entry.name,
            data={"dataset": dataset.pk, "key": access.hash_hex(record.key_hash), "masked": not full,
                  **(context or {})},
        )
    return RecordRead(dataset=dataset, record=record, values=values, key=key, full=full, flags=flags)


@dataclass
class DatasetPage:
    """One keyset page of a dataset's rows as its reader sees them (dataset_rows_page)."""

    items: list[str]
    rows: list[dict]  # {"record", "cells": values in the order of `items`}
    next_after: int | None


def dataset_rows_page(*, actor, dataset: Dataset, after_id: int | None = None, limit: int = 50) -> DatasetPage:
    """A page of a dataset's live rows, personal items masked (always: the page is a masked view), and its
    `aggregation.dataset.viewed` event in the same transaction."""
    with transaction.atomic():
        records = record_page(dataset=dataset, after_id=after_id, limit=limit + 1)
        has_next = len(records) > limit
        records = records[:limit]
        items = list(dataset.entry.items.order_by("position").values_list("name", "data_type"))
        kinds = access.mask_kinds(dataset, items)
        columns = dataset.columns or {}
        secret_items = {n for n, _t in items if n in columns and not columns[n].get("col")}
        secrets = reading.decrypted(records, crypto.cipher()) if secret_items else [{}] * len(records)
        rows = []
        for record, secret in zip(records, secrets, strict=True):
            cells = []
            for name, _t in items:
                if name not in secret_items:
                    value = record.values.get(name, "")
                elif secret is None:
                    value = _("（无法解密）")
                else:
                    value = secret.get(name, "")
                kind = kinds.get(name)
                cells.append(mask(value, kind) if kind else value)
            rows.append({"record": record, "cells": cells})
        audit.record(actor=actor, action="aggregation.dataset.viewed", obj=dataset, department=dataset.department,
                     data={"after": after_id, "rows": len(rows), "masked": True})
    return DatasetPage(items=[n for n, _t in items], rows=rows,
                       next_after=records[-1].id if has_next and records else None)


def dataset_integrity_check(*, actor, dataset: Dataset, limit: int | None = None) -> IntegrityReport:
    """selectors.pools.record_integrity (R35.5) with its `aggregation.dataset.integrity_checked` event (actor None:
    the nightly sweep, labelled system — supervision files what such a check finds as a 35.5 violation). A table
    that cannot be checked (dropped or unreadable beneath the application) is a finding too: the report's `error`,
    a failed event naming it."""
    with transaction.atomic():
        try:
            with transaction.atomic():  # (a savepoint: the table's failure leaves this transaction usable)
                report = record_integrity(dataset=dataset, limit=limit)
        except DatabaseError as exc:
            report = IntegrityReport(0, [], [], [], [], error=str(exc).strip()[:300])
        data = {"checked": report.checked, "ok": report.ok, "digest_mismatch": report.digest_mismatch[:100],
                "history_mismatch": report.history_mismatch[:100], "missing": report.missing_records[:100],
                "undecryptable": report.undecryptable[:100],
                "load_shortfalls": [list(s) for s in report.load_shortfalls[:100]]}
        if report.error:
            data["error"] = report.error
        audit.record(actor=actor, actor_label=None if actor else "system",
                     action="aggregation.dataset.integrity_checked", obj=dataset, department=dataset.department,
                     result=AuditResult.FAILURE if report.error else AuditResult.SUCCESS, data=data)
    return report


def datasets_integrity_sweep() -> tuple[int, int]:
    """Nightly: every dataset that has a resource table checked whole (record_integrity over every row, no sample),
    each in its own transaction with its audit event; (datasets checked, datasets with findings).
    supervision.services.violations.detect_data_tampering files the findings in the violations register (R35.1)."""
    checked = failed = 0
    for dataset in Dataset.objects.exclude(columns={}).select_related("entry", "department").order_by("pk").iterator():
        checked += 1
        failed += not dataset_integrity_check(actor=None, dataset=dataset).ok
    return checked, failed
