"""The resource pool (部门数据资源池): one Dataset per approved catalog entry, its Records, their append-only history.

Storage design (why): every resource's rows live in ONE table, `aggregation_record`: values in JSONB keyed
by data-item name, the subject key as a blind index (`key_hash`, HMAC-SHA256) under the unique B-tree
`(dataset_id, key_hash)` that upserts (ON CONFLICT) and lookups use; `row_hash` is a keyed digest of the
plain row, so "unchanged" is one 32-byte comparison although the stored ciphertext differs on every load.

- A table per resource would give typed columns, but the catalog's items change through update cases (R10):
  every change would be DDL on a live table with millions of rows, every resource a table outside Django's
  migrations, and the sharing API, base databases and quality job would need dynamic SQL per resource.
  JSONB keeps the schema where it is defined — the catalog — and the pipeline validates every value against
  its item before it is stored; most personal values are ciphertext anyway, so typed columns buy little.
- Not partitioned: PostgreSQL cannot enforce a unique id across partitions, and verification cases and
  their corrections (R14) hold foreign keys to a record and to a history row. Every query carries
  `dataset_id` as the leading index column, so a single B-tree stays O(log n) at hundreds of millions of
  rows; the tables get per-table autovacuum thresholds instead (migration 0001). Should one resource ever
  dwarf the rest, list-partitioning by dataset with composite keys is the next step.
- `aggregation_recordhistory` is append-only: a trigger refuses UPDATE and DELETE (key rotation is the one
  exception, under a transaction-local switch), and a trigger refuses DELETE on records (a deletion is
  `deleted_at` plus a history row). A change made around the application (SQL by hand) cannot produce a
  matching keyed `row_hash` nor a history row; `record_integrity` shows such rows (R35.5) — in the
  resource tables `pool.r<id>` now (issue 18: selectors.pools, storage.reading).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Now
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.resource_perms import LOAD_DATA, resource_q
from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import HistoryOp, KeyKind


class DatasetQuerySet(RestrictedQuerySet):
    """view: role scope over the provider department; load: the provider's data staff holding the resource's
    load_data permission (catalog.resource_perms)."""

    def restrict_load(self, user):
        return self.of_own_department(user, roles=(Role.DEPT_STAFF,)).filter(resource_q(user, LOAD_DATA, "entry"))


class Dataset(models.Model):
    """部门数据资源池中的一个资源: the stored data of one approved catalog entry."""

    entry = models.OneToOneField(
        "catalog.CatalogEntry", verbose_name=_("目录条目"), on_delete=models.PROTECT, related_name="dataset"
    )
    department = models.ForeignKey(
        "portal.Department", verbose_name=_("提供部门"), on_delete=models.PROTECT, related_name="datasets"
    )
    key_item_name = models.CharField(_("主体标识信息项"), max_length=100)
    key_kind = models.CharField(_("主体标识类型"), max_length=20, choices=KeyKind.choices)
    encrypted_items = models.JSONField(_("加密存储的信息项"), default=list, blank=True)
    # {item: masking kind} that the records' stored masked forms (Record.masked) follow;
    # services.pools.masked_forms_sync recomputes the forms when the catalog changes an item's kind.
    mask_kinds = models.JSONField(_("脱敏形式的类型"), default=dict, blank=True)
    # The resource table's layout (issue 18, aggregation.storage.layout): {item name: {"col": "c3" or null (encrypted:
    # only inside the row's token), "mask": "m3" or null, "mask_kind", "type" (SQL), "encrypted", "retired"}}. Column
    # numbers are stable per item — item names are Chinese, renamed, and never reach SQL.
    columns = models.JSONField(_("资源表的列"), default=dict, blank=True)
    row_count = models.PositiveBigIntegerField(_("记录数"), default=0)
    last_loaded_at = models.DateTimeField(_("最近归集时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        verbose_name = _("资源池数据集")
        verbose_name_plural = _("资源池数据集")
        ordering = ["department", "entry"]

    def __str__(self) -> str:
        return self.entry.name

    def get_absolute_url(self) -> str:
        return reverse("aggregation:dataset-detail", args=[self.pk])


class Record(models.Model):
    """One subject's row of a dataset (values by item name; personal items as encrypted tokens)."""

    # No database FK constraints on the two bulk tables (here and in RecordHistory): Django's FKs are
    # DEFERRABLE INITIALLY DEFERRED, so a million-row load queued millions of RI checks at COMMIT (≈20 s per
    # million in the benchmark). The pipeline writes only the id of the dataset it holds locked, and datasets,
    # users, jobs and records are never deleted (PROTECT / the no-delete trigger).
    dataset = models.ForeignKey(
        Dataset, verbose_name=_("数据集"), on_delete=models.PROTECT, related_name="records", db_index=False,
        db_constraint=False,
    )
    key_hash = models.BinaryField(_("主体标识盲索引"), max_length=32)
    key_enc = models.TextField(_("主体标识（密文）"))
    data = models.JSONField(_("数据"))
    # The masked form of each personal value by masking kind, {kind: {item: masked}} (security.masking): what a
    # reader without a full grant is shown, so that a masked export reads it instead of decrypting. Written with
    # `data` by the pipeline (ingest.processing.RowProcessor); a value whose kind has changed since (catalog update)
    # or that has no stored form is decrypted and masked when read.
    masked = models.JSONField(_("脱敏形式"), default=dict, db_default=Value({}, output_field=models.JSONField()),
                              blank=True)
    row_hash = models.BinaryField(_("行摘要"), max_length=32)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), db_default=Now())
    updated_at = models.DateTimeField(_("更新时间"), db_default=Now())
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据记录")
        verbose_name_plural = _("数据记录")
        constraints = [
            models.UniqueConstraint(fields=["dataset", "key_hash"], name="aggregation_record_key_unique"),
        ]
        # (dataset_id, updated_at) is served by migration 0004's (dataset_id, updated_at, id) — its prefix — so it
        # is not kept twice (every index costs each inserted row; see 0005).

    def __str__(self) -> str:
        return f"{self.dataset_id}#{self.pk}"


class RecordHistory(models.Model):
    """Append-only change log of records: who/when/why, the row before and after (as stored, encrypted)."""

    # record_id is indexed once, by aggregation_history_rec_idx (the FK's own index was a duplicate of it).
    record = models.ForeignKey(
        Record, verbose_name=_("记录"), on_delete=models.DO_NOTHING, db_constraint=False, related_name="history",
        db_index=False,
    )
    dataset = models.ForeignKey(
        Dataset, verbose_name=_("数据集"), on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )
    op = models.CharField(_("操作"), max_length=10, choices=HistoryOp.choices)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_constraint=False,
    )
    job = models.ForeignKey(
        "IngestJob", verbose_name=_("导入任务"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False,
    )
    reason = models.TextField(_("原因"), blank=True, default="")
    changed_at = models.DateTimeField(_("时间"), db_default=Now())

    class Meta:
        verbose_name = _("记录变更历史")
        verbose_name_plural = _("记录变更历史")
        ordering = ["record", "id"]
        # Reads go by record (record page, integrity check, key rotation); nothing reads history by (dataset,
        # changed_at), so that index is gone (0005) — the integrity check's per-dataset scan is a rare, audited job.
        # (record, id): "the last history row of a record" (the integrity check's LATERAL … ORDER BY id DESC LIMIT 1)
        # is one index probe. On `record` alone, a planner without statistics (a freshly loaded dataset) walked the
        # primary key backwards per record instead — minutes on the demo data.
        indexes = [
            models.Index(fields=["record", "id"], name="aggregation_history_rec_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.op}"
