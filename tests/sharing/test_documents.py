"""Verifiable documents (R26.1): signed records of licences/documents/contracts, public verification and key."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rest_framework.test import APIClient

from catalog.models import Classification
from security import documents
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, get, load, rows_for, url

pytestmark = pytest.mark.django_db

LICENCE = [("证照编号", "C", False, True), ("持证人", "C", False, False), ("发证日期", "D", False, False)]


@pytest.fixture
def licences(make_entry, dept, staff):
    entry = make_entry(provider=dept, items=LICENCE, name="食品经营许可证信息", methods=("api", "query"),
                       share_type="1")
    entry.classification = Classification.objects.get(code="105")
    entry.save(update_fields=["classification"])
    load(entry, staff, [{"证照编号": f"JY1410800{n:06d}", "持证人": f"焦作某某餐饮店{n}", "发证日期": "2025-03-01"}
                        for n in range(3)])
    return entry


def _b64(raw: str) -> bytes:
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def test_which_entries_are_documents(make_entry, licences):
    assert documents.is_document_entry(licences)
    assert not documents.is_document_entry(make_entry(items=PEOPLE, name="户籍人口信息"))
    assert documents.is_document_entry(make_entry(name="政府采购合同公告信息"))
    doc = make_entry(name="会议纪要")
    doc.format_class = "doc"
    assert documents.is_document_entry(doc)


def test_pull_serves_signed_licences_and_anyone_verifies_them(licences, other_staff, api_as, audit_log):
    rows = get(api_as(other_staff), url(licences)).json()["results"]
    assert len(rows) == 3
    row = rows[0]
    integrity = row["integrity"]
    assert integrity["alg"] == "Ed25519" and integrity["resource"] == licences.code
    assert integrity["key_item"] == "证照编号" and set(integrity["items"]) <= set(row)
    anonymous = APIClient()
    answer = anonymous.post("/api/v1/verify/", row, format="json")
    assert answer.status_code == 200 and answer.json()["valid"] is True and answer.json()["detail"]
    tampered = {**row, "持证人": row["持证人"] + "X"}
    answer = anonymous.post("/api/v1/verify/", tampered, format="json").json()
    assert answer["valid"] is False and answer["reason"] == "signature"
    assert anonymous.post("/api/v1/verify/", {"record": row}, format="json").json()["valid"] is True
    assert anonymous.post("/api/v1/verify/", b"not json", content_type="application/json").json()["valid"] is False
    events = audit_log("security.document.verified")
    assert [e.result for e in events] == ["success", "failure", "success", "failure"]
    assert events[1].data["reason"] == "signature" and events[0].data["resource"] == licences.code
    assert row["持证人"] not in json.dumps(events[0].data, ensure_ascii=False)
    # Offline, with the published key only.
    key = anonymous.get("/api/v1/verify/key/").json()
    assert key["kid"] == integrity["kid"] and "BEGIN PUBLIC KEY" in key["public_key_pem"]
    public = Ed25519PublicKey.from_public_bytes(_b64(key["public_key"]))
    payload = documents.canonical(integrity["resource"], row[integrity["key_item"]],
                                  {n: row[n] for n in integrity["items"]}, row["updated_at"])
    public.verify(_b64(integrity["signature"]), payload)  # raises if invalid


def test_online_query_api_is_signed_too_and_other_resources_are_not(licences, make_entry, staff, other_staff, api_as):
    record = get(api_as(other_staff), f"/api/v1/data/{licences.resource_key}/records/JY1410800000001/")
    assert record.status_code == 200 and "integrity" in record.json()
    people = make_entry(items=PEOPLE, name="户籍人口信息", share_type="1")
    load(people, staff, rows_for(ids(2, start=700)))
    assert "integrity" not in get(api_as(other_staff), url(people)).json()["results"][0]


def test_public_verify_page(licences, other_staff, api_as, client, audit_log):
    row = get(api_as(other_staff), url(licences)).json()["results"][0]
    page = client.get("/verify/")
    assert page.status_code == 200 and documents.signing_key().kid in page.content.decode()
    ok = client.post("/verify/", {"record": json.dumps(row, ensure_ascii=False)}).content.decode()
    assert 'data-valid="true"' in ok
    bad = client.post("/verify/", {"record": json.dumps({**row, "发证日期": "2030-01-01"})}).content.decode()
    assert 'data-valid="false"' in bad
    assert client.post("/verify/", {"record": "{oops"}).status_code == 200
    assert [e.result for e in audit_log("security.document.verified")] == ["success", "failure", "failure"]
