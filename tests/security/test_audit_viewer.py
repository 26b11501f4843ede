"""The audit administrator's trail viewer (issue 14 §3, R29, 三员分立): page, CSV export and API, one search."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from portal.choices import AuditResult, Role
from portal.models import AuditEvent
from tests.factories import make_user, user_fixture
from tests.permissions import LOGIN, Row, SignedClient, check_matrix
from tests.support import HOSTILE_CELLS, closed_by_client, unquoted_csv_cell

pytestmark = pytest.mark.django_db

API = "/api/v1/security/audit-events/"
SH = ZoneInfo("Asia/Shanghai")

auditor = user_fixture(Role.AUDIT_ADMIN, "bureau", "auditor")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def make_event(action="portal.auth.login", *, when=None, actor=None, label=None, department=None, ip=None,
               result=AuditResult.SUCCESS, object_type="", object_id="", object_repr="", data=None):
    """An event as portal.audit.record writes it (rows may be inserted, never updated)."""
    return AuditEvent.objects.create(
        occurred_at=when or at(2026, 11, 20, 10, 0), actor=actor,
        actor_label=label or (actor.username if actor else "system"),
        role=",".join(sorted(actor.role_set)) if actor else "",
        department_id=department.pk if department else (actor.department_id if actor else None),
        action=action, object_type=object_type, object_id=object_id, object_repr=object_repr, data=data or {},
        ip=ip, result=result)


@pytest.fixture
def trail(staff, other_staff, reviewer, dept, other_dept):
    """A small trail: logins, a refused data call by an API client, a grant approval and a read under it, …"""
    return {
        "staff_login": make_event(actor=staff, ip="10.1.2.3", when=at(2026, 11, 20, 9, 0)),
        "other_login": make_event(actor=other_staff, ip="10.9.0.1", when=at(2026, 11, 21, 9, 0)),
        "failed": make_event("portal.auth.login_failed", label="nobody", ip="203.0.113.7",
                             result=AuditResult.FAILURE, when=at(2026, 11, 21, 23, 59, 30)),
        "approved": make_event("sharing.request.approved", actor=reviewer, object_type="sharing.sharingrequest",
                               object_id="7", data={"grant": 42}, when=at(2026, 11, 22, 8, 0)),
        "read": make_event("sharing.data.read", label="client:jzc_abc", department=other_dept,
                           object_type="catalog.catalogentry", object_id="5", data={"grant": 42, "rows": 3},
                           ip="2001:db8:1::9", when=at(2026, 11, 22, 8, 30)),
        "other_read": make_event("sharing.data.read", label="client:jzc_abc", department=other_dept,
                                 data={"grant": 43, "rows": 1}, ip="2001:db8:2::1", when=at(2026, 11, 22, 9, 0)),
        "revoked": make_event("sharing.grant.revoked", actor=reviewer, object_type="sharing.grant", object_id="42",
                              when=at(2026, 11, 23, 8, 0)),
        "refused": make_event("security.signature.refused", label="client:jzc_abc", department=other_dept,
                              result=AuditResult.DENIED, ip="10.1.9.9", when=at(2026, 11, 23, 9, 0)),
    }


def api_ids(client, query: dict) -> set[int]:
    response = client.get(API, query)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def ids(trail, *names) -> set[int]:
    return {trail[n].pk for n in names}


@pytest.mark.parametrize(("query", "expected"), [
    ({"person": "staff"}, ["staff_login"]),
    ({"person": "STAFF"}, ["staff_login"]),  # usernames are matched without case
    ({"person": "client:jzc_abc"}, ["read", "other_read", "refused"]),
    ({"action": "sharing.data.read"}, ["read", "other_read"]),
    ({"action": "sharing."}, ["approved", "read", "other_read", "revoked"]),
    ({"action": "sharing.data"}, []),  # without the final dot it is an exact code
    ({"object_type": "sharing.grant"}, ["revoked"]),
    ({"object_type": "catalog.catalogentry", "object_id": "5"}, ["read"]),
    ({"object_id": "7"}, ["approved"]),
    ({"grant": "42"}, ["approved", "read", "revoked"]),
    ({"grant": "43"}, ["other_read"]),
    ({"result": "denied"}, ["refused"]),
    ({"result": "failure"}, ["failed"]),
    ({"ip": "10.1.2.3"}, ["staff_login"]),
    ({"ip": "10.1.0.0/16"}, ["staff_login", "refused"]),
    ({"ip": "2001:db8::/32"}, ["read", "other_read"]),
    ({"ip": "2001:db8:1::9"}, ["read"]),
    ({"since": "2026-11-23", "until": "2026-11-30"}, ["revoked", "refused"]),
    ({"until": "2026-11-20"}, ["staff_login"]),  # a date: the whole day
    ({"since": "2026-11-21", "until": "2026-11-21"}, ["other_login", "failed"]),
    ({"since": "2026-11-22 08:30", "until": "2026-11-22 08:30"}, ["read"]),  # a minute: the whole minute
    ({"since": "2026-11-21T23:59:30", "until": "2026-11-21T23:59:30"}, ["failed"]),
    ({"action": "sharing.", "result": "success", "ip": "2001:db8::/32", "grant": "42"}, ["read"]),
])
def test_each_filter_finds_its_rows(api_as, auditor, trail, query, expected):
    assert api_ids(api_as(auditor), query) == ids(trail, *expected)


def test_person_by_full_name_and_department(api_as, auditor, trail, staff, other_dept):
    staff.full_name = "张小三"
    staff.save(update_fields=["full_name"])
    client = api_as(auditor)
    assert api_ids(client, {"person": "张小三"}) == ids(trail, "staff_login")
    assert api_ids(client, {"department": other_dept.pk}) == ids(trail, "other_login", "read", "other_read",
                                                                     "refused")


def test_api_rows_show_who_what_and_labels(api_as, auditor, trail, reviewer, bureau):
    rows = {r["id"]: r for r in api_as(auditor).get(API, {"action": "sharing.grant.revoked"}).json()["results"]}
    row = rows[trail["revoked"].pk]
    assert row["actor"] == reviewer.username and row["actor_name"] == reviewer.full_name
    assert row["role_names"] == "市大数据局审核员" and row["department_name"] == bureau.name
    assert row["action_label"] == "撤销授权" and row["object_id"] == "42"
    assert row["occurred_at"].startswith("2026-11-23T08:00:00+08:00")


def all_pages(client, url: str, field: str) -> list:
    """`field` of every row of every page, following `next` from `url`."""
    seen = []
    while url:
        body = client.get(url).json()
        seen += [row[field] for row in body["results"]]
        url = body["next"]
    return seen


def test_newest_first_and_cursor_pagination(api_as, auditor):
    for n in range(7):
        make_event("catalog.entry.created", object_id=str(n))
    seen = all_pages(api_as(auditor), f"{API}?action=catalog.entry.created&limit=3", "object_id")
    assert seen == ["6", "5", "4", "3", "2", "1", "0"]
    calls = AuditEvent.objects.filter(action="security.audit.searched").order_by("id")
    assert [e.data["rows"] for e in calls] == [3, 3, 1]
    assert [e.data["page"]["cursor"] for e in calls] == [False, True, True]


def test_every_api_search_is_audited_with_its_filters(api_as, auditor, trail):
    api_as(auditor).get(API, {"action": "sharing.", "ip": "2001:db8::/32", "since": "2026-11-22"})
    [event] = AuditEvent.objects.filter(action="security.audit.searched")
    assert event.actor == auditor and event.result == AuditResult.SUCCESS
    assert event.data["via"] == "api" and event.data["rows"] == 2
    assert event.data["filters"] == {"action": "sharing.", "ip": "2001:db8::/32",
                                     "since": "2026-11-22T00:00:00+08:00"}


HOSTILE = [
    ("person", "a\x00b"), ("person", "x" * 10_000), ("object_id", "\x00"), ("object_id", "9" * 65),
    ("action", "sharing.\x00"), ("action", "Sharing.Data"), ("action", "x" * 101), ("action", "<script>"),
    ("object_type", "grant"), ("object_type", "a.b\x00"),
    ("department", "１"), ("department", "²"), ("department", "0"), ("department", "1.0"), ("department", "9" * 30),
    ("grant", "٣"), ("grant", "-1"), ("grant", "abc"),
    ("result", "ok"), ("result", "\x00"),
    ("ip", "10.0.0.0/33"), ("ip", "999.1.1.1"), ("ip", "１0.0.0.1"), ("ip", "fe80::1%eth0"), ("ip", "x" * 10_000),
    ("since", "2026-13-01"), ("since", "２０２６-01-01"), ("since", "yesterday"), ("until", "2026-02-30"),
    ("until", "2026-01-01 25:00"), ("since", "2026-01-01\x00"),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE)
def test_hostile_values_answer_400_invalid_and_are_not_searched(api_as, auditor, name, value):
    response = api_as(auditor).get(API, {name: value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and body["detail"].startswith(f"{name}：")
    assert "\x00" not in body["detail"] and len(body["detail"]) < 200
    assert not AuditEvent.objects.filter(action="security.audit.searched").exists()


@pytest.mark.parametrize(("name", "value"), HOSTILE[::3])
def test_hostile_values_on_the_page_are_form_errors(web_as, auditor, name, value):
    response = web_as(auditor).get(reverse("security:audit"), {name: value})
    assert response.status_code == 400
    assert 'class="invalid-feedback"' in response.content.decode()
    assert not AuditEvent.objects.filter(action="security.audit.searched").exists()
    assert web_as(auditor).get(reverse("security:audit-export"), {name: value}).status_code == 400
    assert not AuditEvent.objects.filter(action="security.audit.exported").exists()


def test_since_after_until_is_refused(api_as, web_as, auditor):
    response = api_as(auditor).get(API, {"since": "2026-11-22", "until": "2026-11-21"})
    message = "until：截止时间须晚于起始时间"
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": message, "errors": {"until": [message]}}
    page = web_as(auditor).get(reverse("security:audit"), {"since": "2026-11-22", "until": "2026-11-21"})
    assert page.status_code == 400 and "截止时间须晚于起始时间" in page.content.decode()


def test_the_page_searches_shows_and_is_audited(web_as, auditor, trail):
    page = web_as(auditor)
    response = page.get(reverse("security:audit"), {"grant": "42"})
    html = response.content.decode()
    assert response.status_code == 200
    shown = {int(x) for x in __import__("re").findall(r'data-event="(\d+)"', html)}
    assert shown == ids(trail, "approved", "read", "revoked")
    assert "撤销授权" in html and "读取共享数据" in html and "共 3 条" in html
    assert "&quot;grant&quot;: 42" in html  # the data JSON, escaped, in the row's expander
    [event] = AuditEvent.objects.filter(action="security.audit.searched")
    assert event.data == {"filters": {"grant": "42"}, "rows": 3, "via": "page"}
    page.get(reverse("security:audit"))  # the newest events, no filter: a read of the trail too
    assert AuditEvent.objects.filter(action="security.audit.searched").count() == 2


def test_page_keyset_paging(web_as, auditor):
    made = [make_event("catalog.entry.created", object_id=str(n)).pk for n in range(45)]
    page = web_as(auditor)
    url = reverse("security:audit")
    first = page.get(url, {"action": "catalog.entry.created", "size": "20"})
    assert first.context["rows"][0]["event"].pk == made[-1] and len(first.context["rows"]) == 20
    assert first.context["newer_link"] is None
    second = page.get(url + first.context["older_link"])
    assert [r["event"].pk for r in second.context["rows"]] == made[-21:-41:-1]
    third = page.get(url + second.context["older_link"])
    assert [r["event"].pk for r in third.context["rows"]] == made[4::-1] and third.context["older_link"] is None
    back = page.get(url + third.context["newer_link"])
    assert [r["event"].pk for r in back.context["rows"]] == made[-21:-41:-1]
    assert page.get(url, {"size": "7"}).status_code == 400  # page sizes are 20, 50, 100


def test_the_count_is_bounded(web_as, auditor, monkeypatch):
    from security.selectors import audit as selector

    for n in range(6):
        make_event("catalog.entry.created", object_id=str(n))
    page = web_as(auditor)
    html = page.get(reverse("security:audit"), {"action": "catalog.entry.created"}).content.decode()
    assert "共 6 条" in html
    monkeypatch.setattr(selector, "COUNT_LIMIT", 4)
    html = page.get(reverse("security:audit"), {"action": "catalog.entry.created"}).content.decode()
    assert "符合条件的事件超过 4 条" in html


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_streams_the_whole_search_and_is_audited(web_as, auditor, trail):
    response = web_as(auditor).get(reverse("security:audit-export"), {"action": "sharing."})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert not AuditEvent.objects.filter(action="security.audit.exported").exists()  # written when the stream ends
    rows = read_csv(response)
    assert rows[0][:3] == ["编号", "时间", "操作主体"]
    assert [int(r[0]) for r in rows[1:]] == sorted(ids(trail, "approved", "read", "other_read", "revoked"),
                                                   reverse=True)
    [event] = AuditEvent.objects.filter(action="security.audit.exported")
    assert event.actor == auditor and event.result == AuditResult.SUCCESS
    assert event.data == {"filters": {"action": "sharing."}, "rows": 4, "completed": True, "format": "csv"}


def test_the_export_event_keeps_the_request_source_address_and_id(web_as, auditor, trail):
    # The event is written when the stream ends, after the request middleware has let go of the request's context.
    response = web_as(auditor).get(reverse("security:audit-export"), REMOTE_ADDR="10.20.30.40",
                                   HTTP_X_REQUEST_ID="export-req-0001")
    read_csv(response)
    [event] = AuditEvent.objects.filter(action="security.audit.exported")
    assert (str(event.ip), event.request_id) == ("10.20.30.40", "export-req-0001")


def test_an_export_closed_unread_is_audited_as_incomplete(web_as, auditor, trail):
    response = web_as(auditor).get(reverse("security:audit-export"))
    closed_by_client(response)  # the client went away
    [event] = AuditEvent.objects.filter(action="security.audit.exported")
    assert event.result == AuditResult.FAILURE and event.data["completed"] is False and event.data["rows"] == 0


def test_export_neutralises_formulas_in_every_column(web_as, auditor):
    for n, value in enumerate(HOSTILE_CELLS):
        make_event("portal.auth.login_failed", label=value[:150], object_type=value[:100], object_id=value[:64],
                   object_repr=value, data={"username": value}, result=AuditResult.FAILURE,
                   when=at(2026, 11, 1, 8, n))
    rows = read_csv(web_as(auditor).get(reverse("security:audit-export"), {"action": "portal.auth.login_failed"}))
    assert len(rows) == len(HOSTILE_CELLS) + 1
    for row in rows:
        for cell in row:
            unquoted_csv_cell(cell)  # fails on a live formula
    assert {unquoted_csv_cell(r[2]) for r in rows[1:]} == {v[:150] for v in HOSTILE_CELLS}


def test_xss_in_events_is_shown_escaped(web_as, auditor):
    make_event("portal.auth.login_failed", label="<script>alert(1)</script>", object_repr="<img src=x onerror=1>",
               data={"username": "</pre><script>alert(2)</script>"})
    html = web_as(auditor).get(reverse("security:audit")).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.fixture
def people(db, auditor, system_admin, security_admin, reviewer, staff, head, county_bureau_user, bureau):
    return {"anonymous": None, "auditor": auditor, "system_admin": system_admin, "security_admin": security_admin,
            "reviewer": reviewer, "staff": staff, "head": head, "county": county_bureau_user,
            "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor")}


def test_only_the_audit_admin_reads_the_trail(people, api_client_row):
    others = [p for p in people if p not in ("anonymous", "auditor")]
    page = {"anonymous": LOGIN, "auditor": 200, **dict.fromkeys(others, 404)}
    check_matrix(people, [
        Row("get", reverse("security:audit"), page),
        Row("get", reverse("security:audit") + "?action=portal.", page),
        Row("get", reverse("security:audit-export"), page),
    ])
    client, secret = api_client_row
    check_matrix({**people, "api_client": SignedClient(client.client_id, secret)}, [
        # Business people are refused by the view (403); the other two administrators never reach it (三员分立:
        # portal.confinement answers 404 outside an administrator's area).
        Row("get", API, {"anonymous": 401, "auditor": 200, **dict.fromkeys(others, 403), "api_client": 403,
                         "system_admin": 404, "security_admin": 404}),
        Row("get", API + "?person=%00", {"auditor": 400, "staff": 403, "system_admin": 404}),
    ], api=True)
    searches = AuditEvent.objects.filter(action="security.audit.searched")
    assert {e.actor_id for e in searches} == {people["auditor"].pk}


def test_the_menu_leads_the_audit_admin_to_the_viewer(web_as, auditor):
    html = web_as(auditor).get(reverse("home")).content.decode()
    assert f'href="{reverse("security:audit")}"' in html and "审计查询" in html


def test_the_endpoint_and_its_parameters_are_in_the_openapi(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][API]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"person", "department", "action", "object_type", "object_id", "grant", "result", "ip", "since", "until",
            "cursor", "limit"} <= names
    described = {p["name"]: p.get("description", "") for p in operation["parameters"]}
    assert "CIDR" in described["ip"] and "北京时间" in described["since"]


def test_a_forged_cursor_or_limit_is_refused(api_as, auditor):
    import base64

    client = api_as(auditor)
    forged = base64.b64encode(b"o=0&p=not-a-time").decode()
    for query in ({"cursor": forged}, {"cursor": "%%%"}, {"limit": "０"}, {"limit": "-1"}):
        response = client.get(API, query)
        assert response.status_code == 400 and response.json()["code"] == "invalid", query
    assert not AuditEvent.objects.filter(action="security.audit.searched").exists()


def test_paging_past_an_unknown_event_shows_nothing(web_as, auditor, trail):
    response = web_as(auditor).get(reverse("security:audit"), {"before": "999999999"})
    assert response.status_code == 200 and response.context["rows"] == []


def test_common_results_page_by_time_through_the_ordered_scan(api_as, auditor, monkeypatch):
    from security.selectors import audit as selector

    monkeypatch.setattr(selector, "COUNT_LIMIT", 3)  # more matches than the probe takes: the ordered scan pages
    made = [make_event("catalog.entry.created", object_id=str(n), when=at(2026, 11, 1 + n % 3, 8, 0)) for n in range(8)]
    seen = all_pages(api_as(auditor), f"{API}?action=catalog.entry.created&limit=3", "id")
    expected = [e.pk for e in sorted(made, key=lambda e: (e.occurred_at, e.pk), reverse=True)]
    assert seen == expected
