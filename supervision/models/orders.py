"""Rectification orders (责令限期改正, R36) with their reports and attachments, the notices of criticism (通报批评)
an overdue order produces, and the referral record of a serious case (移送有权机关处分).

The order's deadline is a kernel clock (Clock.RECTIFICATION on the order, portal.services.deadlines).
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import ADMIN_ROLES, Role
from portal.querysets import RestrictedQuerySet

from ..choices import NoticeState, OrderState

BUREAU = (Role.ASSESSOR, Role.BUREAU_REVIEWER)


class RectificationOrderQuerySet(RestrictedQuerySet):
    """view: the role scope over the department; issue / accept / return / refer: the assessor; report: the ordered
    department's data staff and head."""

    def restrict_decide(self, user):
        return self.for_roles(user, Role.ASSESSOR)

    def restrict_report(self, user):
        return self.of_own_department(user)


class RectificationOrder(models.Model):
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("整改部门"))
    requirements = models.TextField(_("整改要求"))
    due_on = models.DateField(_("整改期限"))
    state = models.CharField(_("状态"), max_length=10, choices=OrderState.choices, default=OrderState.ISSUED)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("签发人"))
    issued_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("验收人"))
    decided_at = models.DateTimeField(_("验收时间"), null=True, blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)

    objects = RectificationOrderQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("整改通知")
        verbose_name_plural = _("整改通知")

    def __str__(self) -> str:
        return _("整改通知 %(no)s：%(dept)s") % {"no": self.number, "dept": self.department}

    def get_absolute_url(self) -> str:
        return reverse("supervision:order-detail", args=[self.pk])

    @property
    def number(self) -> str:
        return f"ZG{self.issued_at:%Y}-{self.pk:04d}" if self.issued_at else f"ZG-{self.pk}"


def report_path(instance, filename: str) -> str:
    # The stored name is ours (uuid), never the uploader's.
    return f"rectification-reports/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()[:10]}"


class RectificationReport(models.Model):
    order = models.ForeignKey(RectificationOrder, on_delete=models.PROTECT, related_name="reports")
    body = models.TextField(_("整改情况"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("报告人"))
    submitted_at = models.DateTimeField(_("报告时间"), auto_now_add=True)
    late = models.BooleanField(_("逾期报告"), default=False)

    class Meta:
        ordering = ["submitted_at", "id"]
        verbose_name = _("整改报告")
        verbose_name_plural = _("整改报告")

    def __str__(self) -> str:
        return f"{self.order} · {self.submitted_at:%Y-%m-%d}"


class ReportAttachment(models.Model):
    report = models.ForeignKey(RectificationReport, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=report_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class Referral(models.Model):
    """A serious case marked for referral to the authority that may discipline the persons responsible (R36)."""

    order = models.OneToOneField(RectificationOrder, on_delete=models.PROTECT, related_name="referral")
    authority = models.CharField(_("移送机关"), max_length=200)
    basis = models.TextField(_("移送依据"))
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("经办人"))
    referred_at = models.DateTimeField(_("移送时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("移送处分记录")
        verbose_name_plural = _("移送处分记录")

    def __str__(self) -> str:
        return f"{self.order} → {self.authority}"


class CriticismNoticeQuerySet(RestrictedQuerySet):
    """view: the bureau (assessor, reviewer) every notice; every other signed-in business role the published ones;
    edit / publish: the bureau."""

    def restrict_view(self, user):
        if user.has_role(*BUREAU):
            return self.all()
        if user.role_set - set(ADMIN_ROLES):
            return self.filter(state=NoticeState.PUBLISHED)
        return self.none()

    def restrict_publish(self, user):
        return self.for_roles(user, *BUREAU)


class CriticismNotice(models.Model):
    """通报批评: drafted once per overdue order (the unique order), edited and published by the bureau."""

    order = models.OneToOneField(RectificationOrder, on_delete=models.PROTECT, related_name="notice",
                                 verbose_name=_("整改通知"))
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("被通报部门"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("通报内容"))
    state = models.CharField(_("状态"), max_length=10, choices=NoticeState.choices, default=NoticeState.DRAFT)
    created_at = models.DateTimeField(_("起草时间"), auto_now_add=True)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("发布人"))
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    objects = CriticismNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at", "-id"]
        verbose_name = _("通报批评")
        verbose_name_plural = _("通报批评")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("supervision:notice-detail", args=[self.pk])
