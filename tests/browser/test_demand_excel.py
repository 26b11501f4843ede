"""A department clerk files a demand list from Excel (R8.1) in a real browser: downloads the template from the demand
list, fills two lines, uploads it, sees the lines in the list, and submits them (Playwright + chromium)."""

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from catalog.choices import DemandState
from catalog.models import DemandItem
from portal.choices import Role
from tests.factories import DepartmentFactory, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_clerk_files_a_demand_list_from_excel(live_server, signed_in, screenshot, tmp_path):
    dept = DepartmentFactory(name="焦作市民政局(浏览器测试)", short_name="市民政局")
    provider = DepartmentFactory(name="焦作市市场监督管理局(浏览器测试)", short_name="市市场监管局")
    make_user(Role.DEPT_STAFF, department=dept, username="demand_clerk")

    page = signed_in("demand_clerk")
    page.goto(live_server.url + reverse("catalog:demand-list"))
    with page.expect_download() as download:
        page.click("[data-testid=demand-template]")
    template = tmp_path / "需求清单.xlsx"
    download.value.save_as(template)

    # The clerk fills two lines in the template, as in Excel: the provider picked by its name from the drop-down.
    wb = load_workbook(template)
    ws = wb["需求清单"]
    headers = [c.value for c in ws[1]]
    assert headers[:6] == ["编号", "所需数据", "所需信息项", "用途", "依据", "提供部门"]
    ws.append(
        [
            None,
            "企业营业执照信息",
            "统一社会信用代码、企业名称",
            "社会组织登记时核验法人资格",
            "《社会组织登记管理条例》",
            provider.name,
        ]
    )
    ws.append([None, "企业注销登记信息", "统一社会信用代码", "社会组织清算时核验", "部门职责", None])
    wb.save(template)

    with page.expect_navigation():
        page.click("[data-testid=demand-import]")
    page.set_input_files("[data-testid=demand-import-form] input[type=file]", str(template))
    with page.expect_navigation():
        page.click("[data-testid=demand-import-submit]")
    page.wait_for_url(live_server.url + reverse("catalog:demand-list"))
    assert "导入成功：新增 2 项" in page.content()
    rows = page.locator("[data-testid=demand-row]")
    assert rows.count() == 2
    table = page.locator("[data-testid=demand-table]").inner_text()
    assert "企业营业执照信息" in table and "企业注销登记信息" in table and provider.name in table
    screenshot("demand-excel-imported", of=page)

    for needed in ("企业营业执照信息", "企业注销登记信息"):
        page.goto(live_server.url + reverse("catalog:demand-list"))
        with page.expect_navigation():
            page.get_by_role("link", name=needed).click()
        with page.expect_navigation():
            page.click("[data-testid=submit]")
        assert "已提交到市大数据局" in page.content()
    states = set(DemandItem.objects.filter(department=dept).values_list("state", flat=True))
    assert states == {DemandState.SUBMITTED}
