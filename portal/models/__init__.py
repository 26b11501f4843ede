"""Kernel models: organisations and people, the working-day calendar, deadlines, audit, notifications, jobs."""

from .audit import AuditChainLink, AuditEvent, AuditPending, AuditPurge, AuditSeal, AuditVerification
from .deadlines import Deadline
from .jobs import Job
from .notifications import Notification
from .org import Department, Region, User, UserRole
from .passwords import PasswordHistory
from .settings import Setting
from .tokens import PersonalToken
from .workdays import CalendarDay, CalendarYear

__all__ = [
    "AuditChainLink",
    "AuditEvent",
    "AuditPending",
    "AuditPurge",
    "AuditSeal",
    "AuditVerification",
    "CalendarDay",
    "CalendarYear",
    "Deadline",
    "Department",
    "Job",
    "Notification",
    "PasswordHistory",
    "PersonalToken",
    "Region",
    "Setting",
    "User",
    "UserRole",
]
