"""Security incidents (安全事件, R31): reported, handled, closed — each step by a service, audited."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import IncidentSeverity, IncidentState


class IncidentQuerySet(RestrictedQuerySet):
    """The register is the city's: the security administrator keeps it, the bureau's reviewers read it (R31)."""

    def restrict_view(self, user):
        return self.all() if user.has_role(Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER) else self.none()

    def restrict_change(self, user):
        return self.all() if user.has_role(Role.SECURITY_ADMIN) else self.none()


class SecurityIncident(models.Model):
    title = models.CharField(_("事件名称"), max_length=200)
    severity = models.CharField(_("事件级别"), max_length=1, choices=IncidentSeverity.choices)
    occurred_at = models.DateTimeField(_("发生时间"))
    description = models.TextField(_("事件经过"))
    # By label: catalog sits beside security on the floor plan, so no import of catalog's models here.
    resources = models.ManyToManyField("catalog.CatalogEntry", blank=True, related_name="+",
                                       verbose_name=_("涉及资源"))
    departments = models.ManyToManyField("portal.Department", blank=True, related_name="+",
                                         verbose_name=_("涉及部门"))
    state = models.CharField(_("状态"), max_length=10, choices=IncidentState.choices, default=IncidentState.REPORTED)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("报告时间"), auto_now_add=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    handling_started_at = models.DateTimeField(_("开始处置时间"), null=True, blank=True)
    measures = models.TextField(_("处置措施"), blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    conclusion = models.TextField(_("处置结论"), blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("安全事件")
        verbose_name_plural = _("安全事件")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("security:incident-detail", args=[self.pk])
