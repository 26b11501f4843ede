"""API clients (接入系统, R28.1): the machine identities of consuming departments' systems."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import ClientState
from ..querysets import ApiClientQuerySet


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
    # R28 / 等保: the source networks a signed call may come from (normalised CIDR, security.networks), checked on
    # every call. A client registered after this rule names at least one; `any_network` marks the clients registered
    # before it (set by migration 0004), which keep working from anywhere until the security admin names theirs.
    allowed_networks = ArrayField(models.CharField(max_length=43), verbose_name=_("允许的来源网段"), default=list,
                                  blank=True)
    any_network = models.BooleanField(_("不限来源地址（升级前登记）"), default=False)
    # R28.4: the leak monitor may suspend this client when it finds an anomaly of a suspending kind (enumeration
    # always; volume and off-hours reads per the setting leak_suspend_on_volume). On by default: see
    # security.services.leaks.
    leak_auto_suspend = models.BooleanField(_("异常时自动停用"), default=True)

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
