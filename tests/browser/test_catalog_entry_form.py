"""The entry form in a real browser: add and remove data-item rows, save, submit (Playwright + chromium)."""

import pytest

from catalog.models import CatalogEntry, Classification
from portal.choices import Role
from tests.factories import PASSWORD, DepartmentFactory, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_file_an_entry_with_item_rows(live_server, page, screenshot):
    dept = DepartmentFactory(name="焦作市市场监督管理局(浏览器测试)", short_name="市市场监管局")
    make_user(Role.DEPT_STAFF, department=dept, username="browser_staff")
    page.goto(f"{live_server.url}/login/?next=/catalog/entries/new/")
    page.fill("#id_username", "browser_staff")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/catalog/entries/new/")

    page.select_option("#id_classification", str(Classification.objects.get(code="303").pk))
    page.fill("#id_name", "企业营业执照登记信息")
    page.fill("#id_summary", "市场主体登记注册的营业执照信息")
    page.select_option("#id_format_class", "db")
    page.fill("#id_format_type", "mysql")
    page.select_option("#id_share_type", "1")
    page.check("input[name=exchange_methods][value=api]")
    page.select_option("#id_update_cycle", "daily")
    page.fill("#id_items-0-name", "统一社会信用代码")
    page.fill("#id_items-0-length", "18")
    page.check("#id_items-0-is_subject_key")
    page.click("[data-testid=add-item]")
    page.fill("#id_items-1-name", "企业名称")
    page.click("[data-testid=add-item]")
    page.fill("#id_items-2-name", "临时字段")
    page.check("#id_items-2-DELETE")  # removed again: the row disappears
    assert page.locator("tr.item-row:visible").count() == 2
    screenshot("catalog-entry-form")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=entry-code]")

    entry = CatalogEntry.objects.get()
    assert list(entry.items.order_by("position").values_list("name", flat=True)) == ["统一社会信用代码", "企业名称"]
    assert page.locator("[data-testid=entry-code]").inner_text() == entry.code
    page.click("[data-testid=submit]")
    page.wait_for_selector(".alert-success")
    screenshot("catalog-entry-submitted")
    entry.refresh_from_db()
    assert entry.state == "signoff"
