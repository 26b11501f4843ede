"""Leak monitoring (R28.4): subject markers, hourly measures and baselines, each detector on constructed events with
known answers, idempotence, and the security administrator's decisions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import AuditEvent, Notification
from security import markers
from security.choices import AnomalyKind, AnomalyState
from security.models import LeakAnomaly, LeakHour, LeakMeasure
from security.services import leaks
from tests.aggregation.builders import id_number

pytestmark = pytest.mark.django_db

TZ = timezone.get_fixed_timezone(8 * 60)
WEDNESDAY_10 = dt.datetime(2026, 11, 18, 10, 0, tzinfo=TZ)  # a working day, working hours
SATURDAY_10 = dt.datetime(2026, 11, 21, 10, 0, tzinfo=TZ)


def events(caller: str, hour: dt.datetime, n: int, *, rows: int = 1, action: str = "sharing.data.read",
           subjects=None, department=None, minute: int = 0) -> list[AuditEvent]:
    """`n` read events of `caller` in `hour` (a second apart from `minute`), `rows` each; `subjects`: keys looked up
    (one per event, their markers written as the data API writes them)."""
    rows_ = []
    for i in range(n):
        data = {"rows": rows, "method": "query"}
        if subjects is not None:
            data.update(markers.subject_markers(subjects[i]))
        rows_.append(AuditEvent(occurred_at=hour + dt.timedelta(minutes=minute, seconds=i), actor_label=caller,
                                department=department, action=action, data=data))
    return AuditEvent.objects.bulk_create(rows_)


def run(hour: dt.datetime) -> list[LeakAnomaly]:
    return list(LeakAnomaly.objects.filter(pk__in=leaks.leak_monitor_hour(hour=hour)).order_by("kind", "id"))


# ---------------------------------------------------------------- markers


def test_consecutive_id_numbers_share_a_hashed_prefix_and_have_consecutive_ordinals():
    keys = [id_number(n, born="19971224") for n in range(5, 9)]
    marks = [markers.enumeration_marker(k) for k in keys]
    assert len({m["p"] for m in marks}) == 1 and [m["n"] for m in marks] == [5, 6, 7, 8]
    other = markers.enumeration_marker(id_number(5, born="19971225"))
    assert other["p"] != marks[0]["p"] and other["n"] == 5
    # The key itself (and its stable prefix) is in no marker.
    for key, mark in zip(keys, markers.subject_markers(keys[0]).values(), strict=False):
        assert key[:14] not in str(mark) and key not in str(mark)


def test_credit_code_ordinal_is_the_organisation_codes_tail():
    from portal.validators import uscc_check_char

    def code(body: str) -> str:
        first17 = "91410800" + body
        return first17 + uscc_check_char(first17)

    a, b = markers.enumeration_marker(code("MA44111Y7")), markers.enumeration_marker(code("MA4411207"))
    assert a["p"] == b["p"] and b["n"] == a["n"] + 1  # …11Y → …120 (Y is the last of the 31 characters)
    assert markers.key_shape(code("MA44111Y7")) == markers.CREDIT_CODE
    assert markers.enumeration_marker("ABC") is None and markers.subject_markers("ABC").keys() == {"subject"}


# ---------------------------------------------------------------- measures and baselines


def test_hourly_measures_and_baseline_of_active_hours(dept):
    caller = "client:jzc_steady"
    for day, calls in ((1, 10), (2, 30)):  # two earlier active hours: mean 20 calls, 40 rows
        events(caller, WEDNESDAY_10 - dt.timedelta(days=day), calls, rows=2, department=dept)
        run(WEDNESDAY_10 - dt.timedelta(days=day))
    events(caller, WEDNESDAY_10, 25, rows=3, department=dept, subjects=[id_number(n) for n in range(0, 50, 2)])
    events("someone", WEDNESDAY_10, 2, rows=7, action="aggregation.dataset.viewed")
    events(caller, WEDNESDAY_10 + dt.timedelta(hours=1), 5)  # the next hour: not this one's
    assert run(WEDNESDAY_10) == []
    m = LeakMeasure.objects.get(caller=caller, hour=WEDNESDAY_10)
    assert (m.calls, m.rows, m.subjects, m.department_id) == (25, 75, 25, dept.pk)
    assert (m.baseline_calls, m.baseline_rows, m.baseline_subjects) == (20, 40, 0)
    other = LeakMeasure.objects.get(caller="someone", hour=WEDNESDAY_10)
    assert (other.calls, other.rows, other.subjects, other.baseline_calls) == (2, 14, 0, 0)
    assert LeakHour.objects.get(hour=WEDNESDAY_10).events == 27


# ---------------------------------------------------------------- detectors


def test_volume_ten_times_the_baseline_is_flagged_nine_times_is_not(dept):
    busy, calm = "client:jzc_busy", "client:jzc_calm"
    for day in range(1, 4):
        events(busy, WEDNESDAY_10 - dt.timedelta(days=day), 100, rows=50, department=dept)
        events(calm, WEDNESDAY_10 - dt.timedelta(days=day), 100, rows=50, department=dept)
        run(WEDNESDAY_10 - dt.timedelta(days=day))
    events(busy, WEDNESDAY_10, 100, rows=500, department=dept)  # rows 50 000 = 10 × 5 000
    events(calm, WEDNESDAY_10, 100, rows=449, department=dept)  # 44 900 < 10 × 5 000
    [anomaly] = run(WEDNESDAY_10)
    assert (anomaly.kind, anomaly.caller, anomaly.department_id) == (AnomalyKind.VOLUME, busy, dept.pk)
    assert anomaly.measures["rows"] == {"observed": 50000, "baseline": 5000.0, "compared": 5000.0}
    assert anomaly.measures["calls"]["observed"] == 100 and anomaly.measures["factor"] == 10
    assert anomaly.evidence_count == 100 and len(anomaly.evidence) == 100
    ids = set(AuditEvent.objects.filter(actor_label=busy, occurred_at__gte=WEDNESDAY_10).values_list("pk", flat=True))
    assert {e[0] for e in anomaly.evidence} == ids and {e[1] for e in anomaly.evidence} == {500}
    assert anomaly.window_start == WEDNESDAY_10 and anomaly.window_end == WEDNESDAY_10 + dt.timedelta(hours=1)
    assert anomaly.state == AnomalyState.OPEN and not anomaly.suspended


def test_a_quiet_callers_first_busy_hour_is_compared_with_the_floor():
    events("client:jzc_new", WEDNESDAY_10 - dt.timedelta(days=1), 1, rows=1)
    run(WEDNESDAY_10 - dt.timedelta(days=1))
    events("client:jzc_new", WEDNESDAY_10, 59, rows=300)  # 59 calls, 17 700 rows: below 10 × the floors
    assert run(WEDNESDAY_10) == []
    events("client:jzc_new", WEDNESDAY_10 + dt.timedelta(hours=1), 600, rows=1)  # 600 calls = 10 × 60
    [anomaly] = run(WEDNESDAY_10 + dt.timedelta(hours=1))
    assert anomaly.kind == AnomalyKind.VOLUME and anomaly.measures["calls"]["compared"] == 60


def test_enumeration_of_consecutive_id_numbers(settings_value):
    settings_value("leak_enumeration_run", 10)
    walk = [id_number(n, born="19800101") for n in range(100, 110)]  # 10 consecutive
    short = [id_number(n, born="19800102") for n in range(100, 109)]  # 9 consecutive
    spread = [id_number(n, born="19800103") for n in range(100, 140, 2)]  # 20, every other one
    events("client:jzc_walker", WEDNESDAY_10, 10, subjects=walk, rows=0)
    events("client:jzc_short", WEDNESDAY_10, 9, subjects=short)
    events("client:jzc_spread", WEDNESDAY_10, 20, subjects=spread)
    # Two callers with five each of one run: a run is one caller's.
    events("client:jzc_half1", WEDNESDAY_10, 5, subjects=walk[:5])
    events("client:jzc_half2", WEDNESDAY_10, 5, subjects=walk[5:])
    [anomaly] = run(WEDNESDAY_10)
    assert (anomaly.kind, anomaly.caller) == (AnomalyKind.ENUMERATION, "client:jzc_walker")
    prefix = markers.enumeration_marker(walk[0])["p"]
    assert anomaly.measures == {"prefix": prefix, "first": 100, "last": 109, "consecutive": 10, "threshold": 10}
    assert anomaly.evidence_count == 10 and [e[1] for e in anomaly.evidence] == [0] * 10
    assert all(k not in str(anomaly.measures) + str(anomaly.evidence) for k in walk)


def test_off_hours_bulk_reads(settings_value):
    settings_value("leak_offhours_rows", 1000)
    evening = WEDNESDAY_10.replace(hour=20)
    events("client:jzc_night", evening, 2, rows=600)
    events("client:jzc_small", evening, 3, rows=300)  # 900 < 1 000
    [anomaly] = run(evening)
    assert (anomaly.kind, anomaly.caller) == (AnomalyKind.OFF_HOURS, "client:jzc_night")
    assert anomaly.measures["rows"] == 1200 and anomaly.measures["working_day"] is True
    # The same reads in working hours: nothing; on a Saturday morning: flagged.
    events("client:jzc_night", WEDNESDAY_10, 2, rows=600)
    assert run(WEDNESDAY_10) == []
    events("client:jzc_night", SATURDAY_10, 2, rows=600)
    [saturday] = run(SATURDAY_10)
    assert saturday.kind == AnomalyKind.OFF_HOURS and saturday.measures["working_day"] is False


def test_off_hours_edges_are_08_30_and_18_00(settings_value):
    settings_value("leak_offhours_rows", 100)
    events("client:a", WEDNESDAY_10.replace(hour=8), 1, rows=100, minute=29)  # 08:29: outside
    events("client:b", WEDNESDAY_10.replace(hour=8), 1, rows=100, minute=30)  # 08:30: inside
    assert [a.caller for a in run(WEDNESDAY_10.replace(hour=8))] == ["client:a"]
    events("client:c", WEDNESDAY_10.replace(hour=17), 1, rows=100, minute=59)  # 17:59: inside
    events("client:d", WEDNESDAY_10.replace(hour=18), 1, rows=100)  # 18:00: outside
    assert run(WEDNESDAY_10.replace(hour=17)) == []
    assert [a.caller for a in run(WEDNESDAY_10.replace(hour=18))] == ["client:d"]


def test_one_subject_queried_by_many_callers(settings_value, dept, other_dept):
    settings_value("leak_shared_subject_callers", 3)
    star, quiet = id_number(7, born="19650505"), id_number(8, born="19650505")
    for i, caller in enumerate(["client:x", "client:y", "clerk1"]):
        events(caller, WEDNESDAY_10, 2, subjects=[star, star], department=dept if i else other_dept)
    events("client:x", WEDNESDAY_10, 1, subjects=[quiet], minute=5)
    events("client:y", WEDNESDAY_10, 1, subjects=[quiet], minute=5)
    # A page view of the record (the blind index under `key`) counts as a lookup too.
    AuditEvent.objects.create(occurred_at=WEDNESDAY_10, actor_label="clerk2", action="aggregation.record.viewed",
                              data={"key": markers.subject_markers(quiet)["subject"]})
    anomalies = run(WEDNESDAY_10)
    assert [a.kind for a in anomalies] == [AnomalyKind.SHARED_SUBJECT] * 2
    by_key = {a.key: a for a in anomalies}
    top = by_key[markers.subject_markers(star)["subject"]]
    assert top.caller == "" and top.measures["callers"] == 3 and top.measures["departments"] == 2
    assert sorted(top.measures["names"]) == ["clerk1", "client:x", "client:y"] and top.evidence_count == 6
    assert by_key[markers.subject_markers(quiet)["subject"]].measures["callers"] == 3


# ---------------------------------------------------------------- idempotence, announcements


def test_rerunning_an_hour_files_nothing_new(settings_value, security_admin):
    settings_value("leak_enumeration_run", 5)
    events("clerk", WEDNESDAY_10, 5, subjects=[id_number(n) for n in range(5)])
    first = run(WEDNESDAY_10)
    assert len(first) == 1 and Notification.objects.filter(recipient=security_admin).count() == 1
    assert run(WEDNESDAY_10) == []
    LeakHour.objects.all().delete()  # even without the ledger the rows are unique
    assert run(WEDNESDAY_10) == []
    assert LeakAnomaly.objects.count() == 1 and LeakMeasure.objects.count() == 1
    assert Notification.objects.filter(recipient=security_admin).count() == 1
    found = AuditEvent.objects.filter(action="security.leak.anomaly_found")
    assert [(e.object_id, e.actor_label) for e in found] == [(str(first[0].pk), leaks.MONITOR)]


def test_the_run_processes_each_full_hour_once(settings_value):
    settings_value("leak_enumeration_run", 5)
    events("clerk", WEDNESDAY_10, 5, subjects=[id_number(n) for n in range(5)])
    now = WEDNESDAY_10 + dt.timedelta(hours=1, minutes=5)
    assert len(leaks.leak_monitor_run(now=now)) == 1
    assert LeakHour.objects.count() == leaks.CATCH_UP_HOURS
    assert leaks.leak_monitor_run(now=now) == [] and LeakHour.objects.count() == leaks.CATCH_UP_HOURS
    assert leaks.leak_monitor_run(now=now + dt.timedelta(hours=1)) == []
    assert LeakHour.objects.filter(hour=WEDNESDAY_10 + dt.timedelta(hours=1)).exists()


def test_a_person_is_flagged_never_suspended(settings_value, security_admin):
    settings_value("leak_enumeration_run", 5)
    events("clerk", WEDNESDAY_10, 5, subjects=[id_number(n) for n in range(5)])
    [anomaly] = run(WEDNESDAY_10)
    assert not anomaly.suspended
    note = Notification.objects.get(recipient=security_admin)
    assert "clerk" in note.title and note.url == f"/security/anomalies/{anomaly.pk}/"


# ---------------------------------------------------------------- decisions


@pytest.fixture
def anomaly(settings_value):
    settings_value("leak_enumeration_run", 5)
    events("clerk", WEDNESDAY_10, 5, subjects=[id_number(n) for n in range(5)])
    return run(WEDNESDAY_10)[0]


def test_confirm_and_dismiss_are_the_security_admins_with_a_reason(anomaly, security_admin, audit_admin, audit_log):
    with pytest.raises(PermissionDenied):
        leaks.leak_anomaly_confirm(actor=audit_admin, anomaly_id=anomaly.pk, reason="越权")
    with pytest.raises(PortalError) as refused:
        leaks.leak_anomaly_confirm(actor=security_admin, anomaly_id=anomaly.pk, reason="  ")
    assert refused.value.code == "invalid"
    done = leaks.leak_anomaly_confirm(actor=security_admin, anomaly_id=anomaly.pk, reason="确认遍历查询")
    assert done.state == AnomalyState.CONFIRMED and done.decided_by == security_admin
    [event] = audit_log("security.leak.anomaly_confirmed")
    assert event.data["reason"] == "确认遍历查询" and event.actor == security_admin
    with pytest.raises(InvalidTransition):
        leaks.leak_anomaly_dismiss(actor=security_admin, anomaly_id=anomaly.pk, reason="误报")


def test_dismiss(anomaly, security_admin, audit_log):
    leaks.leak_anomaly_dismiss(actor=security_admin, anomaly_id=anomaly.pk, reason="窗口批量核验，已报备")
    anomaly.refresh_from_db()
    assert anomaly.state == AnomalyState.DISMISSED and anomaly.reason == "窗口批量核验，已报备"
    assert audit_log("security.leak.anomaly_dismissed")[0].data["state"] == {"old": "open", "new": "dismissed"}


# ---------------------------------------------------------------- pages and API


def test_the_pages_are_the_security_admins(anomaly, web_as, security_admin, audit_admin, staff, reviewer):
    for person in (audit_admin, staff, reviewer):
        client = web_as(person)
        assert client.get("/security/anomalies/").status_code == 404
        assert client.get(f"/security/anomalies/{anomaly.pk}/").status_code == 404
    client = web_as(security_admin)
    listing = client.get("/security/anomalies/?kind=enumeration&state=open")
    assert listing.status_code == 200 and f'data-anomaly="{anomaly.pk}"' in listing.content.decode()
    assert f'data-anomaly="{anomaly.pk}"' not in client.get("/security/anomalies/?kind=volume").content.decode()
    assert client.get("/security/anomalies/?caller=%00").status_code == 200  # a form error, no query
    page = client.get(f"/security/anomalies/{anomaly.pk}/").content.decode()
    for event_id, _rows in anomaly.evidence:
        assert f'data-event="{event_id}"' in page
    assert "/security/audit/?" in page and "person=clerk" in page


def test_confirm_on_the_page(anomaly, web_as, security_admin):
    client = web_as(security_admin)
    response = client.post(f"/security/anomalies/{anomaly.pk}/confirm/", {"reason": ""})
    assert response.status_code == 302
    anomaly.refresh_from_db()
    assert anomaly.state == AnomalyState.OPEN
    client.post(f"/security/anomalies/{anomaly.pk}/confirm/", {"reason": "确认遍历"})
    anomaly.refresh_from_db()
    assert anomaly.state == AnomalyState.CONFIRMED
    assert "确认遍历" in client.get(f"/security/anomalies/{anomaly.pk}/").content.decode()


def test_the_api(anomaly, api_as, security_admin, staff):
    assert api_as(staff).get("/api/v1/security/anomalies/").status_code == 403
    client = api_as(security_admin)
    body = client.get("/api/v1/security/anomalies/?kind=enumeration").json()
    assert [row["id"] for row in body["results"]] == [anomaly.pk]
    assert client.get("/api/v1/security/anomalies/?kind=volume").json()["results"] == []
    assert client.get("/api/v1/security/anomalies/?kind=nope").status_code == 400
    detail = client.get(f"/api/v1/security/anomalies/{anomaly.pk}/").json()
    assert detail["evidence"] == anomaly.evidence and detail["measures"]["consecutive"] == 5
    refused = client.post(f"/api/v1/security/anomalies/{anomaly.pk}/dismiss/", {}, format="json")
    assert refused.status_code == 400
    done = client.post(f"/api/v1/security/anomalies/{anomaly.pk}/dismiss/", {"reason": "已核实为正常业务"},
                       format="json")
    assert done.status_code == 200 and done.json()["state"] == "dismissed"
    again = client.post(f"/api/v1/security/anomalies/{anomaly.pk}/confirm/", {"reason": "x"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


def test_the_beat_runs_the_monitor_hourly():
    from django.conf import settings

    from security.tasks import leak_monitor_task

    assert settings.CELERY_BEAT_SCHEDULE["security.leak_monitor"]["task"] == leak_monitor_task.name
    assert leak_monitor_task() == 0 and LeakHour.objects.count() == leaks.CATCH_UP_HOURS


def test_an_event_of_another_shape_does_not_stop_the_hour():
    AuditEvent.objects.create(occurred_at=WEDNESDAY_10, actor_label="client:odd", action="sharing.data.read",
                              data={"rows": "many", "enum": {"p": "x", "n": "seven"}})
    events("client:odd", WEDNESDAY_10, 2, rows=3, minute=1)
    assert run(WEDNESDAY_10) == []
    m = LeakMeasure.objects.get(caller="client:odd")
    assert (m.calls, m.rows) == (3, 6)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs_of_one_hour_file_once(settings_value):
    import threading

    from django.db import connection

    settings_value("leak_enumeration_run", 5)
    events("clerk", WEDNESDAY_10, 5, subjects=[id_number(n) for n in range(5)])
    results, start = [], threading.Barrier(2)

    def work():
        try:
            start.wait()
            results.append(leaks.leak_monitor_hour(hour=WEDNESDAY_10))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 1]
    assert LeakAnomaly.objects.count() == 1 and LeakHour.objects.count() == 1
