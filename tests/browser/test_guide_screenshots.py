"""The user guide's walk (docs/user-guide.md, issue 19 item 6): on the demo world (`manage.py seed_demo`) each role's
main workflow, page by page, as the guide describes it — the clerk, the department head, the bureau's reviewer, the
assessor and the three administrators, each in a browser session of their own.

Every step asserts what the guide says the page shows, so a documented page that breaks fails this test. With
GUIDE_SCREENSHOTS=1 (`./portal.sh screenshots`) each step also saves the screenshot the guide shows, as
docs/guide/img/<name>.png (the viewport, 1280×800, reduced to a 256-colour palette to keep the files small).
tests/test_user_guide.py checks that the guide and these files name each other.
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from aggregation.demo import write_samples
from catalog.choices import EntryState
from catalog.models import CatalogEntry
from portal.models import User
from sharing.models import SharingRequest
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

GUIDE_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "guide" / "img"
VIEWPORT = {"width": 1280, "height": 800}
# The demo accounts this walk signs in as (portal/demo.py ACCOUNTS).
WALKERS = ("ga_staff", "ga_head", "reviewer", "assessor", "admin", "security", "auditor")


def saving() -> bool:
    return os.environ.get("GUIDE_SCREENSHOTS", "") not in ("", "0")


def shoot(page, name: str, at=None) -> None:
    """Save the viewport as docs/guide/img/<name>.png when screenshots are asked for (GUIDE_SCREENSHOTS=1): the top of
    the page, or the part from the locator `at` on."""
    if not saving():
        return
    from PIL import Image

    # Instant, not Bootstrap's smooth scrolling: the screenshot is taken right after.
    if at is None:
        page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    else:
        at.evaluate("element => element.scrollIntoView({block: 'start', behavior: 'instant'})")
    image = Image.open(io.BytesIO(page.screenshot(type="png"))).convert("RGB")
    GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
    # A palette of 256 colours: a page of text and flat colours looks the same at a third of the size.
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(GUIDE_IMAGES / f"{name}.png", optimize=True)


def main(page) -> str:
    return page.locator("main").inner_text()


def heading(page) -> str:
    return page.locator("main h1").first.inner_text()


@pytest.fixture
def demo_world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO())
    for user in User.objects.filter(username__in=WALKERS):  # the demo accounts, signed in with the tests' password
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


@pytest.fixture
def person(live_server, signed_in):
    def _open(username: str):
        page = signed_in(username)
        page.set_viewport_size(VIEWPORT)
        return page

    return _open


def test_the_user_guide_walk(demo_world, live_server, live_worker, new_page, person, tmp_path):
    url = live_server.url
    started = time.time()

    # 0. Signing in.
    door = new_page()
    door.set_viewport_size(VIEWPORT)
    door.goto(url + reverse("login"))
    assert door.locator("#id_username").is_visible() and door.locator("#id_password").is_visible()
    shoot(door, "login")

    clerk_walk(url, person("ga_staff"), tmp_path)
    head_walk(url, person("ga_head"))
    reviewer_walk(url, person("reviewer"))
    assessor_walk(url, person("assessor"))
    admin_walks(url, person("admin"), person("security"), person("auditor"))

    if saving():  # the whole walk passed: a screenshot it no longer takes must not linger
        for old in GUIDE_IMAGES.glob("*.png"):
            if old.stat().st_mtime < started:
                old.unlink()


def clerk_walk(url: str, clerk, tmp_path: Path) -> None:
    """市公安局's data clerk: the to-do page, the catalog list, a new entry, Excel import, a demand, the resource pool,
    an upload refused for its bad rows and then loaded without them, data verification, the shared catalog and a
    sharing request, the online query."""
    assert heading(clerk) == "我的待办"
    assert "限时办理事项" in main(clerk)
    assert "目录更新申请：户籍人口信息" in clerk.locator("main").inner_text()
    shoot(clerk, "clerk-home")

    with clerk.expect_navigation():
        clerk.locator("#mainnav").get_by_role("link", name="数据目录", exact=True).click()
    assert heading(clerk).startswith("目录清单")
    table = clerk.locator("main table").first.inner_text()
    assert "户籍人口信息" in table and "已发布" in table and "待负责人签发" in table and "已退回" in table
    shoot(clerk, "catalog-list")

    with clerk.expect_navigation():
        clerk.get_by_role("link", name="新增目录条目").click()
    assert heading(clerk) == "新增目录条目"
    for label in ("信息资源分类", "信息资源名称", "信息资源摘要", "共享类型", "更新周期"):
        assert clerk.get_by_label(label).first.is_visible(), label
    assert clerk.get_by_role("button", name="添加信息项").is_visible()
    shoot(clerk, "catalog-entry-form")

    clerk.goto(url + reverse("catalog:excel-import"))
    assert heading(clerk) == "Excel 导入目录清单"
    assert clerk.get_by_role("link", name="下载空白模板").is_visible()
    assert "整个文件都不会导入" in clerk.locator("main").inner_text()
    shoot(clerk, "catalog-excel-import")

    # A demand for data another department already provides: the platform names the source (R17.1).
    clerk.goto(url + reverse("catalog:demand-create"))
    assert heading(clerk) == "新增数据需求"
    form = clerk.locator("[data-testid=demand-form]")
    form.get_by_label("所需数据").fill("城乡低保对象信息")
    form.get_by_label("所需信息项").fill("公民身份号码、姓名、保障类别")
    form.get_by_label("用途").fill("核查涉案人员是否享受低保")
    form.get_by_label("依据").fill("《焦作市政务数据资源管理暂行办法》第八条")
    form.get_by_label("提供部门").select_option(label="焦作市民政局")
    shoot(clerk, "demand-form")
    with clerk.expect_navigation():
        form.get_by_role("button", name="保存").click()
    assert "城乡低保对象信息" in clerk.locator("main").inner_text()
    shoot(clerk, "demand-saved")

    # The resource pool and an upload into it.
    with clerk.expect_navigation():
        clerk.locator("#mainnav").get_by_role("link", name="数据归集", exact=True).click()
    assert heading(clerk) == "部门数据资源池"
    pool = clerk.locator("[data-testid=pool-table]")
    assert "户籍人口信息" in pool.inner_text() and "100000" in pool.inner_text()
    shoot(clerk, "pool")
    with clerk.expect_navigation():
        pool.locator("tr", has_text="户籍人口信息").get_by_role("link", name="上传数据").click()
    assert clerk.locator("[data-testid=upload-form]").is_visible()
    shoot(clerk, "upload")
    # The demo's sample: an Excel-made GBK CSV with some bad rows (a wrong check digit, month 13, a missing key…).
    sample = next(p for p in write_samples(tmp_path) if p.suffix == ".csv")
    clerk.set_input_files("input[type=file]", str(sample))
    with clerk.expect_navigation():
        clerk.click("[data-testid=upload-form] button[type=submit]")
    mapping = clerk.locator("[data-testid=mapping-form]")
    if mapping.count():  # every header is an item name: the mapping comes preselected, the clerk confirms it
        with clerk.expect_navigation():
            mapping.locator("button[type=submit]").click()
    clerk.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=60_000)
    assert clerk.locator("[data-testid=job-status]").inner_text() == "未导入（存在问题行）"
    assert clerk.locator("[data-testid=report-link]").is_visible()
    shoot(clerk, "upload-problems")
    with clerk.expect_navigation():
        clerk.click("[data-testid=rerun-valid]")
    clerk.wait_for_selector("[data-testid=job-progress][data-finished]", timeout=60_000)
    assert clerk.locator("[data-testid=job-status]").inner_text() == "已完成"
    shoot(clerk, "upload-done")

    clerk.goto(url + reverse("aggregation:verification-list"))
    assert heading(clerk) == "数据校核"
    assert "本部门收到的" in main(clerk)
    shoot(clerk, "verification-list")

    # The shared catalog, then a sharing request for 民政's conditional 低保 list.
    with clerk.expect_navigation():
        clerk.locator("#mainnav").get_by_role("link", name="数据共享", exact=True).click()
    assert heading(clerk).startswith("共享目录")
    assert "有条件共享" in clerk.locator("main").inner_text()
    shoot(clerk, "sharing-catalog")
    relief = CatalogEntry.objects.get(name="城乡低保对象信息", provider__short_name="市民政局")
    clerk.goto(url + reverse("sharing:request-new", args=[relief.pk]))
    assert heading(clerk).startswith("申请共享数据")
    clerk.get_by_label("法律政策依据").fill("《焦作市政务数据资源管理暂行办法》第十九条")
    clerk.get_by_label("职责依据").fill("负责户籍管理和治安管理")
    clerk.get_by_label("业务需求").fill("办理户口迁移时核对申请人是否为低保对象")
    clerk.get_by_label("用途", exact=True).select_option("administrative")
    for item in ("公民身份号码", "姓名", "保障类别"):
        clerk.get_by_label(re.compile(f"^{item}")).check()
    clerk.get_by_label("在线查询").check()
    shoot(clerk, "sharing-request-form")
    with clerk.expect_navigation():
        clerk.get_by_role("button", name="提交申请").click()
    assert heading(clerk).startswith("共享申请 #")
    assert "保障类别" in clerk.locator("dl").inner_text()
    shoot(clerk, "sharing-request-detail")

    clerk.goto(url + reverse("sharing:online-query"))
    assert clerk.get_by_label("身份证号 / 统一社会信用代码").is_visible()
    assert clerk.get_by_label("用途说明").is_visible()
    shoot(clerk, "online-query")


def head_walk(url: str, head) -> None:
    """市公安局's head: the entry waiting for sign-off, signed off to the bureau; the staff's resource permissions."""
    assert heading(head) == "我的待办"
    assert "待签发目录" in main(head)
    shoot(head, "head-home")
    with head.expect_navigation():
        head.locator("main").get_by_role("link", name="道路交通违法信息").first.click()
    panel = head.locator("[data-testid=review-panel]")
    assert "部门负责人签发" in panel.inner_text()
    assert panel.locator("[data-testid=sign-off]").is_visible() and panel.locator("[data-testid=return]").is_visible()
    shoot(head, "head-signoff")
    with head.expect_navigation():
        panel.locator("[data-testid=sign-off]").click()
    entry = CatalogEntry.objects.get(name="道路交通违法信息", provider__short_name="市公安局")
    assert entry.state == EntryState.BUREAU_REVIEW

    head.goto(url + reverse("catalog:resource-permissions"))
    assert "户籍人口信息" in head.locator("main").inner_text()
    shoot(head, "head-permissions")


def reviewer_walk(url: str, reviewer) -> None:
    """The bureau's reviewer: the catalog review queue and an entry under review, the sharing review queue and the
    clerk's request approved with its items, the city dashboard."""
    assert heading(reviewer) == "我的待办"
    assert "目录审核：" in reviewer.locator("main").inner_text()
    shoot(reviewer, "reviewer-home")

    reviewer.goto(url + reverse("catalog:review-queue"))
    assert heading(reviewer) == "待我办理的目录"
    queue = reviewer.locator("main table").first
    assert "道路交通违法信息" in queue.inner_text()  # the head's sign-off just now
    shoot(reviewer, "catalog-review-queue")
    with reviewer.expect_navigation():
        queue.get_by_role("link", name="道路交通违法信息").click()
    panel = reviewer.locator("[data-testid=review-panel]")
    assert "市局审核" in panel.inner_text()
    assert panel.locator("[data-testid=approve]").is_visible()
    shoot(reviewer, "catalog-review-entry")

    reviewer.goto(url + reverse("sharing:review-queue"))
    rows = reviewer.locator("tbody tr", has_text="城乡低保对象信息")
    assert rows.count() == 1
    shoot(reviewer, "sharing-review-queue")
    with reviewer.expect_navigation():
        rows.get_by_role("link").first.click()
    form = reviewer.locator("[data-testid=approve-form]")
    form.get_by_label("保障类别").uncheck()
    form.get_by_label("审核意见").fill("户籍迁移核对只需确认是否为低保对象，保障类别不予共享")
    shoot(reviewer, "sharing-review-approve")
    with reviewer.expect_navigation():
        form.get_by_role("button", name="批准").click()
    grant = reviewer.locator("[data-testid=grant]").inner_text()
    assert "姓名" in grant and "保障类别" not in grant
    request = SharingRequest.objects.get(entry__name="城乡低保对象信息")
    assert request.grant is not None

    reviewer.goto(url + reverse("supervision:dashboard"))
    assert reviewer.locator("main h1").count() >= 1
    shoot(reviewer, "dashboard")


def assessor_walk(url: str, assessor) -> None:
    """The assessor: the year's assessments, one assessment with its ranking and the objections, a department's
    scorecard and the adjustment form, rectification orders."""
    assert heading(assessor) == "我的待办"
    assert "待答复的考核异议" in main(assessor)
    shoot(assessor, "assessor-home")

    assessor.goto(url + reverse("supervision:assessment-list"))
    assert "2026 年度全市政务数据资源管理考核（演示）" in assessor.locator("main").inner_text()
    shoot(assessor, "assessment-list")
    with assessor.expect_navigation():
        assessor.locator("main").get_by_role("link", name="2026 年度全市政务数据资源管理考核（演示）").first.click()
    assert "焦作市公安局" in main(assessor)
    shoot(assessor, "assessment-detail", at=assessor.locator("h2", has_text="考核结果").first)
    objections = assessor.locator("[data-testid=objections]")
    assert "两件共享申请系申请方补充材料导致超期" in objections.inner_text()
    assert objections.get_by_role("button", name="答复").first.is_visible()
    shoot(assessor, "assessment-objections", at=assessor.locator("h2", has_text="异议").first)

    # One department's scorecard: its indicators from the platform's evidence, and the adjustment with its reason.
    with assessor.expect_navigation():
        assessor.locator("main table").get_by_role("link", name="焦作市公安局", exact=True).first.click()
    adjust = assessor.locator("[data-testid=adjust-form]")
    assert adjust.locator("[name=reason]").is_visible() and adjust.locator("[name=delta]").is_visible()
    shoot(assessor, "assessment-scorecard")
    shoot(assessor, "assessment-adjust", at=adjust)

    assessor.goto(url + reverse("supervision:order-list"))
    # the demo's orders (their numbers follow the year's counter, which other tests of the run may have moved on)
    assert re.search(r"ZG\d{4}-\d{4}", assessor.locator("main table").inner_text())
    shoot(assessor, "order-list")


def admin_walks(url: str, admin, security, auditor) -> None:
    """三员分立: the system administrator's desk and calendar, the security administrator's desk and roles, the audit
    administrator's trail — each sees their own pages only."""
    nav = [a.inner_text().strip() for a in admin.locator("#mainnav a.nav-link").all()]
    assert "工作日历" in nav and "系统管理" in nav and "审计查询" not in nav and "安全管理" not in nav
    admin.goto(url + reverse("system"))
    assert "不授予角色" in main(admin) and "不查阅审计日志" in main(admin)
    shoot(admin, "admin-system")
    admin.goto(url + reverse("calendar"))
    assert "2027" in admin.locator("main").inner_text()
    shoot(admin, "admin-calendar")
    admin.goto(url + reverse("system-settings"))
    assert "门户公告" in main(admin) and "运维联系方式" in main(admin)
    shoot(admin, "admin-settings")

    nav = [a.inner_text().strip() for a in security.locator("#mainnav a.nav-link").all()]
    assert "安全管理" in nav and "系统管理" not in nav and "审计查询" not in nav
    security.goto(url + reverse("security:index"))
    assert "不创建账户" in main(security) and "接口客户端" in main(security)
    shoot(security, "security-desk")
    security.goto(url + reverse("security:role-list"))
    assert "刘洋" in security.locator("main").inner_text()
    shoot(security, "security-roles")
    security.goto(url + reverse("locks"))
    assert "连续 5 次登录失败即锁定 30 分钟" in main(security)
    shoot(security, "security-locks")

    nav = [a.inner_text().strip() for a in auditor.locator("#mainnav a.nav-link").all()]
    assert "审计查询" in nav and "系统管理" not in nav and "安全管理" not in nav
    assert "审计日志超过一天未完成校验" in main(auditor)
    auditor.goto(url + reverse("security:audit"))
    assert auditor.locator("main table").count() >= 1
    assert "每次查询和导出本身都记入审计日志" in main(auditor) and "立即校验" in main(auditor)
    shoot(auditor, "audit")
