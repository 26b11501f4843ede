"""Emergency plans (应急预案, R31): documents kept with their next review date; a plan past it is flagged overdue
(portal.services.workdays.is_overdue, the kernel's one rule)."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet
from portal.services.workdays import is_overdue


def plan_path(instance, filename: str) -> str:
    # The stored name is ours (uuid), never the uploader's: no path tricks in file names.
    return f"emergency-plans/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()[:10]}"


class EmergencyPlanQuerySet(RestrictedQuerySet):
    """The security administrator keeps the plans, the bureau's reviewers read them."""

    def restrict_view(self, user):
        return self.all() if user.has_role(Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER) else self.none()


class EmergencyPlan(models.Model):
    title = models.CharField(_("预案名称"), max_length=200)
    summary = models.TextField(_("适用范围"), blank=True)
    file = models.FileField(_("预案文件"), upload_to=plan_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    review_date = models.DateField(_("下次评审日期"))
    last_reviewed_on = models.DateField(_("上次评审日期"), null=True, blank=True)
    review_note = models.TextField(_("评审意见"), blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = EmergencyPlanQuerySet.as_manager()

    class Meta:
        ordering = ["review_date", "id"]
        verbose_name = _("应急预案")
        verbose_name_plural = _("应急预案")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("security:plan-detail", args=[self.pk])

    @property
    def review_overdue(self) -> bool:
        return is_overdue(self.review_date)
