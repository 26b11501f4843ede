"""Every TextChoices of the security chapter (the registers of R30–R32)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class IncidentSeverity(models.TextChoices):
    """GB/Z 20986 grades, lowest first (一般 IV … 特别重大 I)."""

    ORDINARY = "4", _("一般（Ⅳ级）")
    LARGER = "3", _("较大（Ⅲ级）")
    MAJOR = "2", _("重大（Ⅱ级）")
    EXTRAORDINARY = "1", _("特别重大（Ⅰ级）")


class IncidentState(models.TextChoices):
    REPORTED = "reported", _("已报告")
    HANDLING = "handling", _("处置中")
    CLOSED = "closed", _("已关闭")


class SecrecyState(models.TextChoices):
    PENDING = "pending", _("待审查")
    DECIDED = "decided", _("已审查")


class SecrecyDecision(models.TextChoices):
    SHAREABLE = "shareable", _("可以共享")
    NOT_SHAREABLE = "not_shareable", _("不宜共享")


class RiskCycle(models.TextChoices):
    """How often a department's risk assessment recurs; the value is the number of months."""

    YEARLY = "12", _("每年")
    HALF_YEARLY = "6", _("每半年")


class RiskAssessmentState(models.TextChoices):
    SCHEDULED = "scheduled", _("待评估")
    COMPLETED = "completed", _("已完成")


class RiskLevel(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")
