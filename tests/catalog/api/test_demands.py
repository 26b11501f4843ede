"""/api/v1/catalog/demands/ (R8.1): the list restricted to the caller, draft lines, submit, matches with reasons, and
the Excel import / export / template."""

import io

import pytest
from openpyxl import load_workbook

from catalog.choices import DemandState
from catalog.excel.demands import DEMAND_SHEET
from catalog.excel.exports import XLSX_CONTENT_TYPE
from catalog.models import DemandItem
from catalog.services.demands import demand_item_save, demand_item_submit
from tests.catalog.helpers import demand_line as line
from tests.catalog.helpers import demand_workbook as build
from tests.catalog.helpers import entry_items
from tests.catalog.helpers import formulas_in_demand_sheet as _formula
from tests.permissions import Row, check_matrix

pytestmark = pytest.mark.django_db

URL = "/api/v1/catalog/demands/"
BODY = {
    "needed_data": "户籍人口信息",
    "item_names": ["公民身份号码", "姓名", "婚姻状况"],
    "purpose": "办理社会救助时核验",
    "legal_basis": "《社会救助暂行办法》",
}


def _demand(user, **values):
    return demand_item_save(actor=user, department=user.department, values=BODY | {"provider": None} | values)


def test_list_is_restricted_to_the_caller(api_as, staff, other_staff, reviewer, county_bureau_user):
    own = _demand(staff)
    theirs = _demand(other_staff, needed_data="社会组织登记信息", provider=staff.department)
    demand_item_submit(actor=other_staff, demand_id=theirs.pk)

    def ids(user, query=""):
        response = api_as(user).get(URL + query)
        assert response.status_code == 200, response.json()
        return {d["id"] for d in response.json()["results"]}

    assert ids(staff) == {own.pk, theirs.pk}  # its own, and the one addressed to it once submitted
    assert ids(staff, "?side=own") == {own.pk}
    assert ids(staff, "?side=addressed") == {theirs.pk}
    assert ids(other_staff) == {theirs.pk}
    assert ids(reviewer, "?state=submitted") == {theirs.pk}
    assert ids(county_bureau_user) == set()  # city departments are outside a county's region
    assert api_as(staff).get(URL + "?state=nonsense").json()["code"] == "invalid"
    assert api_as(staff).get(URL + "?sate=draft").json()["code"] == "invalid"


def test_create_update_submit(api_as, staff, other_dept, audit_log):
    client = api_as(staff)
    response = client.post(URL, BODY | {"provider": other_dept.pk}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["state"] == "draft" and data["provider"] == other_dept.pk and data["department"] == staff.department_id
    assert audit_log("catalog.demand.created")
    detail = f"{URL}{data['id']}/"
    response = client.patch(detail, {"purpose": "改了用途"}, format="json")
    assert response.status_code == 200 and response.json()["purpose"] == "改了用途"
    assert response.json()["item_names"] == BODY["item_names"]  # untouched fields keep their values
    response = client.post(detail + "submit/")
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    assert audit_log("catalog.demand.submitted")
    refused = client.patch(detail, {"purpose": "再改"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "not_editable"
    assert client.post(detail + "submit/").status_code == 409


def test_bad_bodies(api_as, staff):
    client = api_as(staff)
    response = client.post(URL, {**BODY, "purpose": ""}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = client.post(URL, BODY | {"provider": staff.department_id}, format="json")
    assert response.status_code == 400 and "provider" in response.json()["errors"]
    assert client.post(URL, BODY | {"provider": 99999999}, format="json").status_code == 400
    assert DemandItem.objects.count() == 0


def test_write_permissions(api_as, staff, other_staff, reviewer):
    own = _demand(staff)
    assert api_as(reviewer).post(URL, BODY, format="json").status_code == 403
    assert api_as(other_staff).patch(f"{URL}{own.pk}/", {"purpose": "x"}, format="json").status_code == 404
    assert api_as(other_staff).post(f"{URL}{own.pk}/submit/").status_code == 404
    assert api_as(other_staff).get(f"{URL}{own.pk}/matches/").status_code == 404


def test_matches_with_reasons(api_as, approved_entry, other_staff):
    source = approved_entry(name="户籍人口基本信息", items=entry_items("公民身份号码", "姓名"))
    demand = _demand(other_staff)
    response = api_as(other_staff).get(f"{URL}{demand.pk}/matches/")
    assert response.status_code == 200
    assert response.json()["demand"] == demand.pk
    [match] = response.json()["matches"]
    assert match["entry"]["id"] == source.pk and match["entry"]["provider"] == source.provider.name
    assert match["common_items"] == ["公民身份号码", "姓名"]
    assert any("公民身份号码、姓名" in r for r in match["reasons"]) and any("婚姻状况" in r for r in match["reasons"])


def _upload(client, data, name="需求清单.xlsx"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(URL + "import/", {"file": upload}, format="multipart")


def test_import_creates_lines(api_as, staff, other_dept, audit_log):
    response = _upload(api_as(staff), build([line(提供部门=other_dept.name), line(所需数据="社会组织登记信息")]))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["created"], data["updated"], data["unchanged"]) == (2, 0, 0)
    assert [d["needed_data"] for d in data["demands"]] == ["企业营业执照信息", "社会组织登记信息"]
    assert {d["state"] for d in data["demands"]} == {DemandState.DRAFT}
    assert audit_log("catalog.demand.imported")


def test_import_refusal_lists_the_problems_per_row(api_as, staff):
    response = _upload(api_as(staff), build([line(), line(所需数据="第二项", 用途=None)], _formula))
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid_file" and "未导入任何数据" in data["detail"]
    cells = {(p["row"], p["column"]) for p in data["problems"]}
    assert {(2, "D"), (3, "A"), (3, "D")} <= cells
    assert DemandItem.objects.count() == 0


def test_import_refuses_a_non_workbook_and_a_missing_file(api_as, staff, reviewer):
    response = _upload(api_as(staff), b"not a workbook", name="a.xlsx")
    assert response.status_code == 400 and response.json()["problems"][0]["sheet"] == "文件"
    assert api_as(staff).post(URL + "import/", {}, format="multipart").json()["code"] == "invalid"
    assert _upload(api_as(reviewer), build([line()])).status_code == 403


def test_export_and_template(api_as, staff, other_staff, audit_log):
    own = _demand(staff)
    _demand(other_staff, needed_data="别的部门的需求")
    response = api_as(staff).get(URL + "export/")
    assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(wb[DEMAND_SHEET].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [own.pk]
    assert audit_log("catalog.demand.exported")
    assert api_as(staff).get(URL + "export/?state=nonsense").json()["code"] == "invalid"
    assert api_as(staff).get(URL + "export/?sate=draft").json()["code"] == "invalid"
    response = api_as(staff).get(URL + "template/")
    assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE


def test_anonymous_is_refused(staff):
    own = _demand(staff)
    check_matrix(
        {"anonymous": None},
        [
            Row("get", URL, {"anonymous": 401}),
            Row("get", f"{URL}{own.pk}/", {"anonymous": 401}),
            Row("get", URL + "template/", {"anonymous": 401}),
        ],
        api=True,
    )
