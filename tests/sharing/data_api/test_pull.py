"""Data interface (pull) and online query API: GET /api/v1/data/{resource}/records/[{key}/] (SPEC §9.2)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone
from psycopg import sql

from aggregation.models import Record
from aggregation.services import pools as agg
from catalog.choices import EntryState, ShareType
from portal.choices import Role
from portal.models import Department
from sharing.choices import GrantState
from tests.aggregation.builders import ids
from tests.factories import make_user
from tests.sharing.helpers import PEOPLE, PHONE, get, load, open_verification_case, pull_all, rows_for, tamper_rows, url
from tests.support import row_values, signed_headers, stored_rows

pytestmark = pytest.mark.django_db

@pytest.fixture
def people(make_people):
    return make_people(7, start=50)


def test_pull_pages_with_cursor_default_projection_masking_and_audit(people, other_staff, make_grant, api_as,
                                                                     audit_log):
    entry, keys = people
    grant = make_grant(other_staff.department, entry, ["性别", "联系电话"], methods=("api",))
    client = api_as(other_staff)
    rows, pages = pull_all(client, url(entry, limit=3))
    assert pages == 3 and len(rows) == 7
    # Default projection: base items + the grant's items; only granted items in full.
    assert list(rows[0])[:4] == ["公民身份号码", "姓名", "性别", "联系电话"] and "户籍地址" not in rows[0]
    # 性别 is granted but derives from the ID number read masked: masked too (R28.3).
    assert rows[0]["联系电话"] == PHONE and rows[0]["性别"] == "*"
    assert "*" in rows[0]["公民身份号码"] and rows[0]["公民身份号码"][:6] == keys[0][:6]
    assert rows[0]["姓名"].startswith("张*") and rows[0]["under_verification"] is False
    events = audit_log("sharing.data.read")
    assert len(events) == 3
    data = events[0].data
    assert data["grant"] == grant.pk and data["purpose"] == "行政审批：户籍核验" and data["rows"] == 3
    assert data["items"] == ["公民身份号码", "姓名", "性别", "联系电话"] and data["method"] == "api"
    assert data["masked"] == ["公民身份号码", "姓名", "性别"]
    assert data["cursor"] is False and events[1].data["cursor"] is True
    assert events[0].department_id == other_staff.department_id and events[0].actor_id == other_staff.pk
    # The provider reads its own resource whole and unmasked.
    own = get(api_as(make_user(Role.DEPT_STAFF, department=entry.provider)), url(entry, limit=100)).json()
    assert {r["公民身份号码"] for r in own["results"]} == set(keys)
    assert own["results"][0]["户籍地址"].startswith("焦作市")


def test_fields_projection_decrypts_only_what_is_asked(people, other_staff, make_grant, api_as):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["公民身份号码", "性别", "联系电话"])
    body = get(api_as(other_staff), url(entry, fields="联系电话,公民身份号码")).json()
    row = body["results"][0]
    assert [k for k in row if k not in ("updated_at", "under_verification")] == ["公民身份号码", "联系电话"]
    assert len(row["公民身份号码"]) == 18 and "*" not in row["公民身份号码"]  # named in the grant: in full


def test_cursor_pagination_stable_under_concurrent_inserts(people, other_staff, make_grant, api_as, staff):
    entry, keys = people
    make_grant(other_staff.department, entry, ["公民身份号码", "性别"])
    client = api_as(other_staff)
    seen = []
    response = get(client, url(entry, limit=2))
    new_keys = iter(ids(20, start=900))
    while True:
        body = response.json()
        seen += [r["公民身份号码"] for r in body["results"]]
        if not body["next"]:
            break
        # Between pages another writer inserts new subjects and changes an existing one.
        if len(seen) > len(keys):
            response = get(client, body["next"])
            continue
        agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows_for([next(new_keys), next(new_keys)]))
        agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows_for([keys[0]], sex="女"))
        response = get(client, body["next"])
    assert all(seen.count(k) == 1 for k in keys), seen
    assert len(seen) == len(set(seen))


def test_since_incremental_pull_orders_by_change_and_reports_deletions(people, other_staff, make_grant, api_as,
                                                                         staff):

    entry, _keys = people
    make_grant(other_staff.department, entry, ["公民身份号码", "性别"])
    base = timezone.now() - dt.timedelta(days=1)
    records = stored_rows(entry.dataset)
    for n, record in enumerate(records):
        moment = base + dt.timedelta(minutes=n // 2)  # ties in pairs
        Record.objects.filter(pk=record.id).update(updated_at=moment)  # (the records too, while they are written)
        tamper_rows(entry.dataset, [record.id], updated_at=moment)
    agg.record_delete(actor=staff, dataset=entry.dataset, key=row_values(records[0])["公民身份号码"], reason="注销")
    since = (base + dt.timedelta(minutes=1) - dt.timedelta(seconds=1)).isoformat()
    # limit 3 splits the (minute 2) tie between pages: the (updated_at, id) cursor keeps it whole.
    rows, pages = pull_all(api_as(other_staff), url(entry, since=since, limit=3))
    expected = [row_values(r)["公民身份号码"] for r in records[2:]]
    assert [r["公民身份号码"] for r in rows[:-1]] == expected and pages == 2
    assert rows[-1] == {"deleted": True, "updated_at": rows[-1]["updated_at"], "under_verification": False}
    stamps = [dt.datetime.fromisoformat(r["updated_at"]) for r in rows]
    assert stamps == sorted(stamps) and all(r["deleted"] is False for r in rows[:-1])
    # A naive time is local time; '+' turned into a space by a lax client still parses.
    assert get(api_as(other_staff), url(entry, since="2020-01-01T00:00:00")).status_code == 200
    assert get(api_as(other_staff), url(entry) + "?since=2020-01-01T00:00:00 08:00").status_code == 200


def test_exact_filters_key_through_blind_index_and_clear_items(people, other_staff, make_grant, api_as, staff):
    entry, keys = people
    agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows_for([keys[2]], sex="女"))
    make_grant(other_staff.department, entry, ["性别", "联系电话"])
    client = api_as(other_staff)
    body = get(client, url(entry, **{"公民身份号码": keys[3].lower()})).json()
    assert len(body["results"]) == 1 and body["results"][0]["公民身份号码"].endswith(keys[3][-4:])
    women = get(client, url(entry, **{"性别": "女"})).json()["results"]
    assert len(women) == 1 and women[0]["公民身份号码"].endswith(keys[2][-4:])
    response = get(client, url(entry, **{"联系电话": PHONE}))  # encrypted, not the key: no blind index
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = get(client, url(entry, **{"户籍地址": "x"}))  # not granted: filtering would leak it
    assert response.status_code == 403 and response.json()["code"] == "no_grant"


@pytest.mark.parametrize(
    ("params", "purpose", "status", "code"),
    [
        ({"fields": "户籍地址"}, "核验", 403, "no_grant"),
        ({"fields": "不存在的项"}, "核验", 400, "invalid"),
        ({"fields": " , "}, "核验", 400, "invalid"),
        ({"cursor": "not-a-cursor!"}, "核验", 400, "invalid"),
        ({"cursor": base64.urlsafe_b64encode(b'{"d":1,"i":"1 OR 1=1"}').decode()}, "核验", 400, "invalid"),
        ({"limit": "10000000"}, "核验", 400, "invalid"),
        ({"limit": "0"}, "核验", 400, "invalid"),
        ({"limit": "abc"}, "核验", 400, "invalid"),
        ({"since": "yesterday"}, "核验", 400, "invalid"),
        ({"offset": "100"}, "核验", 400, "invalid"),
        ({}, "", 400, "invalid"),
    ],
)
def test_bad_input_answers_a_stable_code_and_is_audited(people, other_staff, make_grant, api_as, audit_log, params,
                                                        purpose, status, code):
    entry, keys = people
    make_grant(other_staff.department, entry, ["性别"])
    response = get(api_as(other_staff), url(entry, **params), purpose=purpose)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"]
    assert not any(k in response.content.decode() for k in keys)
    refused = audit_log("sharing.data.refused")
    assert len(refused) == 1 and refused[0].data["code"] == code and refused[0].result == "denied"
    assert not audit_log("sharing.data.read")
    if not purpose:
        assert "X-Purpose" in body["detail"] and "用途" in body["detail"]


def test_cursor_of_another_mode_or_resource_is_invalid(people, other_staff, make_grant, api_as, make_entry, staff):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"])
    client = api_as(other_staff)
    cursor = dict(parse_qsl(urlsplit(get(client, url(entry, limit=2)).json()["next"]).query))["cursor"]
    assert json.loads(base64.urlsafe_b64decode(cursor + "==")).keys() == {"d", "i"}
    assert get(client, url(entry, limit=2, cursor=cursor, since="2020-01-01T00:00:00Z")).json()["code"] == "invalid"
    other = make_entry(provider=entry.provider, items=PEOPLE, share_type=ShareType.UNCONDITIONAL)
    load(other, staff, rows_for(ids(1, start=77)))
    assert get(client, url(other, cursor=cursor)).json()["code"] == "invalid"


def test_grant_enforcement_over_the_endpoints(people, make_entry, other_staff, make_grant, api_as, staff, audit_log):
    entry, keys = people
    client = api_as(other_staff)
    # Conditional without a grant: the non-base items are refused on every method.
    for path in (url(entry, fields="性别"), url(entry, keys[0], fields="性别"),
                 f"/api/v1/data/{entry.resource_key}/export/?format=csv&fields=性别"):
        response = get(client, path)
        assert response.status_code == 403 and response.json()["code"] == "no_grant", path
    # Base items only are unconditional (R19.2): the default projection without a grant is just those.
    ok = get(client, url(entry))
    assert ok.status_code == 200 and ok.json()["results"][0]["姓名"].startswith("张*")
    assert "性别" not in ok.json()["results"][0]
    # Expired grant.
    today = timezone.localdate()
    expired = make_grant(other_staff.department, entry, ["性别"], valid_from=today - dt.timedelta(days=60),
                         valid_to=today - dt.timedelta(days=1), state=GrantState.EXPIRED)
    assert get(client, url(entry)).json()["code"] == "grant_expired"
    assert get(client, url(entry, fields="性别")).json()["code"] == "grant_expired"
    # A grant for the pull does not cover the online query or the download.
    expired.delete()
    make_grant(other_staff.department, entry, ["性别"], methods=("api",))
    assert get(client, url(entry)).status_code == 200
    assert get(client, url(entry, keys[0], fields="性别")).json()["code"] == "no_grant"
    # Another department's grant does not help a third department.
    third = Department.objects.create(name="焦作市教育局", credit_code="11410800MB0000001X",
                                      region=entry.provider.region)
    outsider = make_user(Role.DEPT_STAFF, department=third, username="edu")
    assert get(api_as(outsider), url(entry, fields="性别")).json()["code"] == "no_grant"
    # Unconditional entry: readable without a grant, personal items masked (not named in any grant).
    open_entry = make_entry(provider=entry.provider, items=PEOPLE, share_type=ShareType.UNCONDITIONAL)
    load(open_entry, staff, rows_for(ids(2, start=300)))
    row = get(client, url(open_entry)).json()["results"][0]
    assert "*" in row["联系电话"] and "*" in row["公民身份号码"] and row["性别"] == "*"  # derived from the ID
    # Unpublished resource, unknown resource, person without role: 404.
    draft = make_entry(provider=entry.provider, items=PEOPLE, state=EntryState.DRAFT)
    assert get(client, url(draft)).status_code == 404
    assert get(client, "/api/v1/data/999-NOPE/records/").json()["code"] == "not_found"
    assert get(api_as(make_user(department=other_staff.department)), url(open_entry)).status_code == 404
    assert get(api_as(make_user(Role.DEPT_STAFF, department=other_staff.department)), url(entry)).status_code == 200
    refused = [e.data["code"] for e in audit_log("sharing.data.refused")]
    assert refused.count("no_grant") >= 4 and "grant_expired" in refused and "not_found" in refused


def test_online_query_api(people, other_staff, make_grant, api_as, audit_log, staff):
    entry, keys = people
    grant = make_grant(other_staff.department, entry, ["联系电话"], methods=("query",))
    client = api_as(other_staff)
    row = get(client, url(entry, keys[4])).json()
    assert row["联系电话"] == PHONE and "*" in row["公民身份号码"] and row["under_verification"] is False
    assert "性别" not in row and "户籍地址" not in row
    odd = get(client, url(entry, keys[4]) + "?性别=男")
    assert odd.status_code == 400 and odd.json()["code"] == "invalid"
    missing = get(client, url(entry, ids(1, start=999)[0]))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    agg.record_delete(actor=staff, dataset=entry.dataset, key=keys[4], reason="注销")
    assert get(client, url(entry, keys[4])).status_code == 404
    events = audit_log("sharing.data.read")
    assert [(e.data["rows"], e.data["found"], e.data["method"]) for e in events] == [
        (1, True, "query"), (0, False, "query"), (0, False, "query")]
    assert events[0].data["grant"] == grant.pk and keys[4] not in json.dumps(events[0].data, ensure_ascii=False)


def test_rows_under_verification_carry_the_notice(people, other_staff, make_grant, api_as):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("api", "query"))
    first = stored_rows(entry.dataset, limit=1)[0]
    open_verification_case(first, other_staff, entry.dataset)
    rows = get(api_as(other_staff), url(entry)).json()["results"]
    assert rows[0]["under_verification"] is True and "核校" in rows[0]["verification_notice"]
    assert rows[1]["under_verification"] is False and "verification_notice" not in rows[1]
    one = get(api_as(other_staff), url(entry, row_values(first)["公民身份号码"])).json()
    assert one["under_verification"] is True and one["verification_notice"]


def test_signed_client_pull_end_to_end(people, api_client_row, make_grant, client, audit_log):
    entry, _keys = people
    api_client, secret = api_client_row
    grant = make_grant(api_client.department, entry, ["性别", "联系电话"])
    purpose = "社会救助资格核验"

    def signed_get(path_and_query, purpose=purpose):
        parts = urlsplit(path_and_query)
        headers = signed_headers(api_client.client_id, secret, "GET", parts.path, parts.query)
        if purpose:
            headers["HTTP_X_PURPOSE"] = purpose.encode().decode("latin-1")
        return client.get(parts.path + ("?" + parts.query if parts.query else ""), **headers)

    rows, response = [], signed_get(url(entry, limit=4, fields="公民身份号码,联系电话"))
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            break
        response = signed_get(body["next"])
    assert len(rows) == 7 and all(r["联系电话"] == PHONE for r in rows)
    events = audit_log("sharing.data.read")
    assert len(events) == 2 and all(e.actor_id is None for e in events)
    assert events[0].actor_label == f"client:{api_client.client_id}"
    assert events[0].department_id == api_client.department_id
    assert events[0].data["grant"] == grant.pk and events[0].data["purpose"] == purpose
    # Outside the grant, and without a purpose: refused and logged with the client's name.
    assert signed_get(url(entry, fields="户籍地址")).json()["code"] == "no_grant"
    assert signed_get(url(entry), purpose="").json()["code"] == "invalid"
    refused = audit_log("sharing.data.refused")
    assert [e.data["code"] for e in refused] == ["no_grant", "invalid"]
    assert all(e.actor_label == f"client:{api_client.client_id}" for e in refused)
    # A tampered query (limit changed after signing) is refused by the signature check.
    parts = urlsplit(url(entry, limit=4))
    headers = signed_headers(api_client.client_id, secret, "GET", parts.path, parts.query)
    tampered = client.get(parts.path + "?limit=5000", HTTP_X_PURPOSE="x", **headers)
    assert tampered.status_code == 401 and tampered.json()["code"] == "signature_invalid"


def test_push_and_pull_share_the_url(people, staff, api_as):
    entry, _keys = people
    client = api_as(staff)
    pushed = client.post(url(entry), rows_for(ids(1, start=4000)), format="json", HTTP_X_PURPOSE="sync")
    assert pushed.status_code == 200 and pushed.json()["inserted"] == 1
    assert len(get(client, url(entry)).json()["results"]) == 8


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_cursor_pages_while_another_connection_inserts(make_people, staff, other_staff, make_grant, api_as):
    """A writer thread (its own connection, committing) inserts rows while the consumer pages through."""
    import threading

    from django.db import connection

    entry, keys = make_people(30, start=700)
    make_grant(other_staff.department, entry, ["公民身份号码"])
    stop, started, errors = threading.Event(), threading.Event(), []

    def writer():
        try:
            fresh = iter(ids(400, start=5000))
            while not stop.is_set():
                agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows_for([next(fresh), next(fresh)]))
                started.set()
        except StopIteration:
            pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    started.wait(10)
    try:
        seen, response = [], get(api_as(other_staff), url(entry, limit=3))
        while len([k for k in seen if k in keys]) < len(keys):
            body = response.json()
            seen += [r["公民身份号码"] for r in body["results"]]
            if not body["next"]:
                break
            response = get(api_as(other_staff), body["next"])
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert len(stored_rows(entry.dataset)) > len(keys)  # the writer did write meanwhile
    assert all(seen.count(k) == 1 for k in keys) and len(seen) == len(set(seen))


def _page_sql(entry, **bounds) -> str:
    """The statement of a pull's page (aggregation.storage.reading.shown) with its parameters, as the connection ran
    it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aggregation.choices import VerificationState
    from aggregation.models import Dataset
    from aggregation.storage import reading

    dataset = Dataset.objects.get(pk=entry.dataset.pk)
    with CaptureQueriesContext(connection) as queries:
        reading.shown(dataset, list(dataset.columns), limit=101, open_state=VerificationState.OPEN.value, **bounds)
    (query,) = [q["sql"] for q in queries.captured_queries if '"pool"' in q["sql"]]
    return query


def test_pages_are_index_range_scans_without_offset_or_sort(people):
    """Constant time per page however deep: each page is a LIMIT over a B-tree range starting at the cursor."""
    from django.db import connection

    entry, _keys = people
    moment = timezone.now() - dt.timedelta(days=1)
    plans = {}
    for mode, bounds in (("id", {"after_id": 12345}),
                         ("since", {"since": moment, "after": (moment + dt.timedelta(hours=1), 7),
                                    "include_deleted": True})):
        sql = _page_sql(entry, **bounds)
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("SET LOCAL enable_sort = off")
            cur.execute("SET LOCAL enable_incremental_sort = off")  # a dataset too big to sort (as seqscan/sort)
            cur.execute("EXPLAIN " + sql)
            plans[mode] = "\n".join(r[0] for r in cur.fetchall())
        assert "OFFSET" not in sql.upper()
        assert "Sort" not in plans[mode] and "Index" in plans[mode], plans[mode]
    assert f"r{entry.dataset.pk}_since_idx" in plans["since"] and "ROW(" in plans["since"], plans["since"]
    assert f"r{entry.dataset.pk}_pkey" in plans["id"], plans["id"]


@pytest.mark.records_tampered  # (table rows written without records: the buffers of a big table)
def test_a_deep_page_reads_as_little_as_the_first(people):
    """The index scan of a page starts AT the cursor: a page deep in 20 000 rows — all with one `updated_at`, as after
    a bulk load — reads no more buffers than the first page. (EXPLAIN ANALYZE buffer counts, not times.)"""
    from django.db import connection

    from aggregation.storage.layout import table_ident

    entry, _keys = people
    moment = timezone.now() - dt.timedelta(hours=1)
    table = table_ident(entry.dataset.pk)
    with connection.cursor() as cur:
        # (ids of their own, above the records': the table's rows are the records' ids)
        cur.execute(sql.SQL("INSERT INTO {} (id, key_hash, row_hash, created_at, updated_at) SELECT 10000000 + g,"
                            " sha256(g::text::bytea), '\\x00', %s, %s FROM generate_series(1, 20000) g").format(table)
                    .as_string(connection.connection), [moment, moment])
        cur.execute(sql.SQL("ANALYZE {}").format(table).as_string(connection.connection))
        cur.execute(sql.SQL("SELECT id FROM {} ORDER BY id DESC OFFSET 300 LIMIT 1").format(table)
                    .as_string(connection.connection))
        deep = cur.fetchone()[0]

    def buffers(**bounds) -> int:
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _page_sql(entry, **bounds))
            plan = cur.fetchone()[0]
        plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        assert plan["Actual Rows"] == 101, plan
        return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]

    since = moment - dt.timedelta(minutes=1)
    for first, deeper in ((buffers(), buffers(after_id=deep)),
                          (buffers(since=since, include_deleted=True),
                           buffers(since=since, after=(moment, deep), include_deleted=True))):
        assert deeper <= first + 2, (first, deeper)


def test_staff_personal_token_pull(people, other_staff, make_grant, api_client, audit_log):
    from portal.services.tokens import token_create

    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"])
    _token, raw = token_create(actor=other_staff, name="脚本")
    response = api_client.get(url(entry, fields="性别"), HTTP_AUTHORIZATION=f"Token {raw}", HTTP_X_PURPOSE="x")
    assert response.status_code == 200 and len(response.json()["results"]) == 7
    assert audit_log("sharing.data.read")[-1].actor_id == other_staff.pk
    assert api_client.get(url(entry), HTTP_X_PURPOSE="x").status_code == 401
