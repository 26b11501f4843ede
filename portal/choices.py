"""Controlled vocabularies of the kernel (TextChoices; labels are the Chinese source strings)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    CITY = "city", _("地级市")
    DISTRICT = "district", _("市辖区")
    COUNTY = "county", _("县")
    COUNTY_CITY = "county_city", _("县级市")
    ZONE = "zone", _("功能区")


class DepartmentKind(models.TextChoices):
    """项 of the 部门信息资源 classification, in the city's local form (cn-standards §1.1)."""

    PARTY = "party", _("党委")
    CONGRESS = "congress", _("人大")
    GOVERNMENT = "government", _("政府")
    CPPCC = "cppcc", _("政协")
    COURT = "court", _("法院")
    PROCURATORATE = "procuratorate", _("检察院")
    MASS = "mass", _("群团组织")
    PUBLIC_INSTITUTION = "institution", _("事业单位")


class Role(models.TextChoices):
    """SPEC §1 roles; the scope each one reaches is in ROLE_SCOPE."""

    DEPT_STAFF = "dept_staff", _("部门数据专员")
    DEPT_HEAD = "dept_head", _("部门主要负责人")
    COUNTY_BUREAU = "county_bureau", _("县(市)区大数据管理部门")
    BUREAU_REVIEWER = "bureau_reviewer", _("市大数据局审核员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")
    ASSESSOR = "assessor", _("考核人员")


class Scope(models.TextChoices):
    DEPARTMENT = "department", _("本部门")
    REGION = "region", _("本区域")
    CITY = "city", _("全市")
    PLATFORM = "platform", _("平台")


ROLE_SCOPE = {
    Role.DEPT_STAFF: Scope.DEPARTMENT,
    Role.DEPT_HEAD: Scope.DEPARTMENT,
    Role.COUNTY_BUREAU: Scope.REGION,
    Role.BUREAU_REVIEWER: Scope.CITY,
    Role.ASSESSOR: Scope.CITY,
    Role.SYSTEM_ADMIN: Scope.PLATFORM,
    Role.SECURITY_ADMIN: Scope.PLATFORM,
    Role.AUDIT_ADMIN: Scope.PLATFORM,
}

# 三员分立: no account may hold two of these (等保 8.1.4.2 d / 8.1.5).
ADMIN_ROLES = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
# A department's own people: its data staff and its head (they file, load, answer and consume for it).
STAFF_ROLES = (Role.DEPT_STAFF, Role.DEPT_HEAD)


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假")
    WORKDAY = "workday", _("调休上班")


class CalendarSource(models.TextChoices):
    LIBRARY = "library", _("chinese-calendar 初始数据")
    ADMIN = "admin", _("管理员录入")


class Clock(models.TextChoices):
    """The regulation's clocks (SPEC §2 table); chapters open and close them through the deadline service."""

    CATALOG_REVIEW = "catalog_review", _("目录审核")
    CATALOG_UPDATE_APPLY = "catalog_update_apply", _("目录更新申请")
    CATALOG_UPDATE_REVIEW = "catalog_update_review", _("目录更新审核")
    VERIFICATION = "verification", _("数据校核")
    VERIFICATION_EXTENSION = "verification_extension", _("校核延期审批")
    SHARING_REVIEW = "sharing_review", _("共享申请审核")
    RECTIFICATION = "rectification", _("限期整改")
    RISK_ASSESSMENT = "risk_assessment", _("安全风险评估")


class DeadlineState(models.TextChoices):
    OPEN = "open", _("进行中")
    OVERDUE = "overdue", _("已超期")
    CLOSED = "closed", _("已办结")


class AuditResult(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", _("到期提醒")
    OVERDUE = "overdue", _("超期")
    INFO = "info", _("通知")


class JobStatus(models.TextChoices):
    """The lifecycle of a long job (portal.models.jobs.Job); an app may add states of its own (e.g. rejected)."""

    PENDING = "pending", _("等待中")
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")
