"""Database push (数据库推送, R22.1): subscriptions into a consumer's own PostgreSQL database and their run receipts."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.models import Job

from ..choices import PushRunStatus
from ..querysets import PushSubscriptionQuerySet

# A plain lower-case PostgreSQL identifier (quoted anyway when used): no schema, no quotes, ≤ 63 bytes.
TABLE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PushSubscription(models.Model):
    """数据库推送订阅: a grant's rows pushed into a table of the consumer's 前置库 on a schedule.

    The watermark (watermark_at, watermark_id) is the (updated_at, id) of the last row the target acknowledged
    (committed); a run reads the rows after it, so a failed run resumes where the last batch ended.
    """

    grant = models.ForeignKey("sharing.Grant", verbose_name=_("授权"), on_delete=models.PROTECT,
                              related_name="push_subscriptions")
    consumer = models.ForeignKey("portal.Department", verbose_name=_("使用部门"), on_delete=models.PROTECT,
                                 related_name="push_subscriptions")
    target_dsn_enc = models.TextField(_("前置库连接串（加密）"), editable=False)
    target_label = models.CharField(_("前置库"), max_length=200, help_text=_("主机:端口/库名，不含用户名和口令"))
    target_table = models.CharField(_("目标表"), max_length=63,
                                    validators=[RegexValidator(TABLE_NAME_RE, _("表名只能包含小写字母、数字和下划线"))])
    interval_minutes = models.PositiveIntegerField(_("推送间隔（分钟）"), default=60)
    active = models.BooleanField(_("启用"), default=True)
    paused_reason = models.CharField(_("暂停原因"), max_length=300, blank=True)
    watermark_at = models.DateTimeField(_("水位时间"), null=True, blank=True)
    watermark_id = models.BigIntegerField(_("水位记录号"), default=0)
    next_run_at = models.DateTimeField(_("下次推送"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("最近推送"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = PushSubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据库推送订阅")
        verbose_name_plural = _("数据库推送订阅")
        ordering = ["-id"]
        indexes = [models.Index(fields=["active", "next_run_at"], name="sharing_push_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["grant", "target_label", "target_table"],
                                    name="sharing_push_target_unique"),
            models.CheckConstraint(condition=Q(interval_minutes__gte=1) & Q(interval_minutes__lte=10080),
                                   name="sharing_push_interval_range"),
            models.CheckConstraint(condition=Q(target_table__regex=TABLE_NAME_RE.pattern),
                                   name="sharing_push_table_identifier"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} → {self.target_label}/{self.target_table}"

    def get_absolute_url(self) -> str:
        return reverse("sharing:push-detail", args=[self.pk])


class PushRun(Job):
    """One run of a subscription and its delivery receipt (回执): rows, watermark before/after, duration, error.

    The lifecycle is the kernel's `Job`; a run is created running (its own `status` has no "pending", its own
    `started_at` is the creation time) and sends heartbeats while it delivers.
    """

    subscription = models.ForeignKey(PushSubscription, verbose_name=_("订阅"), on_delete=models.PROTECT,
                                     related_name="runs")
    trigger = models.CharField(_("触发方式"), max_length=10, default="schedule")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=PushRunStatus.choices, default=PushRunStatus.RUNNING)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    rows = models.PositiveBigIntegerField(_("推送行数"), default=0)
    deleted_rows = models.PositiveBigIntegerField(_("其中删除"), default=0)
    batches = models.PositiveIntegerField(_("批次"), default=0)
    watermark_from_at = models.DateTimeField(_("起始水位时间"), null=True, blank=True)
    watermark_from_id = models.BigIntegerField(_("起始水位记录号"), default=0)
    watermark_to_at = models.DateTimeField(_("结束水位时间"), null=True, blank=True)
    watermark_to_id = models.BigIntegerField(_("结束水位记录号"), default=0)
    duration_ms = models.PositiveBigIntegerField(_("耗时（毫秒）"), default=0)

    class Meta:
        verbose_name = _("推送回执")
        verbose_name_plural = _("推送回执")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["subscription", "-id"], name="sharing_pushrun_sub_idx"),
            # The reaper's look-up (portal.services.jobs): the few running runs among all receipts.
            models.Index(fields=["heartbeat_at"], condition=Q(status="running"), name="sharing_pushrun_running_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"
