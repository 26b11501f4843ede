"""Base databases (R13.2): per-subject views merged from the authoritative sources, masked, audited."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aggregation.selectors import basedb
from aggregation.services.basedb import subject_view
from portal.errors import PortalError
from tests.aggregation.builders import credit_code, id_number, load, make_dataset
from tests.api_params import BAD_PATH_TEXTS, assert_invalid, path_segment


@pytest.fixture
def marriage(other_dept, other_staff, person_records):
    """市民政局's marriage registrations: a second authoritative source keyed by ID number."""
    dataset = make_dataset(other_dept, name="婚姻登记信息", items=[
        ("身份证号码", "C", True, False), ("婚姻状况", "C", False, True), ("登记机关", "C", False, False),
    ])
    load(dataset, [{"身份证号码": id_number(1), "婚姻状况": "已婚", "登记机关": "解放区民政局"}], actor=other_staff)
    return dataset


def test_population_view_merges_sources_with_source_and_time(
    marriage, person_dataset, other_staff, reviewer, audit_log
):
    view = subject_view(actor=other_staff, kind="population", key=id_number(1).lower() + " ")
    assert view.found
    values = {v.item: v for v in view.values}
    assert set(values) == {"姓名", "性别", "户籍地址", "婚姻状况"}  # base items only, key not repeated
    assert values["姓名"].value == "张*" and values["姓名"].masked  # another department: masked
    assert values["户籍地址"].value.startswith("焦作市") and "*" in values["户籍地址"].value
    assert values["婚姻状况"].value == "已婚" and values["婚姻状况"].source == marriage.department.name
    assert values["性别"].source == person_dataset.department.name and values["性别"].updated_at is not None
    assert view.key_display == id_number(1)  # other_staff's department provides this subject's marriage data
    bureau_view = subject_view(actor=reviewer, kind="population", key=id_number(1))
    assert bureau_view.key_display == id_number(1)[:6] + "*" * 8 + id_number(1)[-4:]
    assert {v.item: v.value for v in bureau_view.values}["姓名"] == "张*"
    event = audit_log("aggregation.subject.viewed")[0]
    assert event.data["key"] == view.key_hash_hex and id_number(1) not in str(event.data)
    assert event.object_id == "population"


def test_provider_staff_sees_own_values_in_full(person_records, staff):
    view = subject_view(actor=staff, kind="population", key=id_number(1))
    values = {v.item: v.value for v in view.values}
    assert values["姓名"] == "张三" and view.key_display == id_number(1)


def test_invalid_and_unknown_keys(person_records, other_staff, audit_log):
    with pytest.raises(PortalError):
        subject_view(actor=other_staff, kind="population", key="410802199001010011")
    view = subject_view(actor=other_staff, kind="population", key=id_number(77))
    assert not view.found and view.values == []
    assert audit_log("aggregation.subject.viewed")[-1].data["found"] is False


def test_legal_person_geo_and_licence_definitions(dept, other_staff, staff):
    legal = make_dataset(dept, name="企业登记信息", classification="102", items=[
        ("统一社会信用代码", "C", True, True), ("企业名称", "C", False, True), ("法定代表人", "C", False, True),
    ])
    load(legal, [{"统一社会信用代码": credit_code(1), "企业名称": "焦作某某有限公司", "法定代表人": "王大锤"}],
         actor=staff)
    licence = make_dataset(dept, name="电子证照目录", classification="105", items=[
        ("证照编号", "C", True, True), ("证照名称", "C", False, True), ("持证主体", "C", False, True),
    ])
    load(licence, [{"证照编号": "JZ-2026-0001", "证照名称": "食品经营许可证", "持证主体": "焦作某某有限公司"}],
         actor=staff)
    view = subject_view(actor=other_staff, kind="legal_person", key=credit_code(1))
    values = {v.item: v.value for v in view.values}
    assert values == {"企业名称": "焦作某某有限公司", "法定代表人": "王*锤"}
    assert view.key_display == credit_code(1)  # a credit code is public registration data
    assert list(basedb.contributing_datasets(basedb.BASE_DATABASES["licence"])) == [licence]
    assert list(basedb.contributing_datasets(basedb.BASE_DATABASES["geo"])) == []
    licence_view = subject_view(actor=other_staff, kind="licence", key="jz-2026-0001")
    assert {v.item for v in licence_view.values} == {"证照名称", "持证主体"}


def test_subject_page_and_api(marriage, other_staff, web_as, api_as):
    page = web_as(other_staff).post(reverse("aggregation:subject-lookup", args=["population"]), {"key": id_number(1)})
    body = page.content.decode()
    assert page.status_code == 200 and "张*" in body and "已婚" in body and "张三" not in body
    answer = api_as(other_staff).get(reverse("aggregation-subject", args=["population", id_number(1)])).json()
    assert answer["found"] and {v["item"] for v in answer["values"]} >= {"姓名", "婚姻状况"}
    assert answer["under_verification"] is False
    bad = api_as(other_staff).get(reverse("aggregation-subject", args=["population", "123"]))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert api_as(other_staff).get(reverse("aggregation-subject", args=["nope", "x"])).status_code == 404


@pytest.mark.parametrize("bad", BAD_PATH_TEXTS)
def test_the_api_refuses_a_bad_key_in_the_path_before_any_lookup(person_records, other_staff, api_as, audit_log, bad):
    with CaptureQueriesContext(connection) as queries:
        response = api_as(other_staff).get(f"/api/v1/aggregation/subjects/population/{path_segment(bad)}/")
    assert_invalid(response, "key")
    assert not any("aggregation_record" in q["sql"] or '"pool".' in q["sql"] for q in queries)
    assert not audit_log("aggregation.subject.viewed")
