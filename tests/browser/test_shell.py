"""A person's first minutes: log in, see pending work in Chinese with the overdue case in red, switch to English."""

import datetime as dt

import pytest

from portal.choices import Clock, Role
from portal.services.deadlines import deadline_open
from tests.factories import PASSWORD, DepartmentFactory, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_login_dashboard_and_language_switch(live_server, page, screenshot):
    dept = DepartmentFactory(name="焦作市公安局(浏览器测试)", short_name="市公安局")
    make_user(Role.DEPT_STAFF, department=dept, username="browser_staff")
    deadline_open(case=DepartmentFactory(), clock=Clock.VERIFICATION, department=dept, working_days=5,
                  title="户籍信息校核申请", started_on=dt.date(2026, 11, 2))

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("#id_username", "browser_staff")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    assert page.locator("h1").inner_text() == "我的待办"
    row = page.locator("[data-testid=deadline-row]").filter(has_text="户籍信息校核申请")
    assert "table-danger" in row.get_attribute("class")
    assert "已超期" in row.inner_text()
    screenshot("dashboard-zh")

    with page.expect_navigation():  # the switch posts the form; wait for the page it lands on
        page.select_option("select[name=language]", "en")
    assert page.locator("h1").inner_text() == "My pending work"
    screenshot("dashboard-en")

    page.locator(".dropdown-toggle").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")
