"""Bulk download: GET /api/v1/data/{resource}/export/?format=csv|xlsx — streamed, masked, traced, audited."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest
from openpyxl import load_workbook

from aggregation.models import Record
from security import crypto
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, PHONE, body_of, export_url, load, mirror_records
from tests.support import closed_by_client, signed_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_people):
    return make_people(5, start=60)


def test_csv_export_with_bom_trace_masking_and_audit(people, other_staff, make_grant, api_as, audit_log):
    entry, keys = people
    grant = make_grant(other_staff.department, entry, ["性别", "联系电话"], methods=("download",))
    response = api_as(other_staff).get(export_url(entry, "format=csv&bom=1"), HTTP_X_PURPOSE="低保审核")
    raw = body_of(response)
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    trace_id = response["X-Trace-Id"]
    assert lines[0].startswith("# ") and f"授权: #{grant.pk}" in lines[0] and trace_id in lines[0]
    assert other_staff.username in lines[0] and "低保审核" in lines[0]
    table = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert table[0] == ["公民身份号码", "姓名", "性别", "联系电话", "核校中"]
    assert len(table) == 1 + len(keys)
    assert all("*" in row[0] and row[1].startswith("张*") and row[3] == PHONE for row in table[1:])
    assert not any(k in text for k in keys)
    event = audit_log("sharing.data.read")[-1]
    assert event.data["rows"] == 5 and event.data["method"] == "download" and event.data["grant"] == grant.pk
    assert event.data["trace"] == trace_id and event.data["completed"] is True and event.data["format"] == "csv"
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_download_read_event_keeps_the_request_source_address(people, other_staff, make_grant, api_as,
                                                                  audit_log, fmt):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("download",))
    response = api_as(other_staff).get(export_url(entry, f"format={fmt}"), HTTP_X_PURPOSE="purpose",
                                       REMOTE_ADDR="10.20.30.41", HTTP_X_REQUEST_ID="download-req-01")
    body_of(response)  # the event is written when the stream ends, after the request middleware returned
    event = audit_log("sharing.data.read")[-1]
    assert (str(event.ip), event.request_id, event.data["completed"]) == ("10.20.30.41", "download-req-01", True)


def test_xlsx_export_has_properties_and_hidden_trace_column(people, other_staff, make_grant, api_as, audit_log):
    entry, keys = people
    make_grant(other_staff.department, entry, ["公民身份号码", "性别"], methods=("download",))
    response = api_as(other_staff).get(export_url(entry, "format=xlsx&fields=公民身份号码,性别"),
                                       HTTP_X_PURPOSE="核验".encode().decode("latin-1"))
    book = load_workbook(io.BytesIO(body_of(response)))
    trace_id = response["X-Trace-Id"]
    assert book.properties.identifier == trace_id and trace_id in book.properties.description
    sheet = book["data"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("公民身份号码", "性别", "核校中", "trace")
    assert {r[0] for r in rows[1:]} == set(keys)  # named in the grant: in full
    assert all(r[3] == trace_id for r in rows[1:])
    assert sheet.column_dimensions["D"].hidden
    assert audit_log("sharing.data.read")[-1].data["rows"] == 5


def test_export_refusals(people, other_staff, make_grant, api_as, audit_log):
    entry, _keys = people
    client = api_as(other_staff)
    make_grant(other_staff.department, entry, ["性别"], methods=("api",))  # not a download grant
    response = client.get(export_url(entry, "format=csv&fields=性别"), HTTP_X_PURPOSE="x")
    assert response.status_code == 403 and response.json()["code"] == "no_grant"
    make_grant(other_staff.department, entry, ["性别"], methods=("download",))
    for query, purpose in (("format=pdf", "x"), ("format=csv", ""), ("format=csv&since=bad", "x")):
        response = client.get(export_url(entry, query), HTTP_X_PURPOSE=purpose)
        assert response.status_code == 400 and response.json()["code"] == "invalid", query
    assert [e.data["code"] for e in audit_log("sharing.data.refused")] == ["no_grant", "invalid", "invalid", "invalid"]


def test_formula_like_values_are_neutralised(make_entry, dept, staff, other_staff, make_grant, api_as):
    entry = make_entry(provider=dept, items=PEOPLE)
    load(entry, staff, [{"公民身份号码": ids(1, start=7)[0], "户籍地址": "=HYPERLINK(\"http://x\")"}])
    make_grant(other_staff.department, entry, ["户籍地址"], methods=("download",))
    text = body_of(api_as(other_staff).get(export_url(entry, "format=csv&fields=户籍地址"), HTTP_X_PURPOSE="x"))
    assert "'=HYPERLINK" in text.decode()


def _bulk_rows(dataset, start: int, count: int) -> None:
    cipher = crypto.cipher()
    made = Record.objects.bulk_create(
        [Record(dataset=dataset, key_hash=crypto.blind_index(f"K{n:08d}"), key_enc=cipher.encrypt(f"K{n:08d}"),
                data={"公民身份号码": cipher.encrypt(f"K{n:08d}"), "姓名": cipher.encrypt("王小明"), "性别": "男"},
                row_hash=b"\0" * 32) for n in range(start, start + count)],
        batch_size=5000,
    )
    mirror_records(dataset.pk, [r.pk for r in made])


def _measure(client, entry) -> tuple[int, int, int]:
    response = client.get(export_url(entry, "format=csv"), HTTP_X_PURPOSE="x")
    assert response.status_code == 200
    chunks = size = 0
    tracemalloc.start()
    try:
        for block in response.streaming_content:
            chunks += 1
            size += len(block)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, chunks, size


def test_export_memory_does_not_grow_with_rows(make_entry, dept, other_staff, api_as, audit_log):
    from catalog.choices import ShareType

    entry = make_entry(provider=dept, items=PEOPLE, share_type=ShareType.UNCONDITIONAL)
    from aggregation.services import pools as agg

    dataset = agg.dataset_ensure(entry=entry)
    client = api_as(other_staff)
    _bulk_rows(dataset, 0, 2000)
    peak_small, chunks_small, size_small = _measure(client, entry)
    _bulk_rows(dataset, 2000, 18000)
    peak_large, chunks_large, size_large = _measure(client, entry)
    assert (chunks_small, chunks_large) == (2, 11)  # header + one chunk per 2 000 rows
    assert size_large > 9 * size_small
    # Ten times the rows, about the same peak: one chunk of rows at a time, never the whole file.
    assert peak_large < peak_small * 1.5 + 256 * 1024, (peak_small, peak_large)
    assert [e.data["rows"] for e in audit_log("sharing.data.read")] == [2000, 20000]


def test_signed_client_download(people, api_client_row, make_grant, client, audit_log):
    entry, _keys = people
    api_client, secret = api_client_row
    make_grant(api_client.department, entry, ["性别"], methods=("download",))
    path, query = f"/api/v1/data/{entry.resource_key}/export/", "format=csv&fields=%E6%80%A7%E5%88%AB"
    headers = signed_headers(api_client.client_id, secret, "GET", path, query)
    response = client.get(f"{path}?{query}", HTTP_X_PURPOSE="x", **headers)
    text = body_of(response).decode()
    assert f"client:{api_client.client_id}" in text.splitlines()[0]
    assert text.splitlines()[1] == "性别,核校中"
    assert audit_log("sharing.data.read")[-1].actor_label == f"client:{api_client.client_id}"


def test_download_closed_unread_is_still_audited(people, other_staff, make_grant, api_as, audit_log):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("download",))
    response = api_as(other_staff).get(export_url(entry, "format=csv"), HTTP_X_PURPOSE="x")
    closed_by_client(response)  # the client went away
    event = audit_log("sharing.data.read")[-1]
    assert event.data["completed"] is False and event.result == "failure" and event.data["rows"] == 0
