"""Sharing requests (共享申请, R19.3) with their comments and attachments."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.choices import exchange_method_labels

from ..choices import Purpose, RequestState
from ..querysets import SharingRequestQuerySet


class SharingRequest(models.Model):
    """共享申请 (R19.3): a consuming department asks for items of a conditional / not-shared entry."""

    consumer = models.ForeignKey(
        "portal.Department", verbose_name=_("申请部门"), on_delete=models.PROTECT, related_name="sharing_requests"
    )
    entry = models.ForeignKey(
        "catalog.CatalogEntry", verbose_name=_("目录条目"), on_delete=models.PROTECT, related_name="sharing_requests"
    )
    legal_basis = models.TextField(_("法律政策依据"))
    duty_basis = models.TextField(_("职责依据"))
    business_need = models.TextField(_("业务需求"))
    purpose = models.CharField(_("用途"), max_length=20, choices=Purpose.choices)
    purpose_detail = models.CharField(_("用途说明"), max_length=200, blank=True)
    items = ArrayField(models.CharField(max_length=100), verbose_name=_("申请信息项"))
    methods = ArrayField(models.CharField(max_length=20), verbose_name=_("共享方式"))
    valid_from = models.DateField(_("使用期限起"))
    valid_to = models.DateField(_("使用期限止"))
    state = models.CharField(_("状态"), max_length=20, choices=RequestState.choices, default=RequestState.SUBMITTED)
    submitted_on = models.DateField(_("提交日期"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_reason = models.TextField(_("审核意见"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = SharingRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("共享申请")
        verbose_name_plural = _("共享申请")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "submitted_on"], name="sharing_request_state_idx"),
            models.Index(fields=["consumer", "state"], name="sharing_request_consumer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(valid_from__lte=F("valid_to")), name="sharing_request_period"),
            models.CheckConstraint(
                condition=~Q(state=RequestState.REJECTED) | ~Q(decision_reason=""),
                name="sharing_request_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.consumer} → {self.entry.name}"

    def get_absolute_url(self) -> str:
        return reverse("sharing:request-detail", args=[self.pk])

    def get_methods_display(self) -> list[str]:
        return exchange_method_labels(self.methods)


class SharingComment(models.Model):
    """The provider department's (or a reviewer's) remark on a request, shown to the reviewer and the consumer."""

    request = models.ForeignKey(SharingRequest, verbose_name=_("共享申请"), on_delete=models.CASCADE,
                                related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("意见人"), on_delete=models.PROTECT,
                               related_name="+")
    department = models.ForeignKey("portal.Department", verbose_name=_("部门"), on_delete=models.PROTECT,
                                   related_name="+")
    body = models.TextField(_("意见"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("共享申请意见")
        verbose_name_plural = _("共享申请意见")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.department}"


def attachment_path(instance: SharingAttachment, filename: str) -> str:
    # The stored name is ours (never the uploader's): no path tricks, no clashes.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    from uuid import uuid4

    return f"sharing/requests/{instance.request_id}/{uuid4().hex}.{ext}"


class SharingAttachment(models.Model):
    """A document supporting a request (basis documents, official letters)."""

    request = models.ForeignKey(SharingRequest, verbose_name=_("共享申请"), on_delete=models.CASCADE,
                                related_name="attachments")
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申请附件")
        verbose_name_plural = _("申请附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name
