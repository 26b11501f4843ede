"""Leak tracing beyond the header line (issue 15 item 5, R25.1): a stripped, shuffled, cut CSV download names its
call (`manage.py trace_leak`, sharing.export.fingerprint), an XLSX download and a pushed table by the trace ids they
carry; below the threshold the command names nobody."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest
from django.core.management import call_command
from django.utils import timezone
from psycopg import sql

from sharing.push import run as push_engine
from sharing.services import push as push_services
from tests.sharing.helpers import body_of, export_url, marks, unmarked
from tests.support import signed_headers

pytestmark = pytest.mark.django_db

ROWS = 400
GRANTED = ["性别", "联系电话", "户籍地址"]


@pytest.fixture
def two_downloads(make_people, other_staff, make_grant, api_as, api_client_row, api_client):
    """The same slice downloaded by a person (session) and by a signed API client of another department's system:
    (entry, {"person"|"client": (trace id, CSV bytes)})."""
    entry, _keys = make_people(ROWS, start=1000)
    make_grant(other_staff.department, entry, GRANTED, methods=("download",))
    person = api_as(other_staff).get(export_url(entry, "format=csv"), HTTP_X_PURPOSE="低保审核")
    client, secret = api_client_row
    assert client.department == other_staff.department
    path, query = f"/api/v1/data/{entry.resource_key}/export/", "format=csv"
    signed = api_client.get(f"{path}?{query}", HTTP_X_PURPOSE="低保审核",
                            **signed_headers(client.client_id, secret, "GET", path, query))
    return entry, {"person": (person["X-Trace-Id"], body_of(person)), "client": (signed["X-Trace-Id"], body_of(signed))}


def _data_lines(raw: bytes) -> list[bytes]:
    """The rows of a download without its `#` line and header (no value of these rows holds a line break)."""
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"# ") and lines[1].endswith("核校中".encode()) and lines[-1] == b""
    return lines[2:-1]


def _trace(tmp_path, content: bytes, *args, name="leak.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    out = io.StringIO()
    try:
        call_command("trace_leak", str(path), *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_two_downloads_of_one_slice_differ_only_in_their_marks(two_downloads):
    _entry, downloads = two_downloads
    (_t1, person), (_t2, client) = downloads["person"], downloads["client"]
    rows_p, rows_c = _data_lines(person), _data_lines(client)
    assert len(rows_p) == len(rows_c) == ROWS
    assert rows_p != rows_c and marks(b"\r\n".join(rows_p)) > ROWS // 10  # about one row in four is marked
    assert unmarked(b"\r\n".join(rows_p)) == unmarked(b"\r\n".join(rows_c))  # the same bytes without the marks
    parsed = [list(csv.reader(io.StringIO(b"\r\n".join(r).decode(), newline=""))) for r in (rows_p, rows_c)]
    assert parsed[0] == parsed[1] and all(len(row) == len(GRANTED) + 2 + 1 for row in parsed[0])


def test_a_stripped_shuffled_cut_file_names_its_download_and_not_the_other(two_downloads, tmp_path, audit_log):
    entry, downloads = two_downloads
    trace, raw = downloads["client"]
    other = downloads["person"][0]
    rows = _data_lines(raw)
    random.Random(15).shuffle(rows)
    leak = b"\r\n".join(rows[:200]) + b"\r\n"  # 200 shuffled rows, no `#` line, no header

    code, out = _trace(tmp_path, leak, "--resource", entry.code)
    assert code == 0, out
    named = out.splitlines()[-1]
    assert named.startswith("named: download " + trace) and other not in named
    assert "client:" in named and "低保审核" in named and entry.code in named and "score 1.000 (200/200" in named
    event = audit_log("security.leak.traced")[-1]
    assert event.data["named"]["trace"] == trace and event.data["rows"] == 200 and event.data["candidates"] == 2
    scores = {b["trace"]: b["matched"] for b in event.data["best"]}
    # The other download of the same rows agrees by chance on most unmarked rows (≈ 63 % here), far below 0.9.
    assert scores[trace] == 200 and scores[other] < 160
    assert event.object_id == str(audit_log("sharing.data.read")[-1].pk)

    # Saved again with LF line ends in GB18030 (Excel in a Chinese locale): the marks are in the quotes, still there.
    code, out = _trace(tmp_path, leak.replace(b"\r\n", b"\n").decode().encode("gb18030"))
    assert code == 0 and out.splitlines()[-1].startswith("named: download " + trace)

    # Someone pastes the other download's `#` line on top: the rows still name theirs; the pasted id is reported.
    code, out = _trace(tmp_path, downloads["person"][1].split(b"\r\n", 1)[0] + b"\r\n" + leak)
    assert code == 0 and out.splitlines()[-1].startswith("named: download " + trace)
    assert f"trace id written in the file (1×): download {other}" in out


def test_since_narrows_the_candidates_and_by_names_the_administrator(two_downloads, tmp_path, audit_log,
                                                                     security_admin):
    _entry, downloads = two_downloads
    trace, raw = downloads["person"]
    leak = b"\r\n".join(_data_lines(raw)[:100]) + b"\r\n"
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    code, out = _trace(tmp_path, leak, "--since", tomorrow)
    assert code == 1 and "0 candidate downloads" in out and out.splitlines()[-1].startswith("no match")
    code, out = _trace(tmp_path, leak, "--since", timezone.localdate().isoformat(), "--by", security_admin.username)
    assert code == 0 and out.splitlines()[-1].startswith("named: download " + trace)
    event = audit_log("security.leak.traced")[-1]
    assert event.actor_id == security_admin.pk and event.data["since"] == timezone.localdate().isoformat()


def test_thirty_rows_still_name_it_five_rows_do_not(two_downloads, tmp_path, audit_log):
    """The threshold (fingerprint.named): 30 rows of 6 fields are far above it, 5 rows below (a chance of about 1e-2
    that another download scores as well is no evidence against a person)."""
    _entry, downloads = two_downloads
    trace, raw = downloads["person"]
    rows = _data_lines(raw)
    random.Random(30).shuffle(rows)
    code, out = _trace(tmp_path, b"\r\n".join(rows[:30]) + b"\r\n")
    assert code == 0 and out.splitlines()[-1].startswith("named: download " + trace), out
    assert other_staff_named(out)

    code, out = _trace(tmp_path, b"\r\n".join(rows[:5]) + b"\r\n")
    assert code == 1 and out.splitlines()[-1].startswith("no match ("), out
    event = audit_log("security.leak.traced")[-1]
    assert event.data["named"] is None and event.data["rows"] == 5 and event.object_id == ""


def other_staff_named(out: str) -> bool:
    return "（" in out.splitlines()[-1] and "授权 #" in out.splitlines()[-1]


def test_a_rewritten_file_has_lost_its_marks_and_names_nobody(two_downloads, tmp_path):
    """The documented limit: a file written again by a CSV writer (Excel save, pandas) keeps the values, not the
    quotes; the command says "no match" rather than guess."""
    _entry, downloads = two_downloads
    rows = list(csv.reader(io.StringIO(b"\r\n".join(_data_lines(downloads["person"][1])).decode(), newline="")))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    code, out = _trace(tmp_path, buffer.getvalue().encode())
    assert code == 1 and "no match" in out


def test_an_xlsx_download_names_itself_by_its_trace_column(make_people, other_staff, make_grant, api_as, tmp_path):
    entry, _keys = make_people(5, start=1500)
    make_grant(other_staff.department, entry, GRANTED, methods=("download",))
    response = api_as(other_staff).get(export_url(entry, "format=xlsx"), HTTP_X_PURPOSE="核验")
    code, out = _trace(tmp_path, body_of(response), name="leak.xlsx")
    assert code == 0 and out.splitlines()[-1].startswith(f"named: download {response['X-Trace-Id']}"), out
    assert "trace id written in the file" in out.splitlines()[-1]


def test_an_unknown_file_names_nobody(tmp_path, audit_log):
    code, out = _trace(tmp_path, b"a,b,c\r\n1,2,3\r\n")
    assert code == 1 and out.splitlines()[-1].startswith("no match")
    assert audit_log("security.leak.traced")[-1].data["named"] is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dump_of_a_pushed_table_names_the_push_run(people_push, target_dsn, other_staff, tmp_path, audit_log):
    """A pushed row carries its run's trace id in the target's `trace` column (JSONB keeps no formatting variant):
    a leaked dump of the consumer's table, shuffled and cut, names the run, its subscription and grant."""
    import psycopg

    _entry, grant, _keys = people_push
    sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=target_dsn,
                                                 table="hj_people", interval_minutes=30)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert run.status == "succeeded" and run.rows == 7
    delivered = audit_log("sharing.push.delivered")[-1]
    trace = delivered.data["trace"]
    assert delivered.data["traced"] is True and len(trace) == 32
    with psycopg.connect(target_dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT record_id, data::text, trace FROM {}").format(sql.Identifier("hj_people")))
        dump = [(str(r[0]), r[1], r[2]) for r in rows]
    assert {r[2] for r in dump} == {trace}
    random.Random(7).shuffle(dump)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(dump[:4])
    code, out = _trace(tmp_path, buffer.getvalue().encode("utf-8"))
    assert code == 0, out
    assert out.splitlines()[-1].startswith(f"named: push {trace}") and f"授权 #{grant.pk}" in out.splitlines()[-1]
    assert sub.target_label in out.splitlines()[-1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_target_table_from_before_the_trace_column_gets_it(people_push, target_dsn, other_staff, audit_log):
    import psycopg

    _entry, grant, _keys = people_push
    with psycopg.connect(target_dsn) as conn:
        conn.execute("CREATE TABLE hj_old (record_id bigint PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz"
                     " NOT NULL, deleted boolean NOT NULL DEFAULT false, pushed_at timestamptz NOT NULL DEFAULT now())")
    sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=target_dsn,
                                                 table="hj_old", interval_minutes=30)
    assert push_engine.push_run(subscription_id=sub.pk).rows == 7
    trace = audit_log("sharing.push.delivered")[-1].data["trace"]
    with psycopg.connect(target_dsn) as conn:
        assert conn.execute("SELECT DISTINCT trace FROM hj_old").fetchall() == [(trace,)]


def test_an_unusable_trace_key_stops_the_start():
    from django.test import override_settings

    from sharing.apps import export_trace_key_check

    assert export_trace_key_check(None) == []
    for bad in ("", "change-me", "c2hvcnQ"):
        with override_settings(EXPORT_TRACE_KEY=bad):
            assert [e.id for e in export_trace_key_check(None)] == ["sharing.E001"], bad
