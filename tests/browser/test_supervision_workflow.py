"""Chapters 6–7 in the browser, in Chinese, two people in their own sessions: the assessor computes the year's
assessment, adjusts one score with a written reason and orders a department to rectify a violation the platform
detected; the department files its rectification report; the assessor accepts it."""

import datetime as dt

import pytest
from django.urls import reverse

from portal.choices import Role
from portal.services.workdays import local_today
from supervision.choices import OrderState, ViolationCategory, ViolationState
from supervision.models import AssessmentAdjustment, RectificationOrder, Violation
from supervision.services.violations import violations_detect
from tests.factories import make_user
from tests.sharing.helpers import published_entry
from tests.supervision.violation_helpers import overdue_clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_assess_adjust_order_report_accept(live_server, live_worker, signed_in, screenshot, bureau, dept, staff,
                                           head, reviewer):
    assessor = make_user(Role.ASSESSOR, department=bureau, username="assessor")
    today = local_today()
    # The platform's evidence: a clock of dept's that ran out (the kernel's sweep marked it overdue).
    overdue_clock(published_entry(dept), dept, started=today - dt.timedelta(days=40), today=today)
    violations_detect(today=today)
    violation = Violation.objects.get(department=dept, category=ViolationCategory.SHARING_ANSWER)

    # 1. The assessor opens this year's assessment and computes it from the evidence.
    page = signed_in(assessor.username)
    page.goto(live_server.url + reverse("supervision:assessment-list"))
    form = page.locator("[data-testid=assessment-create]")
    form.get_by_label("考核年度").fill(str(today.year))
    form.get_by_label("名称").fill(f"{today.year} 年度政务数据资源管理考核")
    with page.expect_navigation():
        form.get_by_role("button", name="新建考核").click()
    with page.expect_navigation():
        page.get_by_test_id("compute").click()
    row = page.locator(f"[data-testid=results] tr[data-department='{dept.pk}']")
    for _ in range(30):  # the Celery worker computes; the page shows the results once it has
        if row.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    assert row.count() == 1, page.content()

    # 2. ... opens the department's scorecard and adjusts one score, with the reason written down.
    with page.expect_navigation():
        row.get_by_role("link", name=dept.name).click()
    adjust = page.locator("[data-testid=adjust-form]")
    adjust.get_by_label("指标").select_option("sharing_on_time")
    adjust.get_by_label("调整分值").fill("-2")
    adjust.get_by_label("调整理由").fill("共享申请答复超期，经核实扣 2 分")
    with page.expect_navigation():
        adjust.get_by_role("button", name="调整得分").click()
    assert "共享申请答复超期，经核实扣 2 分" in page.get_by_test_id("adjustments").inner_text()
    assert AssessmentAdjustment.objects.get().reason == "共享申请答复超期，经核实扣 2 分"
    screenshot("supervision-scorecard", of=page)

    # 3. ... orders the department to rectify the late answer the platform detected.
    page.goto(live_server.url + reverse("supervision:violation-list"))
    page.locator(f"tr[data-violation='{violation.pk}'] input[type=checkbox]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="对所选违规行为责令整改").click()
    order_form = page.get_by_test_id("order-form")
    order_form.get_by_label("整改要求").fill("建立共享申请受理台账，十个工作日内答复积压申请")
    order_form.get_by_label("整改期限（工作日）").fill("10")
    with page.expect_navigation():
        order_form.get_by_role("button", name="签发").click()
    order = RectificationOrder.objects.get()
    assert page.url.endswith(reverse("supervision:order-detail", args=[order.pk]))

    # 4. The department's clerk files the rectification report.
    clerk = signed_in(staff.username)
    clerk.goto(live_server.url + reverse("supervision:order-detail", args=[order.pk]))
    with clerk.expect_navigation():
        clerk.get_by_role("link", name="提交整改报告").click()
    report = clerk.get_by_test_id("report-form")
    report.get_by_label("整改情况").fill("已建立受理台账，积压的 3 件申请均已答复")
    with clerk.expect_navigation():
        report.get_by_role("button", name="提交").click()
    assert "已建立受理台账" in clerk.content()

    # 5. The assessor accepts it: the order is closed, the violation rectified.
    page.reload()
    accept = page.get_by_test_id("order-accept")
    accept.get_by_label("验收意见").fill("整改到位")
    with page.expect_navigation():
        accept.get_by_role("button", name="验收通过").click()
    order.refresh_from_db()
    violation.refresh_from_db()
    assert order.state == OrderState.ACCEPTED and violation.state == ViolationState.RECTIFIED
    screenshot("supervision-order-accepted", of=page)
