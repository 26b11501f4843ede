"""POST /api/v1/data/{resource}/records/ — provider push (SPEC §9.2)."""

import pytest

from aggregation.models import Dataset
from aggregation.storage import reading
from portal.choices import Role
from tests.aggregation.builders import ids, table_rows
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def url(entry) -> str:
    return f"/api/v1/data/{entry.resource_key}/records/"


def test_provider_staff_push_upserts_and_reports_rejections(staff, people_entry, api_as, audit_log):
    a, b = ids(2)
    rows = [{"公民身份号码": a, "姓名": "张三"}, {"公民身份号码": b, "出生日期": "1990-13-01"},
            {"公民身份号码": a[:17] + "0" if a[17] != "0" else a[:17] + "1"}]
    response = api_as(staff).post(url(people_entry), rows, format="json", HTTP_X_PURPOSE="日常同步")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body | {"errors": None} == {"received": 3, "accepted": 1, "rejected": 2, "inserted": 1, "updated": 0,
                                        "unchanged": 0, "errors": None}
    assert [(e["row"], e["item"]) for e in body["errors"]] == [(2, "出生日期"), (3, "公民身份号码")]
    assert "*" in body["errors"][1]["value"] and body["errors"][1]["reason"].startswith("身份证号校验码错误")
    assert table_rows() == 1
    event = audit_log("aggregation.records.pushed")[0]
    assert event.data["inserted"] == 1 and event.data["purpose"] == "日常同步"
    again = api_as(staff).post(url(people_entry), rows[:1], format="json").json()
    assert (again["inserted"], again["unchanged"]) == (0, 1)


def test_push_all_or_nothing_and_bad_bodies(staff, people_entry, api_as):
    client = api_as(staff)
    body = client.post(url(people_entry) + "?mode=all_or_nothing",
                       [{"公民身份号码": ids(1)[0]}, {"公民身份号码": "x"}], format="json").json()
    assert body["inserted"] == 0 and body["rejected"] == 1 and table_rows() == 0
    response = client.post(url(people_entry), {"公民身份号码": ids(1)[0]}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_push_permissions(staff, head, other_staff, reviewer, people_entry, api_as, api_client, dept):
    rows = [{"公民身份号码": ids(1)[0]}]
    assert api_client.post(url(people_entry), rows, format="json").status_code in (401, 403)
    # The entry is published: others see it in the catalog but may not write its data.
    for user in (other_staff, reviewer, head):
        response = api_as(user).post(url(people_entry), rows, format="json")
        assert response.status_code == 403, user
        assert response.json()["code"] == "permission_denied"
    nobody = make_user(department=dept)  # no role: sees nothing
    assert api_as(nobody).post(url(people_entry), rows, format="json").status_code == 404
    response = api_as(staff).post("/api/v1/data/999-NOPE/records/", rows, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert table_rows() == 0


def test_push_to_unpublished_entry_of_another_department_is_404(other_staff, dept, api_as):
    from tests.aggregation.builders import PEOPLE_ITEMS, make_entry

    draft = make_entry(dept, "草稿资源", PEOPLE_ITEMS, state="draft")
    response = api_as(other_staff).post(f"/api/v1/data/{draft.pk}/records/", [{"公民身份号码": ids(1)[0]}],
                                        format="json")
    assert response.status_code == 404


def test_jobs_api_lists_jobs_in_scope(staff, other_staff, people_entry, api_as):
    from tests.aggregation.builders import csv_bytes, person, submit

    job = submit(staff, people_entry, csv_bytes([person(ids(1)[0])]))
    data = api_as(staff).get("/api/v1/aggregation/jobs/").json()
    assert [j["id"] for j in data["results"]] == [job.pk] and data["results"][0]["status"] == "succeeded"
    assert api_as(other_staff).get("/api/v1/aggregation/jobs/").json()["results"] == []
    assert api_as(other_staff).get(f"/api/v1/aggregation/jobs/{job.pk}/").status_code == 404


def test_an_item_a_pushed_row_leaves_out_keeps_its_stored_value_and_null_empties_it(staff, people_entry, api_as):
    """No silent loss (issue 17): a row that leaves out an item does not erase what is stored for it."""
    from aggregation.selectors.pools import record_values

    a, b = ids(2)
    client = api_as(staff)
    full = {"公民身份号码": a, "姓名": "张三", "户籍地址": "河南省焦作市解放区民主路12号", "联系电话": "13812345678"}
    assert client.post(url(people_entry), [full, {"公民身份号码": b, "姓名": "李四"}], format="json").json()[
        "inserted"] == 2
    # Row 1 leaves out 户籍地址 and 联系电话 and changes 姓名; row 2 leaves out everything but its key.
    body = client.post(url(people_entry), [{"公民身份号码": a, "姓名": "张叁"}, {"公民身份号码": b}],
                       format="json").json()
    assert (body["updated"], body["unchanged"]) == (1, 1)
    dataset = Dataset.objects.get(entry=people_entry)
    values = {r.id: record_values(r, decrypt=True) for r in reading.rows(dataset)}
    first = next(v for v in values.values() if v.get("姓名") == "张叁")
    assert first["户籍地址"] == "河南省焦作市解放区民主路12号" and first["联系电话"] == "13812345678"
    assert any(v.get("姓名") == "李四" for v in values.values())
    # An explicit null (or "") empties the item.
    body = client.post(url(people_entry), [{"公民身份号码": a, "联系电话": None, "户籍地址": ""}],
                       format="json").json()
    assert body["updated"] == 1
    emptied = next(record_values(r, decrypt=True) for r in reading.rows(dataset)
                   if record_values(r, decrypt=True).get("姓名") == "张叁")
    assert emptied.get("联系电话") in (None, "") and emptied.get("户籍地址") in (None, "")


__all__ = ["Role"]
