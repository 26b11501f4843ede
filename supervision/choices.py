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


# ------------------------------------------------------------------ violations, orders, notices (R35, R36)


class ViolationCategory(models.TextChoices):
    """第三十五条's seven prohibited behaviours, in the regulation's words (value = the article's item)."""

    CATALOG = "35.1", _("拒报、瞒报、漏报本部门政务数据资源目录清单")
    DATA = "35.2", _("不按规定报送、更新政务数据资源，报送数据与本部门所掌握的数据不一致或者不符合有关规范、无法使用")
    DEMAND_PLATFORM_DATA = "35.3", _(
        "要求有关单位和个人提供可以从大数据平台获取的政务数据资源（国家规定不适用电子文书的除外）")
    SHARING_ANSWER = "35.4", _("不按规定受理、答复、复核、反馈政务数据共享需求申请")
    CHANGE_DELETE = "35.5", _("违规更改、删除、复制、记录、存储政务数据")
    USE_LEAK = "35.6", _("违规使用、披露、泄露、买卖政务数据")
    OTHER = "35.7", _("其他违规行为")


class ViolationSource(models.TextChoices):
    DETECTED = "detected", _("平台发现")
    FILED = "filed", _("考核人员登记")


class ViolationState(models.TextChoices):
    OPEN = "open", _("待处理")
    ORDERED = "ordered", _("已责令整改")
    RECTIFIED = "rectified", _("已整改")
    DISMISSED = "dismissed", _("已撤销")


class OrderState(models.TextChoices):
    ISSUED = "issued", _("整改中")
    REPORTED = "reported", _("待验收")
    RETURNED = "returned", _("已退回")
    ACCEPTED = "accepted", _("已整改")


# States in which the department owes a rectification report.
ORDER_AWAITING_REPORT = (OrderState.ISSUED, OrderState.RETURNED)


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
