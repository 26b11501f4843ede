"""Chapter 4 in the browser, three people in their own sessions: a consuming department's clerk requests a
conditional resource for online query, the bureau reviewer approves it with fewer items, and the clerk then looks a
citizen up at the counter and sees exactly the granted items (base items masked, the refused item absent)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.choices import ShareType
from portal.choices import Role
from sharing.models import Grant
from tests.aggregation.builders import ids
from tests.factories import make_user
from tests.sharing.helpers import PEOPLE, PHONE, load, published_entry, rows_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_request_review_and_counter_query(live_server, signed_in, screenshot, bureau, reviewer, dept, staff,
                                          other_dept, other_staff):
    entry = published_entry(dept, items=PEOPLE, name="户籍人口信息", share_type=ShareType.CONDITIONAL,
                            methods=("api", "query"))
    keys = ids(2, start=700)
    load(entry, staff, rows_for(keys))
    make_user(Role.DEPT_STAFF, department=bureau, username="bureau_clerk")  # the bureau has staff of its own

    # 1. The consumer's clerk files the request.
    clerk = signed_in(other_staff.username)
    clerk.goto(live_server.url + reverse("sharing:request-new", args=[entry.pk]))
    clerk.get_by_label("法律政策依据").fill("《焦作市政务数据资源管理暂行办法》第十九条")
    clerk.get_by_label("职责依据").fill("负责最低生活保障审核")
    clerk.get_by_label("业务需求").fill("窗口办理低保时核对申请人联系方式和户籍地址")
    clerk.get_by_label("用途", exact=True).select_option("administrative")
    clerk.get_by_label("联系电话（").check()
    clerk.get_by_label("户籍地址（").check()
    clerk.get_by_label("在线查询").check()
    # The period comes prefilled (today to a year on): the date pickers must show it, or the browser blocks the form.
    assert clerk.get_by_label("使用期限起").input_value() == timezone.localdate().isoformat()
    with clerk.expect_navigation():
        clerk.get_by_role("button", name="提交申请").click()
    details = clerk.locator("dl").inner_text()
    assert "联系电话、户籍地址" in details and "在线查询" in details and "query" not in details
    request_url = clerk.url

    # 2. The bureau's reviewer finds it in the queue and approves the phone number only.
    reviewer_page = signed_in(reviewer.username)
    reviewer_page.goto(live_server.url + reverse("sharing:review-queue"))
    reviewer_page.locator("tbody tr", has_text=entry.name).get_by_role("link").click()
    reviewer_page.wait_for_url(request_url)
    form = reviewer_page.locator("[data-testid=approve-form]")
    form.get_by_label("户籍地址").uncheck()
    form.get_by_label("审核意见").fill("户籍地址不属于低保核对所需，不予共享")
    with reviewer_page.expect_navigation():
        form.get_by_role("button", name="批准").click()
    assert "联系电话" in reviewer_page.locator("[data-testid=grant]").inner_text()
    assert "户籍地址" not in reviewer_page.locator("[data-testid=grant]").inner_text()
    grant = Grant.objects.get(entry=entry)
    assert (grant.consumer, grant.items, grant.methods) == (other_dept, ["联系电话"], ["query"])

    # 3. At the counter: the citizen's ID number and the purpose, nothing asked of the citizen that the platform has.
    clerk.goto(live_server.url + reverse("sharing:online-query"))
    clerk.get_by_label("身份证号 / 统一社会信用代码").fill(keys[1].lower())
    clerk.get_by_label("用途", exact=True).select_option("administrative")
    clerk.get_by_label("用途说明").fill("办理低保")
    with clerk.expect_navigation():
        clerk.get_by_role("button", name="查询").click()
    answer = clerk.locator(f"#answer-{entry.pk}")
    text = answer.inner_text()
    assert PHONE in text and f"授权 #{grant.pk}" in text
    assert "焦作市解放区民主路1号" not in text  # the item the reviewer took out
    assert "张*" in text and "已脱敏" in text  # the base items, masked
    assert keys[1] not in text
    screenshot("online-query", of=clerk)
