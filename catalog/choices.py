"""Controlled vocabularies of the catalog (2017 编制指南, cn-standards §1.3); labels are the guide's Chinese.

Values are stable ASCII (they are stored, exported and sent over the API); labels are what people see.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResourceClass(models.TextChoices):
    """类: the first level of the classification and the first digit of every 前段码."""

    BASE = "1", _("基础信息资源")
    THEME = "2", _("主题信息资源")
    DEPARTMENT = "3", _("部门信息资源")


class ClassificationLevel(models.IntegerChoices):
    CATEGORY = 1, _("类")
    ITEM = 2, _("项")
    SECTION = 3, _("目")
    SUBSECTION = 4, _("细目")


# Digits each level adds to the 前段码 (细目 is variable length in the guide; we take 2..4).
LEVEL_DIGITS = {1: (1, 1), 2: (2, 2), 3: (3, 3), 4: (2, 4)}


class FormatClass(models.TextChoices):
    DOC = "doc", _("电子文件")
    SHEET = "sheet", _("电子表格")
    DB = "db", _("数据库")
    IMAGE = "image", _("图形图像")
    MEDIA = "media", _("流媒体")
    SELF = "self", _("自描述格式")
    API = "api", _("服务接口")


# The guide's example 格式类型 per class (it says "等": not exhaustive) — offered as suggestions.
FORMAT_TYPES = {
    FormatClass.DOC: ["OFD", "wps", "xml", "txt", "doc", "docx", "html", "pdf", "ppt"],
    FormatClass.SHEET: ["et", "xls", "xlsx", "csv"],
    FormatClass.DB: [
        "Dm",
        "KingbaseES",
        "access",
        "dbf",
        "dbase",
        "sysbase",
        "oracle",
        "sqlServer",
        "db2",
        "mysql",
        "PostgreSQL",
    ],
    FormatClass.IMAGE: ["jpg", "gif", "bmp", "png"],
    FormatClass.MEDIA: ["swf", "rm", "mpg", "mp4"],
    FormatClass.SELF: [],
    FormatClass.API: ["REST", "WebService"],
}

# Formats whose content is structured: an entry of these classes must list its data items.
STRUCTURED_FORMATS = (FormatClass.SHEET, FormatClass.DB, FormatClass.API)


class DataType(models.TextChoices):
    C = "C", _("字符型C")
    N = "N", _("数值型N")
    Y = "Y", _("货币型Y")
    D = "D", _("日期型D")
    T = "T", _("日期时间型T")
    L = "L", _("逻辑型L")
    M = "M", _("备注型M")
    G = "G", _("通用型G")
    B = "B", _("双精度型B")
    I = "I", _("整型I")  # noqa: E741 — the guide's letter code
    F = "F", _("浮点型F")


class ShareType(models.TextChoices):
    UNCONDITIONAL = "1", _("无条件共享")
    CONDITIONAL = "2", _("有条件共享")
    NONE = "3", _("不予共享")


class Sensitivity(models.TextChoices):
    """A data item's declared sensitivity (R28.3; 个人信息 / 个人敏感信息, GB/T 35273): personal items are masked for
    readers without a full grant. Values equal portal.personal_data's (the kernel proposes them)."""

    PUBLIC = "public", _("非个人信息")
    PERSONAL = "personal", _("个人信息")
    SENSITIVE = "sensitive", _("个人敏感信息")


class ExchangeMethod(models.TextChoices):
    """The 办法's own 共享交换方式 (第二十二条); GUIDE_SHARE_MODE maps them onto the guide's 共享方式类型."""

    API = "api", _("数据接口")
    QUERY = "query", _("在线查询")
    DOWNLOAD = "download", _("批量下载")
    PUSH = "push", _("数据库推送")


def exchange_method_labels(codes) -> list[str]:
    """["api", "query"] → ["数据接口", "在线查询"] (an unknown code stays as it is)."""
    labels = dict(ExchangeMethod.choices)
    return [str(labels.get(m, m)) for m in codes]


GUIDE_SHARE_MODE = {
    ExchangeMethod.API: "接口",
    ExchangeMethod.QUERY: "接口",
    ExchangeMethod.DOWNLOAD: "文件",
    ExchangeMethod.PUSH: "数据库",
}


class OpenType(models.TextChoices):
    OPEN = "open", _("无条件开放")
    CONDITIONAL = "conditional", _("有条件开放")
    CLOSED = "closed", _("不予开放")


class UpdateCycle(models.TextChoices):
    REALTIME = "realtime", _("实时")
    DAILY = "daily", _("每日")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")
    HALF_YEAR = "half_year", _("每半年")
    YEARLY = "yearly", _("每年")
    OTHER = "other", _("其他")


# Calendar days a cycle allows between two loads (timeliness, R15.1 / R24.1); None = no fixed cycle.
CYCLE_DAYS = {
    UpdateCycle.REALTIME: 0,
    UpdateCycle.DAILY: 1,
    UpdateCycle.WEEKLY: 7,
    UpdateCycle.MONTHLY: 31,
    UpdateCycle.QUARTERLY: 92,
    UpdateCycle.HALF_YEAR: 183,
    UpdateCycle.YEARLY: 366,
    UpdateCycle.OTHER: None,
}


class EntryState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SIGNOFF = "signoff", _("待负责人签发")
    COUNTY_REVIEW = "county_review", _("待县级初审")
    BUREAU_REVIEW = "bureau_review", _("待市局审核")
    APPROVED = "approved", _("已发布")
    RETURNED = "returned", _("已退回")


# States in which the department may still edit the entry.
EDITABLE_STATES = (EntryState.DRAFT, EntryState.RETURNED)
# States in which the entry is on its way to, or on, the platform (a 涉密 entry may be in none of them).
ON_PLATFORM_STATES = (EntryState.SIGNOFF, EntryState.COUNTY_REVIEW, EntryState.BUREAU_REVIEW, EntryState.APPROVED)


class ReviewStage(models.TextChoices):
    SIGNOFF = "signoff", _("部门负责人签发")
    COUNTY = "county", _("县级初审")
    BUREAU = "bureau", _("市局审核")


class ReviewDecision(models.TextChoices):
    SUBMITTED = "submitted", _("提交")
    SIGNED = "signed", _("签发")
    PASSED = "passed", _("初审通过")
    APPROVED = "approved", _("审核通过")
    RETURNED = "returned", _("退回")


class DemandState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    CLOSED = "closed", _("已办结")


class UpdateTrigger(models.TextChoices):
    LAW_AMENDED = "law_amended", _("相关法律法规修改")
    DUTIES_CHANGED = "duties_changed", _("行政管理职能变化")


class UpdateCaseState(models.TextChoices):
    DRAFT = "draft", _("待申请")
    SUBMITTED = "submitted", _("待市局审核")
    APPROVED = "approved", _("已更新")
    RETURNED = "returned", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")


# Update cases still running (one per entry at a time).
OPEN_UPDATE_STATES = (UpdateCaseState.DRAFT, UpdateCaseState.SUBMITTED, UpdateCaseState.RETURNED)


class Fulfilment(models.TextChoices):
    """Responsibility-list fulfilment of one item (R9.1); the data states need the aggregation chapter."""

    FILED = "filed", _("已编目")
    UPDATING = "updating", _("目录更新中")
    ON_TIME = "on_time", _("按时更新")
    LATE = "late", _("未按周期更新")
    NO_DATA = "no_data", _("未归集数据")
