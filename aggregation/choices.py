"""Controlled vocabularies of the aggregation chapter (storage part)."""

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
