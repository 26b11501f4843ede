"""Leak monitoring (R28.4): the hourly measures of every caller and the anomalies the monitor files.

Filled by the hourly beat job `security.services.leaks.leak_monitor_run` from the audit trail (set-based SQL); an
anomaly is decided (confirmed / dismissed) by the security administrator. A confirmed anomaly is what the violations
register (SPEC 35.6) picks up: `state` is the one field it reads.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import AnomalyKind, AnomalyState


class LeakQuerySet(RestrictedQuerySet):
    """The monitor's rows are the security administrator's alone (三员分立: not the audit administrator's)."""

    def restrict_view(self, user):
        return self.all() if user.has_role(Role.SECURITY_ADMIN) else self.none()

    def restrict_change(self, user):
        return self.restrict_view(user)


class LeakMeasure(models.Model):
    """One caller's reads in one hour, and its baseline then (the mean of its active hours of the previous days)."""

    hour = models.DateTimeField(_("小时"))
    caller = models.CharField(_("调用方"), max_length=150)  # the audit trail's actor_label: username or client:<id>
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    calls = models.BigIntegerField(_("调用次数"))
    rows = models.BigIntegerField(_("读取行数"))
    subjects = models.BigIntegerField(_("查询主体数"))
    baseline_calls = models.FloatField(_("调用次数基线"))
    baseline_rows = models.FloatField(_("读取行数基线"))
    baseline_subjects = models.FloatField(_("查询主体数基线"))

    objects = LeakQuerySet.as_manager()

    class Meta:
        verbose_name = _("小时调用量")
        verbose_name_plural = _("小时调用量")
        # The baseline reads a caller's hours of the previous days from this index alone (INCLUDE: index-only scans
        # once vacuumed), not from rows scattered over the table's pages.
        constraints = [models.UniqueConstraint(fields=["caller", "hour"], include=["calls", "rows", "subjects"],
                                               name="security_leak_measure_once")]
        indexes = [models.Index(fields=["hour"], name="security_leak_measure_hour")]

    def __str__(self) -> str:
        return f"{self.caller} {self.hour:%Y-%m-%d %H:00}"


class LeakHour(models.Model):
    """An hour the monitor has processed (its ledger: a rerun of the hour files nothing new)."""

    hour = models.DateTimeField(_("小时"), unique=True)
    events = models.BigIntegerField(_("读取事件数"))
    anomalies = models.IntegerField(_("新发现异常"))
    processed_at = models.DateTimeField(_("处理时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("已监测小时")
        verbose_name_plural = _("已监测小时")

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00}"


class LeakAnomaly(models.Model):
    kind = models.CharField(_("类型"), max_length=20, choices=AnomalyKind.choices)
    # username or client:<client_id>; "" for a subject looked up by many callers (they are in `measures`)
    caller = models.CharField(_("调用方"), max_length=150, blank=True)
    department = models.ForeignKey("portal.Department", verbose_name=_("部门"), on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    window_start = models.DateTimeField(_("时段开始"))
    window_end = models.DateTimeField(_("时段结束"))
    # What makes the anomaly unique inside its kind, caller and hour: the enumeration's prefix hash and first ordinal,
    # the subject marker; "" otherwise.
    key = models.CharField(max_length=100, blank=True)
    measures = models.JSONField(_("观测值与基线"), default=dict)
    # [[audit event id, rows], …] — the calls that make the anomaly (at most EVIDENCE_MAX, the largest first)
    evidence = models.JSONField(_("证据"), default=list)
    evidence_count = models.IntegerField(_("相关调用数"), default=0)
    suspended = models.BooleanField(_("已自动停用"), default=False)
    state = models.CharField(_("状态"), max_length=10, choices=AnomalyState.choices, default=AnomalyState.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    reason = models.TextField(_("处理意见"), blank=True)
    created_at = models.DateTimeField(_("发现时间"), auto_now_add=True)

    objects = LeakQuerySet.as_manager()

    class Meta:
        ordering = ["-window_start", "-id"]
        verbose_name = _("泄露监测异常")
        verbose_name_plural = _("泄露监测异常")
        constraints = [models.UniqueConstraint(fields=["kind", "caller", "window_start", "key"],
                                               name="security_leak_anomaly_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.caller} {self.window_start:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("security:anomaly-detail", args=[self.pk])
