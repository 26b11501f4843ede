"""Plain helpers of the violations and rectification tests (imported by name)."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.choices import Clock
from portal.models import Deadline
from portal.services.deadlines import deadline_open, deadline_sweep
from supervision.choices import ViolationCategory
from supervision.services.violations import violation_file


def pdf(name: str = "整改报告.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\nrectified", content_type="application/pdf")


def overdue_clock(case, department, *, clock=Clock.SHARING_REVIEW, started=dt.date(2026, 11, 2),
                  today=dt.date(2026, 11, 25)) -> Deadline:
    """A clock of `department` on `case`, 10 working days from `started`, marked overdue by the kernel sweep."""
    deadline = deadline_open(case=case, clock=clock, department=department, working_days=10, started_on=started,
                             title="共享申请审核")
    deadline_sweep(today=today)
    deadline.refresh_from_db()
    return deadline


def filed(assessor, department, title="要求企业重复提供营业执照", category=ViolationCategory.DEMAND_PLATFORM_DATA):
    return violation_file(actor=assessor, category=category, department_id=department.pk, title=title,
                          evidence="群众投诉：窗口要求提供可从平台获取的营业执照")
