"""A department clerk imports an Excel-made (GBK) CSV end to end in the browser, with a real Celery worker:
upload → map the column whose header differs → the page polls the job's progress → all-or-nothing refuses the file
for one bad ID → the clerk downloads the problem-row report → "仅导入有效行" loads the valid rows."""

import pytest
from django.urls import reverse

from aggregation.models import IngestJob, Record
from portal.choices import Role
from tests.aggregation.test_storage_fixtures import PEOPLE_ITEMS, csv_bytes, ids, make_entry
from tests.factories import PASSWORD, DepartmentFactory, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_clerk_imports_a_gbk_csv_maps_a_column_and_loads_the_valid_rows(live_server, live_worker, page, screenshot,
                                                                          tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    dept = DepartmentFactory(name="焦作市公安局(浏览器测试)", short_name="市公安局")
    make_user(Role.DEPT_STAFF, department=dept, username="import_clerk")
    entry = make_entry(dept, "户籍人口信息", PEOPLE_ITEMS)
    good = ids(3)
    bad = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")  # wrong check digit
    rows = [[good[0], "张三", "男"], [bad, "李四", "女"], [good[1], "王五", "男"], [good[2], "赵六", "女"]]
    # "证件号" is not an item name: the clerk has to say which item it holds.
    upload = tmp_path / "人口.csv"
    upload.write_bytes(csv_bytes(rows, header=["证件号", "姓名", "性别"], encoding="gbk", newline="\r\n"))

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "import_clerk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(live_server.url + reverse("aggregation:upload", args=[entry.pk]))
    page.set_input_files("input[type=file]", str(upload))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    mapping = page.locator("[data-testid=mapping-form]")
    assert mapping.is_visible()
    assert "GB" in page.locator("p.text-muted.small").first.inner_text().upper()  # the detected encoding is shown
    mapping.get_by_label("证件号").select_option("公民身份号码")
    assert mapping.get_by_label("姓名").input_value() == "姓名"  # matching headers come preselected
    with page.expect_navigation():
        mapping.locator("button[type=submit]").click()

    # The page polls the fragment (htmx) until the worker has finished: no reload by the clerk.
    status = page.locator("[data-testid=job-status]")
    page.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=30_000)
    assert status.inner_text() == "未导入（存在问题行）"
    assert "仅导入有效行" in page.locator("[data-testid=job-log]").inner_text()
    assert Record.objects.count() == 0  # all or nothing
    screenshot("import-rejected")

    with page.expect_download() as download:
        page.click("[data-testid=report-link]")
    report = download.value.path().read_bytes().decode("utf-8-sig")
    assert "行号" in report.splitlines()[0]
    # The bad row by its file line, the column as the file names it, the value masked (the report is a file that
    # travels), and the reason in Chinese.
    assert report.splitlines()[1].startswith(f"3,证件号,{bad[:6]}********{bad[-4:]},身份证号校验码错误")

    with page.expect_navigation():
        page.click("[data-testid=rerun-valid]")
    page.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=30_000)
    assert page.locator("[data-testid=job-status]").inner_text() == "已完成"
    assert page.locator("[data-testid=job-counts]").inner_text().split("\n")[1].replace(" ", "") == "3/0/0"
    screenshot("import-loaded")

    job = IngestJob.objects.get()
    assert (job.inserted_rows, job.rejected_rows, job.encoding.lower()) == (3, 1, "gb18030")
    assert Record.objects.filter(dataset=job.dataset).count() == 3
