"""Tables of the uses part of chapter 3: verification cases (R14), data quality reports (R15), theme databases
(R13.2). Base databases need no table: their definitions are code (aggregation/basedb.py).

Imported at the bottom of aggregation/models.py (`from .models_uses import *`), so these are models of the
`aggregation` app and may point at Dataset and Record by their lazy names.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .choices import KeyKind

# Only the models: aggregation/models.py star-imports this module, and a choices class here must not shadow
# one of the storage part's (they have their own JobStatus).
__all__ = [
    "QualityReport",
    "ThemeBuildJob",
    "ThemeDatabase",
    "ThemeRow",
    "ThemeSource",
    "VerificationCase",
    "VerificationEvidence",
]


class VerificationState(models.TextChoices):
    OPEN = "open", _("核校中")
    CORRECTED = "corrected", _("已更正")
    CONFIRMED = "confirmed", _("经核无误")


class ExtensionState(models.TextChoices):
    NONE = "", _("未申请")
    REQUESTED = "requested", _("待负责人审批")
    APPROVED = "approved", _("已批准延期")
    REFUSED = "refused", _("未批准延期")
    LAPSED = "lapsed", _("案件办结，申请失效")


class VerificationCaseQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        """view: the requester's and the provider's scope (department / region / city).

        A consuming department sees the cases it filed, a provider those filed against it, a county bureau
        its region's, the bureau every case (it supervises the mechanism, R14.1).
        """
        from portal.permissions import department_scope_q

        from .access import signed_in

        if not signed_in(user):
            return self.none()
        if action == "view":
            return self.filter(department_scope_q(user, "provider") | department_scope_q(user, "requester"))
        raise ValueError(f"unknown action {action!r}")

    def open(self):
        return self.filter(state=VerificationState.OPEN)


class VerificationCase(models.Model):
    """数据校核 (R14): a consuming department disputes fields of one record; the provider answers in 10 WD."""

    # Records live in a partitioned table whose primary key includes dataset_id: no database-level foreign key
    # can point at them (records are never deleted, only marked, so the reference cannot dangle).
    record = models.ForeignKey(
        "aggregation.Record", verbose_name=_("记录"), on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="verification_cases",
    )
    dataset = models.ForeignKey(
        "aggregation.Dataset", verbose_name=_("数据资源"), on_delete=models.PROTECT, related_name="verification_cases"
    )
    provider = models.ForeignKey(
        "portal.Department", verbose_name=_("提供部门"), on_delete=models.PROTECT, related_name="verification_received"
    )
    requester = models.ForeignKey(
        "portal.Department", verbose_name=_("使用部门"), on_delete=models.PROTECT, related_name="verification_filed"
    )
    key_hash = models.BinaryField(_("主体标识索引"), editable=False)
    fields = ArrayField(models.CharField(max_length=100), verbose_name=_("有疑义的信息项"))
    description = models.TextField(_("疑义或错误说明"))
    state = models.CharField(
        _("状态"), max_length=20, choices=VerificationState.choices, default=VerificationState.OPEN
    )
    received_on = models.DateField(_("提供部门收到日期"), help_text=_("校核时限自此起算（R14.2）"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    # R14.3: one extension, of at most 10 working days, approved by the provider's head.
    extension_state = models.CharField(
        _("延期"), max_length=20, choices=ExtensionState.choices, default=ExtensionState.NONE, blank=True
    )
    extension_days = models.PositiveSmallIntegerField(_("申请延长(工作日)"), null=True, blank=True)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    extension_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("延期申请人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    extension_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审批负责人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    extension_decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    extension_comment = models.TextField(_("审批意见"), blank=True)
    answer = models.TextField(_("校核结论说明"), blank=True)
    corrected_items = ArrayField(
        models.CharField(max_length=100), verbose_name=_("已更正的信息项"), default=list, blank=True
    )
    correction = models.ForeignKey(
        "aggregation.RecordHistory", verbose_name=_("更正记录"), null=True, blank=True,
        on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    answered_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    objects = VerificationCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据校核")
        verbose_name_plural = _("数据校核")
        ordering = ["-id"]
        constraints = [
            # One open case per record: the "核校中" flag and open_case_for() have one answer; a second
            # department adds its point to the running case instead of opening a parallel clock.
            models.UniqueConstraint(
                fields=["record"], condition=Q(state="open"), name="aggregation_verification_one_open"
            ),
            models.CheckConstraint(
                condition=~Q(requester=models.F("provider")), name="aggregation_verification_not_own"
            ),
            models.CheckConstraint(
                condition=Q(extension_days__isnull=True) | Q(extension_days__gte=1, extension_days__lte=10),
                name="aggregation_verification_extension_max10",
            ),
            models.CheckConstraint(
                condition=Q(state="open") | Q(answered_at__isnull=False), name="aggregation_verification_answered"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "state"], name="agg_verif_provider_idx"),
            models.Index(fields=["requester", "state"], name="agg_verif_requester_idx"),
            models.Index(fields=["dataset", "state"], name="agg_verif_dataset_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_state_display()}"

    def get_absolute_url(self) -> str:
        return reverse("aggregation:verification-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state == VerificationState.OPEN


def evidence_path(instance, filename: str) -> str:
    # The stored name is ours (uuid), never the uploader's: no path tricks, no personal data in file names.
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"verification/{instance.case_id}/{uuid.uuid4().hex}{suffix}"


class VerificationEvidence(models.Model):
    """An evidence file of a verification case (R14.1): pdf / jpg / png / docx / xlsx, at most 10 MB."""

    case = models.ForeignKey(
        VerificationCase, verbose_name=_("数据校核"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("文件"), upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    content_type = models.CharField(_("类型"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.original_name


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
    computed_at = models.DateTimeField(_("计算时间"), auto_now=True)

    class Meta:
        verbose_name = _("数据质量报告")
        verbose_name_plural = _("数据质量报告")
        ordering = ["-day", "dataset"]
        constraints = [models.UniqueConstraint(fields=["dataset", "day"], name="aggregation_quality_one_per_day")]
        indexes = [models.Index(fields=["department", "-day"], name="agg_quality_dept_day_idx")]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.day}"


class JoinMode(models.TextChoices):
    ANY = "any", _("出现在任一来源的主体（全连接）")
    ALL = "all", _("出现在全部来源的主体（内连接）")


class ThemeDatabaseQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        """view: the owner department's scope (bureau city-wide); change: the owner's data staff and head."""
        from portal.permissions import department_scope_q

        from .access import is_department_member, signed_in

        if not signed_in(user):
            return self.none()
        if action == "view":
            return self.filter(department_scope_q(user, "department"))
        if action == "change":
            return self.filter(department_id=user.department_id) if is_department_member(user) else self.none()
        raise ValueError(f"unknown action {action!r}")


class ThemeDatabase(models.Model):
    """主题库 (R13.2): a department's saved combination of base and pool data, joined on the subject key."""

    name = models.CharField(_("名称"), max_length=100)
    department = models.ForeignKey(
        "portal.Department", verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="theme_databases"
    )
    description = models.TextField(_("说明"), blank=True)
    key_kind = models.CharField(_("主体标识类型"), max_length=20, choices=KeyKind.choices)
    join_mode = models.CharField(_("关联方式"), max_length=10, choices=JoinMode.choices, default=JoinMode.ANY)
    row_count = models.PositiveIntegerField(_("主体数"), default=0)
    built_at = models.DateTimeField(_("最近生成时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ThemeDatabaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("主题库")
        verbose_name_plural = _("主题库")
        ordering = ["department", "name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="aggregation_theme_unique_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("aggregation:theme-detail", args=[self.pk])


class ThemeSource(models.Model):
    """One dataset of a theme database and the items taken from it."""

    theme = models.ForeignKey(ThemeDatabase, verbose_name=_("主题库"), on_delete=models.CASCADE, related_name="sources")
    dataset = models.ForeignKey(
        "aggregation.Dataset", verbose_name=_("数据资源"), on_delete=models.PROTECT, related_name="theme_sources"
    )
    item_names = ArrayField(models.CharField(max_length=100), verbose_name=_("选用信息项"))
    position = models.PositiveSmallIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("主题库来源")
        verbose_name_plural = _("主题库来源")
        ordering = ["theme", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["theme", "dataset"], name="aggregation_theme_source_unique")]

    def __str__(self) -> str:
        return f"{self.theme_id}:{self.dataset_id}"


class ThemeJobStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class ThemeBuildJob(models.Model):
    """One (re)build of a theme database, run by a Celery worker; the page shows its status and progress."""

    theme = models.ForeignKey(ThemeDatabase, verbose_name=_("主题库"), on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(_("状态"), max_length=20, choices=ThemeJobStatus.choices, default=ThemeJobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    row_count = models.PositiveIntegerField(_("主体数"), default=0)
    log = models.TextField(_("日志"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("主题库生成任务")
        verbose_name_plural = _("主题库生成任务")
        ordering = ["-id"]
        constraints = [
            # One build queued or running per theme: a second click joins the running one.
            models.UniqueConstraint(
                fields=["theme"], condition=Q(status__in=["pending", "running"]), name="aggregation_theme_one_job"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="aggregation_theme_job_progress"),
        ]

    def __str__(self) -> str:
        return f"{self.theme_id} #{self.pk} {self.status}"


class ThemeRow(models.Model):
    """One subject of a built theme database: values as stored in the pool (encrypted items stay encrypted).

    `data` maps "<dataset id>:<item name>" to the stored value, so equal item names of two sources never clash.
    """

    theme = models.ForeignKey(ThemeDatabase, verbose_name=_("主题库"), on_delete=models.CASCADE, related_name="rows")
    key_hash = models.BinaryField(_("主体标识索引"))
    key_enc = models.TextField(_("主体标识(密文)"))
    data = models.JSONField(_("数据"), default=dict)
    updated_at = models.DateTimeField(_("来源最近更新"), null=True, blank=True)

    class Meta:
        verbose_name = _("主题库数据")
        verbose_name_plural = _("主题库数据")
        ordering = ["theme", "id"]
        constraints = [models.UniqueConstraint(fields=["theme", "key_hash"], name="aggregation_themerow_unique_key")]

    def __str__(self) -> str:
        return f"{self.theme_id}:{self.pk}"
