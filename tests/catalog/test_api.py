"""Catalog API (SPEC §9.2): the list and detail, filing and review actions, stable error codes, the matrix."""

import datetime as dt

import pytest

from catalog.choices import EntryState
from catalog.models import CatalogEntry
from tests.catalog.helpers import entry_items
from tests.permissions import Row, check_matrix

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date
BASE = "/api/v1/catalog/entries/"


def payload(**overrides):
    data = {
        "classification": "303",
        "name": "企业营业执照登记信息",
        "summary": "营业执照信息",
        "format_class": "db",
        "format_type": "PostgreSQL",
        "share_type": "1",
        "exchange_methods": ["api"],
        "update_cycle": "daily",
        "items": entry_items(),
    }
    data.update(overrides)
    return data


def test_list_and_detail(api_as, approved_entry, make_entry, other_staff):
    published = approved_entry()
    make_entry(name="草稿")
    client = api_as(other_staff)
    response = client.get(BASE)
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["code"] == published.code and row["resource"] == published.code.replace("/", "-")
    assert row["provider"]["name"] == published.provider.name and row["share_type_label"] == "无条件共享"
    detail = client.get(row["url"]).json()
    assert [i["name"] for i in detail["items"]] == ["统一社会信用代码", "企业名称", "法定代表人"]
    assert detail["interface"]["records"] == f"/api/v1/data/{row['resource']}/records/"
    assert detail["interface"]["subject_key"] == "统一社会信用代码"
    assert detail["interface"]["exchange_methods"][0] == {"method": "api", "label": "数据接口", "guide_mode": "接口"}


def test_filters_and_search(api_as, approved_entry, staff):
    approved_entry(name="户籍人口基本信息", summary="常住人口户籍")
    approved_entry(name="企业营业执照登记信息", share_type="2", share_condition="仅限执法")
    client = api_as(staff)
    names = lambda **q: [r["name"] for r in client.get(BASE, q).json()["results"]]  # noqa: E731
    assert names(search="户籍") == ["户籍人口基本信息"]
    assert names(search="营业执照") == ["企业营业执照登记信息"]
    assert names(sharing_type="2") == ["企业营业执照登记信息"]
    assert names(classification="1") == []
    assert len(names(classification="303", provider=staff.department_id)) == 2


def test_query_count_is_constant(api_as, approved_entry, staff, django_assert_num_queries):
    client = api_as(staff)
    approved_entry(name="资源0")
    for i in range(1, 6):
        approved_entry(name=f"资源{i}")
    # session (read, and the sliding-expiry save: 3), user, roles, whether the user enrolled a 2FA device, and ONE
    # query for the page (entries with provider, region and classification joined; data items are not in the list)
    with django_assert_num_queries(8):
        response = client.get(BASE)
    assert len(response.json()["results"]) == 6


def test_filing_and_review_actions(api_as, staff, head, reviewer, bureau, audit_log):
    response = api_as(staff).post(BASE, payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    resource = body["resource"]
    assert body["state"] == "draft" and body["code"].startswith("303/")
    response = api_as(staff).put(f"{BASE}{resource}/", payload(name="企业营业执照信息"), format="json")
    assert response.status_code == 200 and response.json()["name"] == "企业营业执照信息"
    assert api_as(staff).post(f"{BASE}{resource}/submit/", {}, format="json").json()["state"] == "signoff"
    assert api_as(head).post(f"{BASE}{resource}/sign-off/", {"comment": "同意"}, format="json").json()["state"] == (
        "bureau_review"
    )
    response = api_as(reviewer).post(f"{BASE}{resource}/approve/", {"share_type": "2"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "share_condition" in response.json()["errors"]
    response = api_as(reviewer).post(
        f"{BASE}{resource}/approve/", {"share_type": "2", "share_condition": "仅限执法"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "approved"
    response = api_as(reviewer).post(f"{BASE}{resource}/approve/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_approved"
    versions = api_as(staff).get(f"{BASE}{resource}/versions/").json()
    assert [v["number"] for v in versions] == [1]
    assert len(audit_log("catalog.entry.approved")) == 1


def test_validation_errors_by_field(api_as, staff):
    response = api_as(staff).post(BASE, payload(share_type="3", exchange_methods=[]), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "no_share_basis" in body["errors"]


def test_return_needs_a_comment(api_as, bureau_review_entry, reviewer):
    entry = bureau_review_entry()
    url = f"{BASE}{entry.resource_key}/return/"
    assert api_as(reviewer).post(url, {"comment": ""}, format="json").status_code == 400
    response = api_as(reviewer).post(url, {"comment": "请补充"}, format="json")
    assert response.json()["state"] == "returned"


def test_permission_matrix(make_entry, matrix_people, approved_entry):
    draft = make_entry(name="草稿")
    published = approved_entry(name="已发布")
    people = matrix_people
    everyone = {**dict.fromkeys(people, 200), "anonymous": 401}
    check_matrix(people, [
        Row("get", BASE, everyone),
        Row("get", f"{BASE}{published.resource_key}/", everyone),
        Row("get", f"{BASE}{draft.resource_key}/",
            {"staff": 200, "other_staff": 404, "county_own": 404, "county_other": 404, "reviewer": 200,
             "anonymous": 401}),
        # submitting another department's entry: 404 (the reviewer sees it, but it is not hers to submit either);
        # the staff's own submit (first) goes through
        Row("post", f"{BASE}{draft.resource_key}/submit/",
            {"staff": 200, "other_staff": 404, "county_own": 404, "county_other": 404, "reviewer": 404,
             "anonymous": 401}),
    ], api=True)
    draft.refresh_from_db()
    assert draft.state == EntryState.SIGNOFF  # only the staff's own call went through
    check_matrix(people, [
        Row("post", f"{BASE}{draft.resource_key}/approve/",
            {"staff": 403, "other_staff": 404, "county_own": 404, "county_other": 404, "reviewer": 409,
             "anonymous": 401}),
        Row("get", f"{BASE}no-such-code/", {"staff": 404}),
        Row("post", f"{BASE}{draft.resource_key}/submit/", {"other_staff": 404},
            also=lambda who, response: _assert_code(response, "not_found")),
    ], api=True)


def _assert_code(response, code):
    assert response.json()["code"] == code, response.json()


def test_county_flow_over_the_api(
    api_as, county_staff, county_head, county_bureau_user, other_county_bureau_user, reviewer, bureau
):
    response = api_as(county_staff).post(BASE, payload(), format="json")
    resource = response.json()["resource"]
    api_as(county_staff).post(f"{BASE}{resource}/submit/", {}, format="json")
    assert api_as(county_head).post(f"{BASE}{resource}/sign-off/", {}, format="json").json()["state"] == (
        "county_review"
    )
    assert api_as(other_county_bureau_user).post(f"{BASE}{resource}/county-pass/", {}, format="json").status_code == 404
    assert api_as(county_bureau_user).post(f"{BASE}{resource}/county-pass/", {}, format="json").json()["state"] == (
        "bureau_review"
    )
    assert api_as(reviewer).post(f"{BASE}{resource}/approve/", {}, format="json").json()["state"] == "approved"
    assert CatalogEntry.objects.get().version == 1


def test_update_case_api(api_as, approved_entry, staff, reviewer):
    entry = approved_entry()
    response = api_as(staff).post(
        "/api/v1/catalog/update-cases/",
        {
            "entry": entry.resource_key,
            "trigger_kind": "duties_changed",
            "trigger_date": "2026-11-20",
            "trigger_document": "焦编〔2026〕1号",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    case_id = response.json()["id"]
    proposal = {k: v for k, v in payload(update_cycle="monthly").items() if k != "classification"}
    assert (
        api_as(staff).post(f"/api/v1/catalog/update-cases/{case_id}/proposal/", proposal, format="json").status_code
        == 200
    )
    assert api_as(staff).post(f"/api/v1/catalog/update-cases/{case_id}/submit/").json()["state"] == "submitted"
    assert (
        api_as(reviewer).post(f"/api/v1/catalog/update-cases/{case_id}/approve/", {}, format="json").json()["state"]
        == "approved"
    )
    entry.refresh_from_db()
    assert entry.update_cycle == "monthly" and entry.version == 2


def test_openapi_documents_the_actions(api_as, reviewer):
    schema = api_as(reviewer).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for suffix in ("submit", "sign-off", "county-pass", "return", "approve", "versions"):
        assert f"/api/v1/catalog/entries/{{resource}}/{suffix}/" in paths
    assert "/api/v1/catalog/update-cases/{id}/approve/" in paths


def test_update_case_api_scope(api_as, api_client, approved_entry, staff, other_staff, reviewer):
    entry = approved_entry()
    body = {
        "entry": entry.resource_key,
        "trigger_kind": "law_amended",
        "trigger_date": "2026-11-20",
        "trigger_document": "某条例",
    }
    assert api_as(other_staff).post("/api/v1/catalog/update-cases/", body, format="json").status_code == 404
    assert api_client.post("/api/v1/catalog/update-cases/", body, format="json").status_code == 401
    case_id = api_as(staff).post("/api/v1/catalog/update-cases/", body, format="json").json()["id"]
    url = f"/api/v1/catalog/update-cases/{case_id}/"
    assert api_as(other_staff).get(url).status_code == 404
    assert api_as(reviewer).get(url).status_code == 200
    assert api_as(other_staff).post(f"{url}submit/").status_code == 404
    assert api_as(reviewer).post(f"{url}approve/", {}, format="json").json()["code"] == "invalid_state"
    assert [c["id"] for c in api_as(other_staff).get("/api/v1/catalog/update-cases/").json()["results"]] == []
