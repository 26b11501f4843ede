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


class AnomalyKind(models.TextChoices):
    """What the leak monitor flags (R28.4, security.services.leaks)."""

    VOLUME = "volume", _("调用量异常")
    ENUMERATION = "enumeration", _("遍历连续号码")
    OFF_HOURS = "off_hours", _("非工作时间批量读取")
    SHARED_SUBJECT = "shared_subject", _("同一主体被多方查询")


class AnomalyState(models.TextChoices):
    """open → confirmed (a violation: issue 16's register picks it up) / dismissed (with a reason)."""

    OPEN = "open", _("待处理")
    CONFIRMED = "confirmed", _("已确认")
    DISMISSED = "dismissed", _("已排除")
