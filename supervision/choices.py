"""Controlled vocabularies of the supervision chapter (TextChoices; labels are the Chinese source strings)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# ---------------------------------------------------------------- assessments (R33)


class AssessmentState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    COMPUTING = "computing", _("计算中")
    COMPUTED = "computed", _("已计算")
    OBJECTION = "objection", _("异议期")
    PUBLISHED = "published", _("已发布")


class IndicatorBlock(models.TextChoices):
    COLLECTION = "collection", _("数据归集")
    SHARING = "sharing", _("数据共享")
    APPLICATION = "application", _("数据应用")
    SECURITY = "security", _("安全管理")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


class ObjectionState(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")
