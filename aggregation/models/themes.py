"""主题库 (R13.2): a department's saved combination of pool and base data, its build jobs and its built rows."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.models import Job
from portal.querysets import RestrictedQuerySet

from ..choices import JoinMode, KeyKind, ThemeJobStatus, ThemeTrigger


class ThemeDatabaseQuerySet(RestrictedQuerySet):
    """view: the owner department's scope (bureau city-wide); change: the owner's data staff and head."""

    def restrict_change(self, user):
        return self.of_own_department(user)


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
    # Set when a source loads new data (the debounce window from the first load) or by the nightly schedule; the
    # minute sweep (services.themes.themes_rebuild_due) queues one build once it has passed and clears it.
    rebuild_due_at = models.DateTimeField(_("待重新生成时间"), null=True, blank=True)
    rebuild_reason = models.CharField(_("重新生成原因"), max_length=10, choices=ThemeTrigger.choices, blank=True)
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
        indexes = [models.Index(fields=["rebuild_due_at"], condition=Q(rebuild_due_at__isnull=False),
                                name="aggregation_theme_due_idx")]

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


class ThemeBuildJob(Job):
    """One (re)build of a theme database, run by a Celery worker; the page shows its status and progress.

    The lifecycle is the kernel's `Job` (its own `status` keeps the theme's labels).
    """

    theme = models.ForeignKey(ThemeDatabase, verbose_name=_("主题库"), on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(_("状态"), max_length=20, choices=ThemeJobStatus.choices, default=ThemeJobStatus.PENDING)
    row_count = models.PositiveIntegerField(_("主体数"), default=0)
    trigger = models.CharField(_("触发方式"), max_length=10, choices=ThemeTrigger.choices, default=ThemeTrigger.MANUAL)
    # The loads the build read: per source dataset its latest succeeded ingest job at build time,
    # [{"job": id, "dataset": id, "finished_at": ISO time}] (the page links each job).
    source_loads = models.JSONField(_("来源导入任务"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

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
    """One subject of a built theme database, copied from the sources' resource tables (encrypted items stay
    encrypted: a source's row token is copied as it is).

    `data`: {"<dataset id>:<item name>": canonical text} of the selected clear items (empty ones absent), so equal
    item names of two sources never clash, and {"<dataset id>#token": that source's row token} when one of its
    selected items is encrypted (storage.reading.theme_token_key) — the token holds every encrypted item of the
    source's row: a reader keeps only the selected ones (services.themes.theme_rows_page). `key_enc`: the row token
    of the source that changed the subject last, `key_dataset` that source: the subject key is the value of that
    dataset's key item in the token.
    """

    theme = models.ForeignKey(ThemeDatabase, verbose_name=_("主题库"), on_delete=models.CASCADE, related_name="rows")
    key_hash = models.BinaryField(_("主体标识索引"))
    key_enc = models.TextField(_("主体标识所在来源行的密文"))
    key_dataset = models.BigIntegerField(_("主体标识所在来源"), null=True, blank=True)
    data = models.JSONField(_("数据"), default=dict)
    updated_at = models.DateTimeField(_("来源最近更新"), null=True, blank=True)

    class Meta:
        verbose_name = _("主题库数据")
        verbose_name_plural = _("主题库数据")
        ordering = ["theme", "id"]
        constraints = [models.UniqueConstraint(fields=["theme", "key_hash"], name="aggregation_themerow_unique_key")]

    def __str__(self) -> str:
        return f"{self.theme_id}:{self.pk}"
