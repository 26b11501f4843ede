"""Controlled vocabularies of the aggregation chapter: pool and ingest jobs, verification cases, themes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyKind(models.TextChoices):
    ID_NUMBER = "id_number", _("公民身份号码")
    CREDIT_CODE = "credit_code", _("统一社会信用代码")
    OTHER = "other", _("其他标识")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("等待中")
    RUNNING = "running", _("导入中")
    SUCCEEDED = "succeeded", _("已完成")
    REJECTED = "rejected", _("未导入（存在问题行）")
    FAILED = "failed", _("失败")


# A job in one of these states is finished; it may be re-run (failed) or re-run loading valid rows (rejected).
FINISHED_STATES = (JobStatus.SUCCEEDED, JobStatus.REJECTED, JobStatus.FAILED)


class JobMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("全部有效才导入")
    LOAD_VALID = "load_valid", _("仅导入有效行")


class JobFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    JSON = "json", "JSON"
    API = "api", _("接口推送")


class HistoryOp(models.TextChoices):
    INSERT = "insert", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")


class VerificationState(models.TextChoices):
    OPEN = "open", _("核校中")
    CORRECTED = "corrected", _("已更正")
    CONFIRMED = "confirmed", _("经核无误")


class ExtensionState(models.TextChoices):
    NONE = "", _("未申请")
    REQUESTED = "requested", _("待负责人审批")
    APPROVED = "approved", _("已批准延期")
    REFUSED = "refused", _("未批准延期")
    LAPSED = "lapsed", _("案件办结，申请失效")


class JoinMode(models.TextChoices):
    ANY = "any", _("出现在任一来源的主体（全连接）")
    ALL = "all", _("出现在全部来源的主体（内连接）")


class ThemeTrigger(models.TextChoices):
    """Why a theme build ran: someone asked, a source loaded new data (debounced), or the nightly schedule."""

    MANUAL = "manual", _("手动生成")
    SOURCE = "source", _("来源数据更新")
    SCHEDULE = "schedule", _("定时生成")


class ThemeJobStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")
