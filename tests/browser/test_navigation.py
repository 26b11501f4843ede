"""Everything of chapter 3 is reachable by clicking (issue 17): a department clerk starts at the home page and
reaches the resource pool, a dataset of it, verification cases, the base databases, theme databases and the quality
report through the menu and the 数据归集 sub-navigation — no URL typed."""

import pytest

from portal.choices import Role
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_clerk_reaches_every_aggregation_page_from_the_menu(live_server, signed_in, person_dataset, screenshot):
    make_user(Role.DEPT_STAFF, department=person_dataset.department, username="nav_clerk")
    page = signed_in("nav_clerk")
    assert page.locator("h1").inner_text() == "我的待办"

    def heading() -> str:
        return page.locator("main h1").first.inner_text()

    with page.expect_navigation():
        page.locator("#mainnav").get_by_role("link", name="数据归集", exact=True).click()
    assert heading() == "部门数据资源池"
    with page.expect_navigation():  # a dataset of the pool, from its row
        page.locator("[data-testid=pool-table]").get_by_role("link", name=person_dataset.entry.name).click()
    assert heading() == person_dataset.entry.name

    tabs = page.locator("main ul.nav-tabs").first
    for tab, title in (("数据校核", "数据校核"), ("基础库", "基础库"), ("主题库", "主题库"),
                       ("数据质量", "数据质量报告"), ("资源池", "部门数据资源池")):
        with page.expect_navigation():
            tabs.get_by_role("link", name=tab, exact=True).click()
        assert heading() == title, f"the tab {tab} led to {page.url}"
        assert "active" in tabs.get_by_role("link", name=tab, exact=True).get_attribute("class")
    screenshot("aggregation-menu", of=page)
