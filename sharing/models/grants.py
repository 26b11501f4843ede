"""Grants (授权): what an approved request allows a consumer department to read, by which methods, until when."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.choices import exchange_method_labels

from ..choices import GrantState, Purpose
from ..querysets import GrantQuerySet


class Grant(models.Model):
    """授权: consumer department × entry × items × purpose × methods × validity period, from an approved request."""

    request = models.OneToOneField("sharing.SharingRequest", verbose_name=_("共享申请"), on_delete=models.PROTECT,
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
