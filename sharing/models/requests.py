"""Chapter 4 tables: sharing requests (with comments and attachments), grants, API clients (R19, R28.1)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.choices import exchange_method_labels

from .choices import ClientState, GrantState, Purpose, RequestState
from .querysets import ApiClientQuerySet, GrantQuerySet, SharingRequestQuerySet


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


class Grant(models.Model):
    """授权: consumer department × entry × items × purpose × methods × validity period, from an approved request."""

    request = models.OneToOneField(SharingRequest, verbose_name=_("共享申请"), on_delete=models.PROTECT,
                                   related_name="grant")
    consumer = models.ForeignKey("portal.Department", verbose_name=_("使用部门"), on_delete=models.PROTECT,
                                 related_name="sharing_grants")
    entry = models.ForeignKey("catalog.CatalogEntry", verbose_name=_("目录条目"), on_delete=models.PROTECT,
                              related_name="sharing_grants")
    items = ArrayField(models.CharField(max_length=100), verbose_name=_("授权信息项"))
    purpose = models.CharField(_("用途"), max_length=20, choices=Purpose.choices)
    methods = ArrayField(models.CharField(max_length=20), verbose_name=_("共享方式"))
    valid_from = models.DateField(_("有效期起"))
    valid_to = models.DateField(_("有效期止"))
    state = models.CharField(_("状态"), max_length=10, choices=GrantState.choices, default=GrantState.ACTIVE)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("批准人"), on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    expired_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("撤销人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    revoke_reason = models.TextField(_("撤销理由"), blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("授权")
        verbose_name_plural = _("授权")
        ordering = ["-id"]
        indexes = [
            # read_permission's lookup: this department's grants on this entry.
            models.Index(fields=["consumer", "entry", "state"], name="sharing_grant_lookup_idx"),
            models.Index(fields=["state", "valid_to"], name="sharing_grant_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(valid_from__lte=F("valid_to")), name="sharing_grant_period"),
            models.CheckConstraint(
                condition=~Q(state=GrantState.REVOKED) | Q(revoked_at__isnull=False),
                name="sharing_grant_revoked_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} · {self.entry.name}"

    def get_absolute_url(self) -> str:
        return reverse("sharing:grant-list") + f"#grant-{self.pk}"

    def get_methods_display(self) -> list[str]:
        return exchange_method_labels(self.methods)

    def is_valid_on(self, day) -> bool:
        return self.state == GrantState.ACTIVE and self.valid_from <= day <= self.valid_to


class ApiClient(models.Model):
    """接入系统 (R28.1): a consuming department's machine identity; signs every call with its secret.

    The secret is stored encrypted (security.crypto) and shown once, at registration and at rotation.
    """

    client_id = models.CharField(_("客户端编号"), max_length=40, unique=True)
    name = models.CharField(_("系统名称"), max_length=100)
    department = models.ForeignKey("portal.Department", verbose_name=_("所属部门"), on_delete=models.PROTECT,
                                   related_name="api_clients")
    secret_enc = models.TextField(_("密钥（加密）"), editable=False)
    state = models.CharField(_("状态"), max_length=10, choices=ClientState.choices, default=ClientState.ACTIVE)
    rate_per_minute = models.PositiveIntegerField(_("每分钟调用上限"), default=600)
    contact = models.CharField(_("联系人及电话"), max_length=100, blank=True)
    suspend_reason = models.CharField(_("停用原因"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    secret_rotated_at = models.DateTimeField(_("密钥更换时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近调用"), null=True, blank=True)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("接入系统")
        verbose_name_plural = _("接入系统")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rate_per_minute__gte=1), name="sharing_client_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_active(self) -> bool:
        return self.state == ClientState.ACTIVE
from .models_push import *  # noqa: E402, F403
