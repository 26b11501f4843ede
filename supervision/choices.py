"""Every TextChoices of the supervision app (chapters 6–7 and the policy note on informatization projects)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FundingKind(models.TextChoices):
    """How a 政务信息化项目 is paid for (the policy note: which systems count as projects)."""

    GOVERNMENT = "government", _("政府投资")
    JOINT = "joint", _("共建")
    PURCHASED = "purchased", _("购买服务")
    OPERATION = "operation", _("运维经费")


class ProjectState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("已批准")
    RETURNED = "returned", _("已退回")
    UNDER_CONSTRUCTION = "under_construction", _("建设中")
    COMPLETED = "completed", _("已建成")


# States in which the filing department may still change the project.
PROJECT_EDITABLE_STATES = (ProjectState.DRAFT, ProjectState.RETURNED)


class CheckItem(models.TextChoices):
    """The review checklist (policy note: 依托市政务云平台、电子政务网络建设；接入市大数据平台；共建共享，
    避免重复建设)."""

    GOV_CLOUD = "gov_cloud", _("依托市政务云平台建设")
    EGOV_NETWORK = "egov_network", _("依托电子政务外网建设")
    DATA_PLATFORM = "data_platform", _("接入焦作市大数据平台实现数据共享")
    NO_EXCHANGE = "no_exchange", _("不另建数据共享交换系统")
    NO_DUPLICATE = "no_duplicate", _("不重复建设（已核对重叠检索结果）")


# What the filing department commits to (the co-construction/sharing requirements); the last item of the checklist,
# no duplicate construction, is the reviewer's judgement after the overlap search.
DECLARED_ITEMS = (CheckItem.GOV_CLOUD, CheckItem.EGOV_NETWORK, CheckItem.DATA_PLATFORM, CheckItem.NO_EXCHANGE)
DECLARED_CHOICES = [(item.value, item.label) for item in DECLARED_ITEMS]  # named in the OpenAPI (ENUM_NAME_OVERRIDES)
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
