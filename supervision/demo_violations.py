"""Violations and rectification demo data, this domain's part of `manage.py seed_demo` (called by supervision.demo).

The platform's own detection runs over the demo's evidence (late clocks, unfiled demands, late data); the assessor
files two violations by hand and orders rectification so that one order stands in each state — issued (市民政局),
reported and waiting for acceptance (市公安局), returned (市市场监管局), accepted (市人社局), and overdue with its
notice of criticism published (市自然资源局) — plus a county department's violation (修武县公安局). Every step goes
through the services as the demo accounts; only the overdue order's dates are moved into the past (history a fresh
install cannot have lived). Idempotent: keyed by the violations' titles.
"""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.choices import Clock
from portal.models import Deadline, Department, User
from portal.services.deadlines import deadline_sweep
from portal.services.workdays import local_today

from .choices import ViolationCategory
from .models import RectificationOrder, Violation
from .services.orders import (
    notice_publish,
    notices_draft_overdue,
    order_accept,
    order_issue,
    order_report,
    order_return,
)
from .services.violations import violation_file, violations_detect

# (department short name, category, title, evidence, target: None | issued | reported | returned | accepted | overdue,
#  reporter)
CASES = [
    ("市民政局", ViolationCategory.DEMAND_PLATFORM_DATA, "办理低保要求群众提供户籍证明",
     "12345 热线工单：窗口要求申请人提供可从平台查询的户籍证明", "issued", ""),
    ("市公安局", ViolationCategory.SHARING_ANSWER, "共享申请逾期未答复（演示）",
     "三件共享申请超过 10 个工作日未答复", "reported", "ga_staff"),
    ("市市场监管局", ViolationCategory.DATA, "企业登记信息未按日更新（演示）",
     "资源最近一次更新距今已超过两个更新周期", "returned", "sj_staff"),
    ("市人社局", ViolationCategory.CATALOG, "漏报社保待遇发放目录",
     "责任清单核对：社保待遇发放信息未编目", "accepted", "rs_staff"),
    ("市自然资源局", ViolationCategory.OTHER, "未落实数据安全管理责任人",
     "检查发现未明确数据安全管理责任人", "overdue", ""),
    ("修武县公安局", ViolationCategory.DEMAND_PLATFORM_DATA, "户籍窗口重复索要身份证复印件",
     "县大数据局转来群众投诉", None, ""),
]


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n% demo rectification report\n", content_type="application/pdf")


def seed(stdout) -> None:
    assessor = User.objects.get(username="assessor")
    reviewer = User.objects.get(username="reviewer")
    detected = violations_detect().filed
    made = 0
    for short_name, category, title, evidence, target, reporter in CASES:
        department = Department.objects.get(short_name=short_name)
        if Violation.objects.filter(department=department, title=title).exists():
            continue
        violation = violation_file(actor=assessor, category=category, department_id=department.pk, title=title,
                                   evidence=evidence)
        made += 1
        if target is None:
            continue
        order = order_issue(actor=assessor, violation_ids=[violation.pk], working_days=15,
                            requirements="立即停止违规做法，完善制度，并于期限内报送整改报告及佐证材料。")
        if target == "overdue":
            _backdate(order, days=40)
            continue
        if target == "issued":
            continue
        staff = User.objects.get(username=reporter)
        order_report(actor=staff, order_id=order.pk, body="已完成整改：停止违规做法，修订内部工作规程。",
                     attachments=[_pdf("整改报告.pdf")])
        if target == "returned":
            order_return(actor=assessor, order_id=order.pk, reason="佐证材料不足，请补充修订后的工作规程文本。")
        elif target == "accepted":
            order_accept(actor=assessor, order_id=order.pk, note="整改到位")
    deadline_sweep()
    drafted = notices_draft_overdue()
    for order in RectificationOrder.objects.filter(notice__state="draft", department__short_name="市自然资源局"):
        notice_publish(actor=reviewer, notice_id=order.notice.pk)
    if stdout is not None:
        stdout.write(f"  违规整改：平台发现 {detected} 项、登记 {made} 项违规行为；通报草稿 {drafted} 份")


def _backdate(order: RectificationOrder, *, days: int) -> None:
    """The demo's one piece of lived history: this order was issued `days` ago and its 15 working days ran out."""
    today = local_today()
    issued = today - dt.timedelta(days=days)
    due = today - dt.timedelta(days=days - 21)
    RectificationOrder.objects.filter(pk=order.pk).update(due_on=due,
                                                          issued_at=order.issued_at - dt.timedelta(days=days))
    Deadline.objects.for_case(order).filter(clock=Clock.RECTIFICATION).update(started_on=issued, due_on=due)
