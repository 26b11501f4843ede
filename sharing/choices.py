"""Controlled vocabularies of the sharing chapter (labels are the Chinese source strings)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    """共享用途 (R19.3): what the consuming department will use the data for."""

    ADMINISTRATIVE = "administrative", _("行政依据")
    REFERENCE = "reference", _("工作参考")
    VERIFICATION = "verification", _("数据校核")
    COLLABORATION = "collaboration", _("业务协同")
    OTHER = "other", _("其他")


class RequestState(models.TextChoices):
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("已撤回")


class GrantState(models.TextChoices):
    """Stored state; a read still checks the validity dates itself (the expiry job may not have run yet)."""

    ACTIVE = "active", _("有效")
    EXPIRED = "expired", _("已过期")
    REVOKED = "revoked", _("已撤销")


class ClientState(models.TextChoices):
    ACTIVE = "active", _("启用")
    SUSPENDED = "suspended", _("已停用")


class PushRunStatus(models.TextChoices):
    RUNNING = "running", _("推送中")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败")


# Attachments of a sharing request (basis documents, letters): ≤ 10 MB, these types only.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_EXTENSIONS = ("pdf", "jpg", "jpeg", "png", "docx")
