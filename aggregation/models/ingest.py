"""导入任务: one uploaded file (or API push) through the ingestion pipeline (aggregation.ingest)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.models import Job
from portal.querysets import RestrictedQuerySet

from ..choices import JobFormat, JobMode, JobStatus
from .pools import Dataset


class IngestJobQuerySet(RestrictedQuerySet):
    """A job goes with its dataset: whoever may view (load) the dataset may view (load) its jobs."""

    def restrict_view(self, user):
        return self.filter(dataset__in=Dataset.objects.restrict(user, "view"))

    def restrict_load(self, user):
        return self.filter(dataset__in=Dataset.objects.restrict(user, "load"))


class IngestJob(Job):
    """导入任务: one uploaded file (or API push) through the pipeline; the page polls its progress.

    The lifecycle (progress, log, heartbeat, start / end, error) is the kernel's `Job`; its own `status` adds
    "rejected" (the file or its rows refused: nothing loaded).
    """

    dataset = models.ForeignKey(Dataset, verbose_name=_("数据集"), on_delete=models.PROTECT, related_name="jobs")
    file = models.FileField(_("文件"), upload_to="aggregation/uploads/%Y/%m/", blank=True)
    original_name = models.CharField(_("文件名"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("文件大小"), default=0)
    # SHA-256 of the stored file, taken when the job is created: with each row's loading job it proves what a load
    # inserted (R35.5) without an insert history row, and lets a reload of the very same file be recognised.
    file_sha256 = models.CharField(_("文件摘要（SHA-256）"), max_length=64, blank=True, default="")
    format = models.CharField(_("格式"), max_length=10, choices=JobFormat.choices)
    encoding = models.CharField(_("编码"), max_length=40, blank=True)
    header = models.JSONField(_("表头"), default=list, blank=True)
    mapping = models.JSONField(_("列映射"), default=dict, blank=True, help_text=_("文件列名 → 信息项名称"))
    near_matches = models.JSONField(
        _("待确认的相近列"), default=dict, blank=True,
        help_text=_("表头与信息项名称相近、须由上传人确认或忽略的列：文件列名 → 建议的信息项（ingest.mapping）"))
    empty_items = models.JSONField(
        _("以空值替换的数据项"), default=list, blank=True,
        help_text=_("文件未包含、上传人明确选择以空值替换的信息项；其余未包含的信息项保留原值"))
    kept_items = models.JSONField(
        _("保留原值的数据项"), default=list, blank=True, help_text=_("运行时文件未包含、保留了原值的信息项"))
    mode = models.CharField(_("导入方式"), max_length=20, choices=JobMode.choices, default=JobMode.ALL_OR_NOTHING)
    status = models.CharField(_("状态"), max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    total_rows = models.PositiveBigIntegerField(_("总行数"), default=0)
    accepted_rows = models.PositiveBigIntegerField(_("有效行"), default=0)
    rejected_rows = models.PositiveBigIntegerField(_("问题行"), default=0)
    duplicate_rows = models.PositiveBigIntegerField(_("重复行"), default=0)
    inserted_rows = models.PositiveBigIntegerField(_("新增"), default=0)
    updated_rows = models.PositiveBigIntegerField(_("更新"), default=0)
    unchanged_rows = models.PositiveBigIntegerField(_("未变化"), default=0)
    # The moment the load wrote its rows: every row it inserted carries it as created_at (an update never changes
    # it), so the integrity check counts what each load inserted against the table — a row a load inserted and
    # nothing changed since has no history row, and its deletion around the application shows only as that count.
    written_at = models.DateTimeField(
        _("写入时间"), null=True, blank=True,
        help_text=_("本任务写入资源表的时刻：它新增的行的创建时间均为此值（完整性核查据此清点）"))
    report = models.FileField(_("问题行报告"), upload_to="aggregation/reports/%Y/%m/", blank=True)
    attempts = models.PositiveSmallIntegerField(_("运行次数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    objects = IngestJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="aggregation_job_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    def get_absolute_url(self) -> str:
        return reverse("aggregation:job-detail", args=[self.pk])

    @property
    def awaiting_mapping(self) -> bool:
        """待确认映射: the job waits for the clerk to map its columns (the key was not found, or a header is close
        to an item's name: `near_matches`)."""
        return self.status == JobStatus.PENDING and not self.mapping and self.format != JobFormat.API

    @property
    def near_match_pairs(self) -> list[tuple[str, str]]:
        """(column, proposed item) of `near_matches`, in the file's column order."""
        return [(c, self.near_matches[c]) for c in self.header if c in (self.near_matches or {})]

    @property
    def state_display(self) -> str:
        return str(_("待确认映射")) if self.awaiting_mapping else self.get_status_display()
