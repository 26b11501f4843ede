"""The per-resource OpenAPI 3 document of the 接口说明 page (R20, sharing.openapi): a valid OpenAPI 3.0 document whose
`Record` types the resource's items, and real answers of the data API for that resource fit it."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.validation import validate_schema

from aggregation.services import pools as agg
from catalog.choices import ShareType
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, get, load, pull_all, url
from tests.support import json_schema

pytestmark = pytest.mark.django_db

TYPED = [*PEOPLE, ("登记日期", "D", False, False), ("登记时间", "T", False, False), ("月收入", "N", False, False),
         ("子女数", "I", False, False), ("是否户主", "L", False, False)]


def _rows(keys):
    # As a clerk writes them: the push cleans them into the stored text (ISO date, plain decimal, true/false …).
    return [{"公民身份号码": k, "姓名": f"张{n}明", "性别": "男", "联系电话": "13903910000", "户籍地址": "焦作市",
             "登记日期": "2024/1/3", "登记时间": "2024年1月31日 8:30", "月收入": "1,234.50", "子女数": "2",
             "是否户主": "是"} for n, k in enumerate(keys)] + [
        {"公民身份号码": ids(1, start=990)[0], "登记日期": "", "登记时间": None, "月收入": "-0.5", "子女数": "",
         "是否户主": "否"}]


def validator(document, name):
    root = {"$ref": f"#/components/schemas/{name}", "components": json_schema(document["components"])}
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@pytest.fixture
def typed(make_entry, staff):
    entry = make_entry(items=TYPED, name="户籍人口（带类型）", share_type=ShareType.CONDITIONAL,
                       methods=("api", "query", "download"))
    keys = ids(3, start=700)
    load(entry, staff, _rows(keys))
    return entry, keys


def _document(client, entry):
    response = client.get(reverse("sharing:interface-openapi", args=[entry.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{entry.resource_key}-openapi.json"'
    return json.loads(response.content)


def test_the_document_is_valid_openapi_and_types_the_items(typed, other_staff, web_as, make_entry):
    entry, _keys = typed
    page = web_as(other_staff).get(reverse("sharing:interface-spec", args=[entry.pk])).content.decode()
    assert reverse("sharing:interface-openapi", args=[entry.pk]) in page  # offered on the 接口说明 page
    document = _document(web_as(other_staff), entry)
    validate_schema(document)  # the OpenAPI 3.0 document schema (raises on any violation)
    assert document["openapi"].startswith("3.0") and entry.name in document["info"]["title"]
    record = document["components"]["schemas"]["Record"]
    props = record["properties"]
    assert list(props)[:len(TYPED)] == [name for name, *_ in TYPED] and record["additionalProperties"] is False
    assert all(props[name]["type"] == "string" and props[name]["nullable"] for name, *_ in TYPED)
    assert props["登记日期"]["anyOf"][0] == {"pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
    assert props["是否户主"]["anyOf"][0] == {"enum": ["true", "false"]}
    assert props["月收入"]["description"].startswith("月收入；数值型N")
    # A personal item read masked without a grant has no pattern; the subject key neither.
    assert "anyOf" not in props["联系电话"] and "个人信息" in props["联系电话"]["description"]
    assert "anyOf" not in props["公民身份号码"]
    # The signature headers, required together; the pull's filters are its items (less the encrypted ones).
    assert document["security"] == [{"clientId": [], "timestamp": [], "nonce": [], "signature": []}]
    assert {s["name"] for s in document["components"]["securitySchemes"].values()} == {
        "X-Client-Id", "X-Timestamp", "X-Nonce", "X-Signature"}
    pull = document["paths"][f"/api/v1/data/{entry.resource_key}/records/"]["get"]
    names = {p.get("name") for p in pull["parameters"]}
    assert {"limit", "cursor", "since", "公民身份号码", "登记日期", "月收入"} <= names and "联系电话" not in names
    assert f"/api/v1/data/{entry.resource_key}/export/" in document["paths"]
    # An entry with no data yet: the same types, masks and filters, as its dataset will be made.
    empty = make_entry(items=TYPED, share_type=ShareType.CONDITIONAL, methods=("api",))
    fresh = _document(web_as(other_staff), empty)
    validate_schema(fresh)
    assert fresh["components"]["schemas"]["Record"] == record
    assert [p.get("name") for p in fresh["paths"][f"/api/v1/data/{empty.resource_key}/records/"]["get"]
            ["parameters"]] == [p.get("name") for p in pull["parameters"]]
    # The schema has teeth: text that is not a stored decimal, a number where text is served, an unknown property.
    check = validator(document, "Record")
    base = {"updated_at": "2026-01-01T00:00:00+00:00", "under_verification": False}
    assert check.is_valid({**base, "月收入": "1234.5", "登记日期": "", "子女数": None})
    assert not check.is_valid({**base, "月收入": "1,234.50"})
    assert not check.is_valid({**base, "子女数": 2})
    assert not check.is_valid({**base, "登记日期": "2024/1/3"})
    assert not check.is_valid({**base, "别的": "x"})


def test_real_answers_fit_the_document(typed, other_staff, staff, make_grant, api_as, web_as):
    entry, keys = typed
    document = _document(web_as(other_staff), entry)
    page, record = validator(document, "Page"), validator(document, "Record")
    make_grant(other_staff.department, entry, [name for name, *_ in TYPED], methods=("api", "query"))
    agg.record_delete(actor=staff, dataset=entry.dataset, key=keys[2], reason="注销")
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    for client in (api_as(other_staff), api_as(staff)):  # under a grant (some items masked); the provider, in full
        for first in (url(entry, limit=2), url(entry, since=since, limit=2), url(entry, fields="月收入,是否户主")):
            response = get(client, first)
            while True:
                body = response.json()
                errors = [e.message for e in page.iter_errors(body)]
                assert not errors, (errors, body)
                if not body["next"]:
                    break
                response = get(client, body["next"])
        one = get(client, url(entry, keys[0]))
        assert one.status_code == 200 and not list(record.iter_errors(one.json())), one.json()
    rows, _pages = pull_all(api_as(staff), url(entry))
    assert rows[0]["登记日期"] == "2024-01-03" and rows[0]["登记时间"] == "2024-01-31 08:30:00"
    assert rows[0]["月收入"] == "1234.5" and rows[0]["是否户主"] == "true" and rows[-1]["登记日期"] in ("", None)
