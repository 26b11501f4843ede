"""Catalog pages: the permission matrix over every page, the filing and review workflow through the forms,
constant query counts of the lists."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.choices import EntryState
from catalog.models import CatalogEntry, Classification
from catalog.services.demands import demand_item_save, demand_item_submit
from catalog.services.entries import catalog_entry_save, catalog_entry_sign_off, catalog_entry_submit
from catalog.services.update_cases import update_case_open
from tests.catalog.helpers import entry_items, entry_values
from tests.permissions import LOGIN, Row, check_matrix
from tests.support import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


@pytest.fixture
def world(make_entry, approved_entry, county_staff, matrix_people):
    """A city department's draft, a county department's draft, a published entry, and the people."""
    published = approved_entry(name="户籍人口基本信息")
    draft = make_entry(name="城市部门草稿")
    county_draft = catalog_entry_save(
        actor=county_staff,
        department=county_staff.department,
        values=entry_values(name="县级部门草稿"),
        items=entry_items(),
    )
    return {"published": published, "draft": draft, "county_draft": county_draft, "users": matrix_people}


ALL_OK = {
    "staff": 200,
    "other_staff": 200,
    "county_own": 200,
    "county_other": 200,
    "reviewer": 200,
    "anonymous": LOGIN,
}


def test_list_pages_open_to_every_signed_in_user(world):
    names = ["index", "master", "review-queue", "demand-list", "responsibility", "update-case-list", "classifications"]
    check_matrix(world["users"], [Row("get", reverse(f"catalog:{name}"), ALL_OK) for name in names])


def test_role_pages(world):
    check_matrix(world["users"], [
        Row("get", reverse("catalog:region"), {**ALL_OK, "staff": 404, "other_staff": 404}),
        Row("get", reverse("catalog:gap-list"),
            {**ALL_OK, "staff": 404, "other_staff": 404, "county_own": 404, "county_other": 404}),
        Row("get", reverse("catalog:entry-create"),
            {**ALL_OK, "county_own": 404, "county_other": 404, "reviewer": 404}),
        Row("get", reverse("catalog:demand-create"),
            {**ALL_OK, "county_own": 404, "county_other": 404, "reviewer": 404}),
    ])


def test_entry_pages(world):
    draft, county_draft, published = world["draft"], world["county_draft"], world["published"]
    check_matrix(world["users"], [
        Row("get", reverse("catalog:entry-detail", args=[draft.pk]),
            {**ALL_OK, "other_staff": 404, "county_own": 404, "county_other": 404}),
        Row("get", reverse("catalog:entry-detail", args=[county_draft.pk]),
            {**ALL_OK, "staff": 404, "other_staff": 404, "county_other": 404}),
        Row("get", reverse("catalog:entry-detail", args=[published.pk]), ALL_OK),
        Row("get", reverse("catalog:entry-diff", args=[published.pk]), ALL_OK),
        Row("get", reverse("catalog:entry-diff", args=[draft.pk]),
            {**ALL_OK, "other_staff": 404, "county_own": 404, "county_other": 404}),
        Row("get", reverse("catalog:entry-edit", args=[draft.pk]),
            {**ALL_OK, "other_staff": 404, "county_own": 404, "county_other": 404, "reviewer": 404}),
        Row("get", reverse("catalog:update-case-open", args=[published.pk]),
            {**ALL_OK, "other_staff": 404, "county_own": 404, "county_other": 404, "reviewer": 404}),
        Row("get", reverse("catalog:entry-detail", args=[999999]), {**dict.fromkeys(ALL_OK, 404), "anonymous": LOGIN}),
    ])


def test_transitions_outside_scope_are_not_found(world):
    draft = world["draft"]
    outside = {"other_staff": 404, "county_own": 404, "county_other": 404, "anonymous": LOGIN}
    check_matrix(world["users"], [
        Row("post", reverse("catalog:entry-transition", args=[draft.pk, action]), outside, body={"comment": "x"})
        for action in ("submit", "delete", "sign_off", "approve", "return", "county_pass")
    ])
    draft.refresh_from_db()
    assert draft.state == EntryState.DRAFT
    # the reviewer sees the draft but is not its department: changing it is not found, a review step forbidden
    check_matrix(world["users"], [
        Row("post", reverse("catalog:entry-transition", args=[draft.pk, "submit"]), {"reviewer": 404}),
        Row("post", reverse("catalog:entry-transition", args=[draft.pk, "sign_off"]), {"reviewer": 403}),
    ])


def _form_data(values=None, items=None, **extra):
    values = values or entry_values()
    items = entry_items() if items is None else items
    data = {
        "classification": values["classification"].pk,
        "name": values["name"],
        "summary": values["summary"],
        "format_class": values["format_class"],
        "format_type": values["format_type"],
        "share_type": values["share_type"],
        "share_condition": values["share_condition"],
        "no_share_basis": values["no_share_basis"],
        "exchange_methods": values["exchange_methods"],
        "open_type": values["open_type"],
        "open_condition": "",
        "update_cycle": values["update_cycle"],
        "related_codes": "",
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    for i, item in enumerate(items):
        for key, value in item.items():
            if isinstance(value, bool):
                if value:
                    data[f"items-{i}-{key}"] = "on"
            elif value is not None:
                data[f"items-{i}-{key}"] = value
    data.update(extra)
    return data


def test_filing_and_review_through_the_pages(client, staff, head, reviewer, bureau):
    sign_in(client, staff)
    items = entry_items("企业名称")
    items.append(
        {
            "name": "",
            "data_type": "C",
            "length": None,
            "is_subject_key": False,
            "is_base_item": False,
            "description": "",
        }
    )  # an added row left empty is ignored
    response = client.post(reverse("catalog:entry-create"), _form_data(items=items))
    entry = CatalogEntry.objects.get()
    assert response.status_code == 302 and response["Location"] == entry.get_absolute_url()
    assert entry.items.count() == 2
    # service errors come back on the fields
    bad = _form_data(values=entry_values(share_type="2"))
    response = client.post(reverse("catalog:entry-edit", args=[entry.pk]), bad)
    assert response.status_code == 200
    assert "有条件共享须说明共享条件" in response.content.decode()
    # edit: remove one row
    data = _form_data(items=entry_items("企业名称", "法定代表人"))
    data["items-1-DELETE"] = "on"
    client.post(reverse("catalog:entry-edit", args=[entry.pk]), data)
    assert sorted(entry.items.values_list("name", flat=True)) == ["法定代表人", "统一社会信用代码"]

    page = client.get(entry.get_absolute_url()).content.decode()
    assert 'data-testid="submit"' in page
    response = client.post(reverse("catalog:entry-transition", args=[entry.pk, "submit"]), follow=True)
    assert "已提交" in response.content.decode()

    sign_in(client, head)
    page = client.get(entry.get_absolute_url()).content.decode()
    assert 'data-testid="sign-off"' in page
    client.post(reverse("catalog:entry-transition", args=[entry.pk, "sign_off"]), {"comment": "同意"})

    sign_in(client, reviewer)
    assert entry.name in client.get(reverse("catalog:review-queue")).content.decode()
    response = client.post(
        reverse("catalog:entry-transition", args=[entry.pk, "approve"]),
        {"share_type": "3", "no_share_basis": "", "comment": ""},
        follow=True,
    )
    assert "不予共享须提供" in response.content.decode()
    response = client.post(
        reverse("catalog:entry-transition", args=[entry.pk, "approve"]),
        {"share_type": "2", "share_condition": "仅限执法使用", "comment": "同意"},
        follow=True,
    )
    entry.refresh_from_db()
    assert entry.state == EntryState.APPROVED and entry.share_type == "2"
    assert "审核通过" in response.content.decode()
    again = client.post(
        reverse("catalog:entry-transition", args=[entry.pk, "approve"]), {"share_type": "2"}, follow=True
    )
    assert "不能重复审核" in again.content.decode()


def test_duplicate_collection_guard(client, approved_entry, other_staff):
    source = approved_entry()
    sign_in(client, other_staff)
    # Two of its three substantive items are the source's (企业名称, 法定代表人): the same data collected again.
    data = _form_data(values=entry_values(name="我的企业信息"), items=entry_items("企业名称", "法定代表人", "经营范围"))
    response = client.post(reverse("catalog:entry-create"), data)
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="duplicates"' in page
    assert source.name in page and "的信息项大量重复（本条目 3 项实质信息项中 2 项）：企业名称、法定代表人" in page
    assert not CatalogEntry.objects.filter(provider=other_staff.department).exists()
    data["confirm_duplicates"] = "True"
    response = client.post(reverse("catalog:entry-create"), data)
    assert "请说明仍需自行采集的理由" in response.content.decode()
    data["duplicate_note"] = "依据《某条例》须独立采集"
    response = client.post(reverse("catalog:entry-create"), data)
    assert response.status_code == 302
    assert CatalogEntry.objects.get(provider=other_staff.department).duplicate_note.startswith("依据")


def test_master_catalog_search(client, approved_entry, staff):
    approved_entry(name="户籍人口基本信息", summary="公安机关登记的常住人口户籍信息")
    approved_entry(name="企业营业执照登记信息")
    sign_in(client, staff)
    page = client.get(reverse("catalog:master"), {"q": "户籍"}).content.decode()
    assert "户籍人口基本信息" in page and "企业营业执照登记信息" not in page
    page = client.get(reverse("catalog:master"), {"q": "营业执照"}).content.decode()
    assert "企业营业执照登记信息" in page and "户籍人口基本信息" not in page
    page = client.get(reverse("catalog:master"), {"q": "法定代表人"}).content.decode()  # a data-item name
    assert page.count('data-testid="entry-row"') == 2


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# Session, user, roles, whether the user enrolled a 2FA device, unread messages; filter options (providers,
# classifications); count and page; the index adds its review-queue count and the catalog clocks.
PINNED = {"index": 13, "master": 12}


def test_list_query_counts_do_not_grow_with_entries(
    client, approved_entry, make_entry, staff, django_assert_num_queries
):
    sign_in(client, staff)
    approved_entry(name="资源0")
    make_entry(name="草稿0")
    assert {name: _queries(client, reverse(f"catalog:{name}")) for name in PINNED} == PINNED
    for i in range(1, 6):
        approved_entry(name=f"资源{i}")
        make_entry(name=f"草稿{i}")
    for name, count in PINNED.items():
        with django_assert_num_queries(count):
            assert client.get(reverse(f"catalog:{name}")).status_code == 200
    with django_assert_num_queries(PINNED["master"]):
        client.get(reverse("catalog:master"), {"q": "资源"})


def test_responsibility_list_and_export(client, approved_entry, staff, other_staff, reviewer):
    entry = approved_entry()
    sign_in(client, staff)
    page = client.get(reverse("catalog:responsibility")).content.decode()
    assert page.count('data-testid="responsibility-row"') == 3
    assert "已编目" in page or "未归集数据" in page  # the latter once the aggregation chapter's pool exists
    response = client.get(reverse("catalog:responsibility-export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[1][1] == entry.code and len(rows) == 4
    # another department's list is out of scope
    sign_in(client, other_staff)
    assert client.get(reverse("catalog:responsibility"), {"department": staff.department_id}).status_code == 404
    sign_in(client, reviewer)
    page = client.get(reverse("catalog:responsibility"), {"department": staff.department_id}).content.decode()
    assert entry.name in page


def test_classification_maintenance(client, reviewer, staff):
    parent = Classification.objects.get(code="303")
    sign_in(client, staff)
    assert (
        client.post(
            reverse("catalog:classifications"), {"parent": parent.pk, "code_part": "001", "name": "公安局"}
        ).status_code
        == 404
    )
    sign_in(client, reviewer)
    response = client.post(
        reverse("catalog:classifications"), {"parent": parent.pk, "code_part": "001", "name": "公安局"}
    )
    assert response.status_code == 302
    node = Classification.objects.get(code="303001")
    assert node.level == 3 and node.resource_class == "3"
    response = client.post(reverse("catalog:classifications"), {"parent": parent.pk, "code_part": "1", "name": "x"})
    assert "3 位数字" in response.content.decode()


def test_demand_and_update_case_pages(world, freeze_today):
    from catalog.models import DemandItem

    staff, other = world["users"]["staff"], world["users"]["other_staff"]
    demand = demand_item_save(
        actor=staff,
        department=staff.department,
        values={"needed_data": "婚姻登记信息", "purpose": "核验", "legal_basis": "职责", "provider": other.department},
    )
    draft_matrix = {**ALL_OK, "other_staff": 404, "county_own": 404, "county_other": 404}
    check_matrix(world["users"], [
        Row("get", reverse("catalog:demand-detail", args=[demand.pk]), draft_matrix),
        Row("get", reverse("catalog:demand-edit", args=[demand.pk]), {**draft_matrix, "reviewer": 404}),
    ])
    demand_item_submit(actor=staff, demand_id=demand.pk)
    # once submitted, the department it is addressed to sees it too
    check_matrix(world["users"], [
        Row("get", reverse("catalog:demand-detail", args=[demand.pk]),
            {**ALL_OK, "county_own": 404, "county_other": 404}),
    ])
    assert DemandItem.objects.get().state == "submitted"

    case = update_case_open(
        actor=staff,
        entry_id=world["published"].pk,
        trigger_kind="law_amended",
        trigger_date=D(2026, 11, 20),
        trigger_document="某条例",
    )
    check_matrix(world["users"], [
        Row("get", reverse("catalog:update-case-detail", args=[case.pk]), draft_matrix),
        Row("get", reverse("catalog:update-case-edit", args=[case.pk]), {**draft_matrix, "reviewer": 404}),
        *(Row("post", reverse("catalog:update-case-transition", args=[case.pk, action]), {"other_staff": 404},
              body={"comment": "x"}, label=action)
          for action in ("submit", "approve", "return", "withdraw")),
        Row("post", reverse("catalog:update-case-transition", args=[case.pk, "submit"]), {"reviewer": 404}),
        Row("get", reverse("catalog:responsibility-export") + f"?department={staff.department_id}",
            {**ALL_OK, "other_staff": 404, "county_own": 404, "county_other": 404}),
    ])


def test_update_case_through_the_pages(client, approved_entry, staff, reviewer, bureau):
    entry = approved_entry()
    sign_in(client, staff)
    response = client.post(
        reverse("catalog:update-case-open", args=[entry.pk]),
        {"trigger_kind": "duties_changed", "trigger_date": "2026-11-20", "trigger_document": "焦编〔2026〕1号"},
    )
    case = entry.update_cases.get()
    assert response["Location"] == case.get_absolute_url()
    page = client.get(case.get_absolute_url()).content.decode()
    assert "目录更新申请" in page and "2026-12-04" in page  # 10 working days after 11-20
    data = _form_data(values=entry_values(update_cycle="monthly"), items=entry_items("企业名称", "注册资本"))
    response = client.post(reverse("catalog:update-case-edit", args=[case.pk]), data)
    assert response.status_code == 302
    page = client.get(case.get_absolute_url()).content.decode()
    assert "注册资本" in page and "每月" in page
    client.post(reverse("catalog:update-case-transition", args=[case.pk, "submit"]))
    sign_in(client, reviewer)
    page = client.get(case.get_absolute_url()).content.decode()
    assert 'data-testid="approve"' in page
    response = client.post(
        reverse("catalog:update-case-transition", args=[case.pk, "approve"]), {"comment": ""}, follow=True
    )
    assert "目录和责任清单已同步更新" in response.content.decode()
    entry.refresh_from_db()
    assert entry.version == 2 and entry.update_cycle == "monthly"
    page = client.get(reverse("catalog:entry-diff", args=[entry.pk])).content.decode()
    assert "注册资本" in page and "法定代表人" in page


def test_county_bureau_region_summary_and_pre_review_page(
    client, county_staff, county_head, county_bureau_user, bureau, reviewer
):
    entry = catalog_entry_save(
        actor=county_staff, department=county_staff.department, values=entry_values(), items=entry_items()
    )
    catalog_entry_submit(actor=county_staff, entry_id=entry.pk)
    catalog_entry_sign_off(actor=county_head, entry_id=entry.pk)
    sign_in(client, county_bureau_user)
    page = client.get(reverse("catalog:region")).content.decode()
    assert county_staff.department.name in page
    assert entry.name in client.get(reverse("catalog:review-queue")).content.decode()
    assert 'data-testid="county-pass"' in client.get(entry.get_absolute_url()).content.decode()
    client.post(reverse("catalog:entry-transition", args=[entry.pk, "county_pass"]), {"comment": "初审通过"})
    entry.refresh_from_db()
    assert entry.state == EntryState.BUREAU_REVIEW
