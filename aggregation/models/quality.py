"""Data quality (R15.1): one report per dataset and day, computed by the nightly job (aggregation.services.quality)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class QualityReport(models.Model):
    """Data quality figures of one dataset on one day (R15.1), computed by the nightly job."""

    dataset = models.ForeignKey(
        "aggregation.Dataset", verbose_name=_("数据资源"), on_delete=models.CASCADE, related_name="quality_reports"
    )
    department = models.ForeignKey(
        "portal.Department", verbose_name=_("提供部门"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("日期"))
    row_count = models.PositiveIntegerField(_("记录数"), default=0)
    completeness = models.JSONField(_("各信息项完整率"), default=dict, help_text=_("信息项 → 非空记录占比(0–1)"))
    completeness_avg = models.FloatField(_("平均完整率"), null=True, blank=True)
    valid_keys = models.PositiveIntegerField(_("有效主体标识数"), default=0)
    validity = models.FloatField(
        _("有效率"), null=True, blank=True, help_text=_("主体标识通过校验的占比；无校验规则时为空")
    )
    duplicate_keys = models.PositiveIntegerField(
        _("重复主体标识数"), default=0, help_text=_("资源池中同一主体的重复记录")
    )
    load_duplicates = models.PositiveIntegerField(
        _("最近导入重复行"), default=0, help_text=_("最近一次成功导入的文件中主体标识重复、被合并的行数")
    )
    last_loaded_at = models.DateTimeField(_("最近更新时间"), null=True, blank=True)
    cycle_days = models.PositiveSmallIntegerField(_("更新周期(天)"), null=True, blank=True)
    days_since_load = models.PositiveIntegerField(_("距最近更新(天)"), null=True, blank=True)
    timely = models.BooleanField(_("按周期更新"), null=True, blank=True, help_text=_("无固定周期时为空"))
    # Consistency (R15.1): the dataset's base items against the same items of other departments' datasets about the
    # same subjects (services.quality.consistency_all). Pairs are stored as record ids, never as values: a reader
    # sees them rendered as they may (services.quality.consistency_read).
    consistency = models.JSONField(
        _("一致性比对"), default=list, blank=True,
        help_text=_("[{item, other_dataset, compared, disagreeing}]：每个信息项与每个其他来源比对的主体数与不一致数"),
    )
    inconsistent_subjects = models.PositiveIntegerField(
        _("不一致主体数"), default=0, help_text=_("至少一个信息项与其他来源不一致的主体")
    )
    consistency_pairs = models.JSONField(
        _("不一致记录对"), default=list, blank=True,
        help_text=_("[{item, record, other_dataset, other_record}]，最多列出 CONSISTENCY_PAIR_CAP 对"),
    )
    consistency_pairs_total = models.PositiveIntegerField(_("不一致记录对总数"), default=0)
    computed_at = models.DateTimeField(_("计算时间"), auto_now=True)

    class Meta:
        verbose_name = _("数据质量报告")
        verbose_name_plural = _("数据质量报告")
        ordering = ["-day", "dataset"]
        constraints = [models.UniqueConstraint(fields=["dataset", "day"], name="aggregation_quality_one_per_day")]
        indexes = [models.Index(fields=["department", "-day"], name="agg_quality_dept_day_idx")]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.day}"


class StaleNotice(models.Model):
    """A stale dataset's notice to its provider (R24.1): one per dataset and due date, so the nightly job tells the
    department once per missed update, not every night (services.quality.stale_notify)."""

    dataset = models.ForeignKey(
        "aggregation.Dataset", verbose_name=_("数据资源"), on_delete=models.CASCADE, related_name="stale_notices"
    )
    due = models.DateField(_("应更新日期"))
    last_loaded_at = models.DateTimeField(_("最近更新时间"))
    recipients = models.PositiveIntegerField(_("通知人数"), default=0)
    notified_at = models.DateTimeField(_("通知时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("数据未按周期更新通知")
        verbose_name_plural = _("数据未按周期更新通知")
        ordering = ["-notified_at"]
        constraints = [models.UniqueConstraint(fields=["dataset", "due"], name="aggregation_stale_once_per_due")]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.due}"
