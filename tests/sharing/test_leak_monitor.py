"""Leak monitoring (R28.4) against the real data API: an enumeration attack by a signed client is flagged, the client
suspended at once (its next signed call refused), the security administrator notified, all audited; a client's steady
use files nothing."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from portal.models import AuditEvent, Notification
from security.choices import AnomalyKind
from security.markers import enumeration_marker
from security.models import LeakAnomaly, LeakMeasure
from security.services.leaks import MONITOR, hour_floor, leak_monitor_hour
from sharing.choices import ClientState
from sharing.services.clients import api_client_leak_policy_set, api_client_register
from tests.aggregation.builders import id_number, ids
from tests.sharing.helpers import PEOPLE, load, rows_for
from tests.support import LOOPBACK, signed_headers

pytestmark = pytest.mark.django_db


def caller(api_client, client, secret):
    def _call(path, purpose="窗口核验"):
        parts = urlsplit(path)
        headers = signed_headers(client.client_id, secret, "GET", parts.path, parts.query)
        headers["HTTP_X_PURPOSE"] = purpose.encode().decode("latin-1")
        return api_client.get(path, **headers)

    return _call


def query_url(entry, key):
    return f"/api/v1/data/{entry.resource_key}/records/{key}/"


def monitor() -> list[LeakAnomaly]:
    """Run the monitor over every hour the reads of this test fell in (a test may straddle an hour)."""
    hours = {hour_floor(t) for t in AuditEvent.objects.filter(action="sharing.data.read")
             .values_list("occurred_at", flat=True)}
    filed = [pk for hour in sorted(hours) for pk in leak_monitor_hour(hour=hour)]
    return list(LeakAnomaly.objects.filter(pk__in=filed).order_by("id"))


@pytest.fixture
def people(make_entry, dept, staff):
    """A population resource of dept offering online query; 20 of 30 consecutive ID numbers are on file."""
    entry = make_entry(provider=dept, items=PEOPLE, name="户籍人口信息")
    keys = [id_number(n, born="19880808") for n in range(200, 230)]  # valid check digits, sequence 200–229
    load(entry, staff, rows_for(keys[:20]))
    return entry, keys


def test_enumeration_attack_by_a_signed_client(people, api_client, api_client_row, make_grant, security_admin,
                                               audit_log):
    entry, keys = people
    client, secret = api_client_row
    make_grant(client.department, entry, ["姓名"], methods=("query",))
    call = caller(api_client, client, secret)
    answers = [call(query_url(entry, key)).status_code for key in keys]
    assert answers == [200] * 20 + [404] * 10

    # The trail holds the markers, never a key.
    reads = audit_log("sharing.data.read")
    assert len(reads) == 30 and all(r.actor_label == f"client:{client.client_id}" for r in reads)
    assert [r.data["enum"]["n"] for r in reads] == list(range(200, 230))
    trail = json.dumps([e.data for e in AuditEvent.objects.all()], ensure_ascii=False)
    assert not any(key in trail or key[:14] in trail for key in keys)

    [anomaly] = monitor()
    assert (anomaly.kind, anomaly.caller, anomaly.department_id) == (
        AnomalyKind.ENUMERATION, f"client:{client.client_id}", client.department_id)
    assert anomaly.measures["prefix"] == enumeration_marker(keys[0])["p"]
    assert anomaly.measures["consecutive"] >= 10 and anomaly.suspended
    assert {e[0] for e in anomaly.evidence} <= {r.pk for r in reads}

    # Suspended through sharing's own suspension, as the monitor's decision; the next signed call is refused.
    client.refresh_from_db()
    assert client.state == ClientState.SUSPENDED and str(anomaly.pk) in client.suspend_reason
    refused = call(query_url(entry, keys[0]))
    assert refused.status_code == 403 and refused.json()["code"] == "client_suspended"
    [suspended] = audit_log("sharing.client.suspended")
    assert suspended.actor is None and suspended.actor_label == MONITOR
    assert suspended.data["by"] == "leak_monitor" and suspended.data["anomaly"] == anomaly.pk
    [found] = audit_log("security.leak.anomaly_found")
    assert found.object_id == str(anomaly.pk) and found.data["kind"] == "enumeration"
    note = Notification.objects.get(recipient=security_admin)
    assert client.client_id in note.title and note.url == anomaly.get_absolute_url()

    # Rerun: nothing new filed, notified or suspended.
    assert monitor() == []
    assert LeakAnomaly.objects.count() == 1 and Notification.objects.filter(recipient=security_admin).count() == 1
    assert len(audit_log("sharing.client.suspended")) == 1


def test_a_client_whose_policy_is_off_is_flagged_not_suspended(people, api_client, api_client_row, make_grant,
                                                                security_admin, audit_log):
    entry, keys = people
    client, secret = api_client_row
    api_client_leak_policy_set(actor=security_admin, client_pk=client.pk, auto_suspend=False)
    assert audit_log("sharing.client.leak_policy_set")[0].data["leak_auto_suspend"] == {"old": True, "new": False}
    make_grant(client.department, entry, ["姓名"], methods=("query",))
    call = caller(api_client, client, secret)
    for key in keys[:12]:
        call(query_url(entry, key))
    [anomaly] = monitor()
    assert anomaly.kind == AnomalyKind.ENUMERATION and not anomaly.suspended
    client.refresh_from_db()
    assert client.state == ClientState.ACTIVE and call(query_url(entry, keys[0])).status_code == 200


def test_steady_use_files_nothing(make_entry, dept, staff, other_dept, api_client, security_admin, make_grant):
    entry = make_entry(provider=dept, items=PEOPLE, name="户籍人口信息")
    keys = ids(40, start=500)  # people of many birth dates: no two consecutive in one prefix
    load(entry, staff, rows_for(keys))
    client, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="社保业务系统",
                                         allowed_networks=LOOPBACK)
    make_grant(other_dept, entry, ["姓名"], methods=("query", "api"))
    call = caller(api_client, client, secret)
    for key in keys[:30]:
        assert call(query_url(entry, key)).status_code == 200
    assert call(f"/api/v1/data/{entry.resource_key}/records/?limit=40").status_code == 200
    assert monitor() == []
    client.refresh_from_db()
    assert client.state == ClientState.ACTIVE and not Notification.objects.filter(recipient=security_admin).exists()
    [measure] = LeakMeasure.objects.filter(caller=f"client:{client.client_id}").order_by("-calls")[:1]
    assert measure.subjects >= 1 and measure.department_id == other_dept.pk


def test_the_security_admin_sets_the_policy_on_the_clients_page(api_client_row, web_as, security_admin, staff,
                                                                 audit_log):
    client, _secret = api_client_row
    assert web_as(staff).post(f"/sharing/clients/{client.pk}/leak-policy/", {"auto_suspend": "0"}).status_code == 404
    page = web_as(security_admin)
    assert page.post(f"/sharing/clients/{client.pk}/leak-policy/", {"auto_suspend": "0"}).status_code == 302
    client.refresh_from_db()
    assert client.leak_auto_suspend is False
    page.post(f"/sharing/clients/{client.pk}/leak-policy/", {"auto_suspend": "maybe"})
    client.refresh_from_db()
    assert client.leak_auto_suspend is False and len(audit_log("sharing.client.leak_policy_set")) == 1
    listing = page.get("/sharing/clients/").content.decode()
    assert 'name="auto_suspend" value="1"' in listing


def test_a_pull_filtered_on_the_subject_key_carries_the_markers(people, api_client, api_client_row, make_grant,
                                                                audit_log):
    from urllib.parse import quote

    from security.markers import subject_markers

    entry, keys = people
    client, secret = api_client_row
    make_grant(client.department, entry, ["公民身份号码", "姓名"], methods=("api",))
    call = caller(api_client, client, secret)
    response = call(f"/api/v1/data/{entry.resource_key}/records/?{quote('公民身份号码')}={keys[3]}")
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    [read] = audit_log("sharing.data.read")
    assert {k: read.data[k] for k in ("subject", "enum")} == subject_markers(keys[3])
    assert read.data["filters"] == ["公民身份号码"] and keys[3] not in json.dumps(read.data, ensure_ascii=False)
    # An unfiltered pull names no subject.
    call(f"/api/v1/data/{entry.resource_key}/records/")
    assert "subject" not in audit_log("sharing.data.read")[-1].data
