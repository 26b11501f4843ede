"""Resumable bulk downloads: GET …/export/ with Range (and If-Range), sharing.export.download.ranged_response."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.sharing.helpers import body_of, export_url, load, rows_for
from tests.support import closed_by_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_people):
    return make_people(30, start=300)


@pytest.fixture
def caller(people, other_staff, make_grant, api_as):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别", "联系电话"], methods=("download",))
    api = api_as(other_staff)

    def get(query="format=csv", **headers):
        return api.get(export_url(entry, query), HTTP_X_PURPOSE="低保审核", **headers)

    return get


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_ranged_download_carries_length_digest_and_etag_and_resumes_to_the_same_file(caller, audit_log):
    whole = caller(HTTP_RANGE="bytes=0-")
    assert whole.status_code == 206
    body = content(whole)
    length = len(body)
    assert whole["Content-Range"] == f"bytes 0-{length - 1}/{length}" and whole["Content-Length"] == str(length)
    assert whole["Repr-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    assert whole["Accept-Ranges"] == "bytes" and whole["ETag"].startswith(f'"{whole["X-Trace-Id"]}.')

    cut = length // 3
    rest = caller(HTTP_RANGE=f"bytes={cut}-", HTTP_IF_RANGE=whole["ETag"])
    assert rest.status_code == 206 and rest["Content-Range"] == f"bytes {cut}-{length - 1}/{length}"
    assert body[:cut] + content(rest) == body  # the same trace line and fingerprint: the same bytes
    assert rest["ETag"] == whole["ETag"] and rest["X-Trace-Id"] == whole["X-Trace-Id"]

    # A bounded range and a suffix range.
    assert content(caller(HTTP_RANGE="bytes=5-9", HTTP_IF_RANGE=whole["ETag"])) == body[5:10]
    assert content(caller(HTTP_RANGE="bytes=-7", HTTP_IF_RANGE=whole["ETag"])) == body[-7:]

    # One read event per request, each naming the download's trace and the range it served.
    events = audit_log("sharing.data.read")[-4:]
    assert [e.data["trace"] for e in events] == [whole["X-Trace-Id"]] * 4
    assert [e.data["range"] for e in events] == [f"0-{length - 1}/{length}", f"{cut}-{length - 1}/{length}",
                                                 f"5-9/{length}", f"{length - 7}-{length - 1}/{length}"]
    assert all(e.data["completed"] is True and e.data["rows"] == 30 for e in events)


def test_a_plain_download_is_unchanged_and_advertises_ranges(caller, audit_log):
    response = caller()
    assert response.status_code == 200 and response["Accept-Ranges"] == "bytes"
    assert not response.has_header("Content-Range") and not response.has_header("ETag")
    body_of(response)
    assert "range" not in audit_log("sharing.data.read")[-1].data


def test_a_changed_slice_or_a_foreign_etag_answers_the_whole_new_file(caller, people, staff):
    entry, _keys = people
    first = caller(HTTP_RANGE="bytes=0-")
    etag = first["ETag"]
    content(first)

    forged = etag.replace(etag[1:33], "0" * 32)  # another trace id under the old signature
    for validator in (forged, '"nope"', 'W/"x"'):
        response = caller(HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=validator)
        assert response.status_code == 200 and not response.has_header("Content-Range")
        assert response["X-Trace-Id"] != first["X-Trace-Id"]
        assert len(content(response)) == int(response["Content-Length"])

    from tests.aggregation.builders import ids

    load(entry, staff, rows_for(ids(1, start=900)))  # one more row: the file the ETag names is gone
    response = caller(HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=etag)
    assert response.status_code == 200 and response["X-Trace-Id"] != first["X-Trace-Id"]
    assert response["ETag"] != etag and content(response).count(b"\r\n") == 2 + 31


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=-0", "bytes=0-1,4-5", "items=0-", "bytes=x-", "bytes=-"])
def test_malformed_ranges_answer_416_and_are_audited(caller, audit_log, header):
    response = caller(HTTP_RANGE=header)
    assert response.status_code == 416 and response.json()["code"] == "range_not_satisfiable"
    assert audit_log("sharing.data.refused")[-1].data["code"] == "range_not_satisfiable"
    assert not audit_log("sharing.data.read")


def test_a_range_past_the_end_answers_416_with_the_length(caller):
    first = caller(HTTP_RANGE="bytes=0-0")
    length = int(first["Content-Range"].rsplit("/", 1)[1])  # each download's own: its fingerprint quotes other fields
    response = caller(HTTP_RANGE=f"bytes={length}-", HTTP_IF_RANGE=first["ETag"])
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{length}"
    assert response.json()["code"] == "range_not_satisfiable"


def test_an_unread_ranged_response_is_audited_as_incomplete(caller, audit_log):
    response = caller(HTTP_RANGE="bytes=0-")
    closed_by_client(response)  # the client went away
    event = audit_log("sharing.data.read")[-1]
    assert event.data["completed"] is False and event.result == "failure"


def test_xlsx_ranges_are_served_and_a_resume_restarts(caller):
    whole = caller("format=xlsx", HTTP_RANGE="bytes=0-")
    assert whole.status_code == 206
    body = content(whole)
    assert body.startswith(b"PK") and len(body) == int(whole["Content-Length"])
    resumed = caller("format=xlsx", HTTP_RANGE="bytes=10-", HTTP_IF_RANGE=whole["ETag"])
    # A workbook is never made again byte for byte (its zip records when it was written): a whole new one.
    assert resumed.status_code == 200 and resumed["X-Trace-Id"] != whole["X-Trace-Id"]
    assert content(resumed).startswith(b"PK")
