"""Chapter 3 workflows in the browser, each with a real Celery worker on the real Redis broker:

- a department clerk imports an Excel-made (GBK) CSV: upload → map the column whose header differs → the page polls
  the job's progress → all-or-nothing refuses the file for one bad ID → the clerk downloads the problem-row report →
  "仅导入有效行" loads the valid rows;
- a clerk defines a theme database over two departments' resources, builds it, and sees its rows when the build ends.
"""

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from aggregation import tasks  # noqa: F401 — registers the theme task before the worker starts
from aggregation.models import IngestJob
from aggregation.selectors.pools import record_get, record_values
from config.celery import app
from portal.choices import Role
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, id_number, ids, load, make_dataset, submit
from tests.aggregation.builders import make_entry as storage_entry
from tests.factories import DepartmentFactory, make_user
from tests.support import live_count, stored_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_clerk_imports_a_gbk_csv_maps_a_column_and_loads_the_valid_rows(live_server, live_worker, signed_in,
                                                                          screenshot, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    dept = DepartmentFactory(name="焦作市公安局(浏览器测试)", short_name="市公安局")
    make_user(Role.DEPT_STAFF, department=dept, username="import_clerk")
    entry = storage_entry(dept, "户籍人口信息", PEOPLE_ITEMS)
    good = ids(3)
    bad = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")  # wrong check digit
    rows = [[good[0], "张三", "男"], [bad, "李四", "女"], [good[1], "王五", "男"], [good[2], "赵六", "女"]]
    # "证件号" is not an item name: the clerk has to say which item it holds.
    upload = tmp_path / "人口.csv"
    upload.write_bytes(csv_bytes(rows, header=["证件号", "姓名", "性别"], encoding="gbk", newline="\r\n"))

    page = signed_in("import_clerk")

    page.goto(live_server.url + reverse("aggregation:upload", args=[entry.pk]))
    page.set_input_files("input[type=file]", str(upload))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    mapping = page.locator("[data-testid=mapping-form]")
    assert mapping.is_visible()
    assert "GB" in page.locator("p.text-muted.small").first.inner_text().upper()  # the detected encoding is shown
    mapping.get_by_label("证件号").select_option("公民身份号码")
    assert mapping.get_by_label("姓名", exact=True).input_value() == "姓名"  # matching headers come preselected
    with page.expect_navigation():
        mapping.locator("button[type=submit]").click()

    # The page polls the fragment (htmx) until the worker has finished: no reload by the clerk.
    status = page.locator("[data-testid=job-status]")
    page.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=60_000)
    assert status.inner_text() == "未导入（存在问题行）"
    assert "仅导入有效行" in page.locator("[data-testid=job-log]").inner_text()
    assert stored_count() == 0  # all or nothing
    screenshot("import-rejected", of=page)

    with page.expect_download() as download:
        page.click("[data-testid=report-link]")
    report = download.value.path().read_bytes().decode("utf-8-sig")
    assert "行号" in report.splitlines()[0]
    # The bad row by its file line, the column as the file names it, the value as the clerk uploaded it (it is their
    # data; a reader without "load" on the resource gets it masked), and the reason in Chinese.
    assert report.splitlines()[1].startswith(f"3,证件号,{bad},身份证号校验码错误")

    with page.expect_navigation():
        page.click("[data-testid=rerun-valid]")
    page.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=60_000)
    assert page.locator("[data-testid=job-status]").inner_text() == "已完成"
    assert page.locator("[data-testid=job-counts]").inner_text().split("\n")[1].replace(" ", "") == "3/0/0"
    screenshot("import-loaded", of=page)

    job = IngestJob.objects.get()
    assert (job.inserted_rows, job.rejected_rows, job.encoding.lower()) == (3, 1, "gb18030")
    assert live_count(job.dataset) == 3


def test_clerk_uploads_a_file_with_a_missing_and_a_near_matching_column(live_server, live_worker, signed_in,
                                                                          screenshot, tmp_path, settings):
    """Issue 17 item 4: the file lacks 联系电话 and names 户籍地址 住址 and 公民身份号码 身份证号. The job stops at
    the mapping step (待确认映射) with the near matches proposed; the clerk confirms the key, ignores 住址; the job
    loads and the page says which items kept their stored values."""
    settings.MEDIA_ROOT = tmp_path / "media"
    dept = DepartmentFactory(name="焦作市公安局(浏览器测试)", short_name="市公安局")
    clerk = make_user(Role.DEPT_STAFF, department=dept, username="partial_clerk")
    entry = storage_entry(dept, "户籍人口信息", PEOPLE_ITEMS)
    keys = ids(2)
    before = [[k, n, "男", "1990-03-07", "河南省焦作市解放区民主路12号", f"1380000000{i}", "3"]
              for i, (k, n) in enumerate(zip(keys, ["张三", "李四"], strict=True))]
    first = submit(clerk, entry, csv_bytes(before))
    assert first.status == "succeeded", first.log
    upload = tmp_path / "人口-更新.csv"
    upload.write_bytes(csv_bytes([[keys[0], "张叁", "男", "1990-03-07", "新地址", "4"]],
                                 header=["身份证号", "姓名", "性别", "出生日期", "住址", "家庭人口"]))

    page = signed_in("partial_clerk")
    page.goto(live_server.url + reverse("aggregation:upload", args=[entry.pk]))
    page.set_input_files("input[type=file]", str(upload))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    assert page.locator("[data-testid=job-status]").inner_text() == "待确认映射"
    near = page.locator("[data-testid=near-matches]").inner_text()
    assert "身份证号 ≈ 公民身份号码" in near and "住址 ≈ 户籍地址" in near
    mapping = page.locator("[data-testid=mapping-form]")
    assert mapping.get_by_label("身份证号").input_value() == "公民身份号码"  # proposed
    assert mapping.get_by_label("住址").input_value() == "户籍地址"
    mapping.get_by_label("住址").select_option("")  # the clerk ignores this column explicitly
    screenshot("import-near-matches", of=page)
    with page.expect_navigation():
        mapping.locator("button[type=submit]").click()

    page.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=60_000)
    assert page.locator("[data-testid=job-status]").inner_text() == "已完成"
    assert page.locator("[data-testid=kept-items]").inner_text() == "未包含的数据项，保留原值：户籍地址、联系电话"
    screenshot("import-kept-items", of=page)
    job = IngestJob.objects.order_by("-pk").first()
    assert (job.updated_rows, job.kept_items) == (1, ["户籍地址", "联系电话"])
    stored = record_values(record_get(dataset=job.dataset, key=keys[0]), decrypt=True)
    assert (stored["姓名"], stored["户籍地址"], stored["联系电话"], stored["家庭人口"]) == (
        "张叁", "河南省焦作市解放区民主路12号", "13800000000", "4")


def test_clerk_builds_a_theme_and_sees_its_rows_when_the_build_ends(live_server, signed_in, screenshot,
                                                                    person_dataset, person_records, staff, other_dept,
                                                                    other_staff):
    marriage = make_dataset(other_dept, name="婚姻登记信息", items=[
        ("身份证号码", "C", True, False), ("婚姻状况", "C", False, True), ("配偶姓名", "C", False, False)])
    load(marriage, [{"身份证号码": id_number(1), "婚姻状况": "已婚", "配偶姓名": "王芳"},
                    {"身份证号码": id_number(3), "婚姻状况": "未婚"}], actor=other_staff)
    page = signed_in(staff.username)

    page.goto(live_server.url + reverse("aggregation:theme-create"))
    page.fill("input[name=name]", "婚育服务")
    page.select_option("select[name=key_kind]", "id_number")
    page.check(f"input[name=columns][value='{person_dataset.pk}:姓名']")
    page.check(f"input[name=columns][value='{marriage.pk}:婚姻状况']")  # another department's unconditional data
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert "尚未生成数据" in page.locator("table").inner_text()

    with page.expect_navigation():
        page.get_by_role("button", name="生成").click()
    assert "尚未生成数据" in page.locator("table").inner_text()  # queued: no worker is running yet
    # The page polls the job; the worker starts now, and when the build ends the page reloads itself once and shows
    # the rows — no reload by the clerk.
    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING"):
        page.wait_for_selector("[data-testid=theme-data-row]", timeout=60_000)
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "reload"
    rows = page.locator("[data-testid=theme-data-row]")
    assert rows.count() == 3  # any source: 2 people, one of them married, plus a married person not in the first
    table = page.locator("table").inner_text()
    assert "张三" in table and "已婚" in table and "未婚" in table
    assert "已完成" in page.locator("[data-testid=theme-job]").inner_text()
    assert "主体数 3" in page.locator("p.text-muted.small").first.inner_text()
    screenshot("theme-built", of=page)


def test_verification_case_filed_extended_by_the_head_and_answered(live_server, signed_in, screenshot, person_dataset,
                                                                   person_record, staff, head, other_staff, tmp_path,
                                                                   settings):
    settings.MEDIA_ROOT = tmp_path / "media"

    # The consuming department's clerk disputes a name, with a scanned certificate as evidence.
    evidence = tmp_path / "户籍证明.png"
    evidence.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    consumer = signed_in(other_staff.username)
    consumer.goto(live_server.url + reverse("aggregation:record-detail", args=[person_dataset.pk, person_record.id]))
    with consumer.expect_navigation():
        consumer.get_by_role("link", name="发起数据校核").click()
    consumer.get_by_label("姓名").check()
    consumer.get_by_label("疑义或错误说明").fill("姓名应为“张三丰”，见户籍证明")
    consumer.get_by_label("证明材料").set_input_files(str(evidence))
    with consumer.expect_navigation():
        consumer.get_by_role("button", name="提交").click()
    case_url = consumer.url
    assert "户籍证明.png" in consumer.content()
    consumer.goto(live_server.url + reverse("aggregation:record-detail", args=[person_dataset.pk, person_record.id]))
    assert consumer.locator("[data-testid=under-verification]").is_visible()  # R14.4: every reader sees it

    # The provider asks for 5 more working days; its head approves.
    provider = signed_in(staff.username)
    provider.goto(case_url)
    provider.get_by_label("延长工作日数").fill("5")
    provider.get_by_label("延期理由").fill("需调取纸质档案核对")
    with provider.expect_navigation():
        provider.get_by_role("button", name="提交延期申请").click()
    chief = signed_in(head.username)
    chief.goto(case_url)
    chief.get_by_label("同意延期").check()
    chief.get_by_label("意见", exact=True).fill("同意")
    with chief.expect_navigation():
        chief.get_by_role("button", name="提交审批意见").click()
    assert "同意" in chief.locator("body").inner_text()

    # The provider checks the archive and answers: the data is correct.
    provider.goto(case_url)
    provider.get_by_label("核实情况说明").fill("经核对纸质户籍档案，姓名登记无误")
    with provider.expect_navigation():
        provider.get_by_role("button", name="确认无误并办结").click()
    screenshot("verification-answered", of=provider)
    body = provider.locator("body").inner_text()
    assert "经核对纸质户籍档案，姓名登记无误" in body
    consumer.goto(live_server.url + reverse("aggregation:record-detail", args=[person_dataset.pk, person_record.id]))
    assert consumer.locator("[data-testid=under-verification]").count() == 0


def test_bureau_reads_the_quality_report_with_its_chart(live_server, signed_in, screenshot, person_dataset,
                                                        person_records, reviewer, other_dept, other_staff):
    from aggregation.services import quality

    marriage = make_dataset(other_dept, name="婚姻登记信息", items=[
        ("身份证号码", "C", True, False), ("婚姻状况", "C", False, True)])
    load(marriage, [{"身份证号码": id_number(1), "婚姻状况": "已婚"}, {"身份证号码": id_number(2)}], actor=other_staff)
    for dataset in (person_dataset, marriage):
        quality.quality_compute(dataset=dataset)
    page = signed_in(reviewer.username)
    page.goto(live_server.url + reverse("aggregation:quality-report"))
    assert page.locator("[data-testid=quality-row]").count() == 2
    # The chart library is served from the portal itself (closed network) and draws one bar group per department.
    assert page.evaluate("Chart.getChart('quality-chart').data.labels.length") == 2
    with page.expect_navigation():  # choosing a department filters at once
        page.get_by_label("部门", exact=True).select_option(label=other_dept.name)
    assert page.locator("[data-testid=quality-row]").count() == 1
    assert "婚姻登记信息" in page.locator("[data-testid=quality-row]").inner_text()
    # The bars are the table's figures: completeness 75 % (one of two 婚姻状况 empty), validity 100 %, on time.
    assert page.evaluate("Chart.getChart('quality-chart').data.datasets.map(d => d.data)") == [[75], [100], [100]]
    page.wait_for_timeout(1500)  # the bars grow in (Chart.js animation) before the picture is taken
    screenshot("quality-report", of=page)
