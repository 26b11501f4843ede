"""The security incident register (R31): report → handle → close through pages and API, who may do what, the
audit events, and refusals of bad input."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.choices import Role
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import AuditEvent, Notification
from security.choices import IncidentSeverity, IncidentState
from security.models import SecurityIncident
from security.services.incidents import (
    security_incident_close,
    security_incident_handle,
    security_incident_report,
)
from tests.factories import make_user
from tests.permissions import LOGIN, Row, check_matrix
from tests.sharing.helpers import published_entry

pytestmark = pytest.mark.django_db

API = "/api/v1/security/incidents/"


def an_hour_ago():
    return timezone.now() - dt.timedelta(hours=1)


@pytest.fixture
def entry(dept):
    return published_entry(dept)


@pytest.fixture
def incident(security_admin, entry, dept, reviewer):
    return security_incident_report(actor=security_admin, title="接口异常调用", severity=IncidentSeverity.LARGER,
                                    occurred_at=an_hour_ago(), description="夜间批量拉取",
                                    resource_keys=[entry.resource_key], department_ids=[dept.pk])


def actions(incident):
    return list(AuditEvent.objects.filter(object_type="security.securityincident", object_id=str(incident.pk))
                .order_by("id").values_list("action", flat=True))


def test_the_pages_take_an_incident_from_report_to_close(web_as, security_admin, reviewer, entry, dept, other_dept):
    client = web_as(security_admin)
    response = client.post(reverse("security:incident-report"), {
        "title": "数据泄露疑似事件", "severity": IncidentSeverity.MAJOR, "occurred_at": "2026-11-20T22:15",
        "description": "导出文件在外网出现", "resources": f"{entry.resource_key}\n",
        "departments": [dept.pk, other_dept.pk]})
    incident = SecurityIncident.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("security:incident-detail",
                                                                            args=[incident.pk])
    assert incident.state == IncidentState.REPORTED and incident.reported_by == security_admin
    assert list(incident.resources.all()) == [entry]
    assert set(incident.departments.all()) == {dept, other_dept}
    assert Notification.objects.filter(recipient=reviewer, title__contains="数据泄露疑似事件").exists()

    html = client.get(incident.get_absolute_url()).content.decode()
    assert "数据泄露疑似事件" in html and entry.code in html and 'data-testid="incident-handle"' in html

    client.post(reverse("security:incident-handle", args=[incident.pk]), {"measures": "暂停客户端，更换密钥"})
    incident.refresh_from_db()
    assert incident.state == IncidentState.HANDLING and incident.handled_by == security_admin
    assert incident.measures == "暂停客户端，更换密钥"

    client.post(reverse("security:incident-close", args=[incident.pk]), {"conclusion": "已溯源并整改"})
    incident.refresh_from_db()
    assert incident.state == IncidentState.CLOSED and incident.closed_at is not None
    assert incident.conclusion == "已溯源并整改"
    assert actions(incident) == ["security.incident.reported", "security.incident.handling",
                                 "security.incident.closed"]
    event = AuditEvent.objects.get(action="security.incident.reported")
    assert event.actor == security_admin and event.data["resources"] == [entry.pk]
    assert sorted(event.data["departments"]) == sorted([dept.pk, other_dept.pk])

    listing = web_as(reviewer).get(reverse("security:incident-list")).content.decode()
    assert "数据泄露疑似事件" in listing and "已关闭" in listing


def test_a_form_error_names_the_unknown_resource_and_nothing_is_written(web_as, security_admin):
    response = web_as(security_admin).post(reverse("security:incident-report"), {
        "title": "事件", "severity": IncidentSeverity.ORDINARY, "occurred_at": "2026-11-20T22:15",
        "description": "经过", "resources": "303-NOPE0001"})
    assert response.status_code == 200
    assert "涉及资源不存在：303/NOPE0001" in response.content.decode()
    assert not SecurityIncident.objects.exists() and not AuditEvent.objects.filter(
        action="security.incident.reported").exists()


def test_the_steps_go_in_order_only(security_admin, incident):
    with pytest.raises(InvalidTransition):
        security_incident_close(actor=security_admin, incident_id=incident.pk, conclusion="结论")
    security_incident_handle(actor=security_admin, incident_id=incident.pk, measures="措施")
    with pytest.raises(InvalidTransition):
        security_incident_handle(actor=security_admin, incident_id=incident.pk, measures="再次")
    security_incident_close(actor=security_admin, incident_id=incident.pk, conclusion="结论")
    with pytest.raises(InvalidTransition):
        security_incident_close(actor=security_admin, incident_id=incident.pk, conclusion="再次")
    assert actions(incident) == ["security.incident.reported", "security.incident.handling",
                                 "security.incident.closed"]


def test_bad_values_are_refused_by_the_service(security_admin, reviewer):
    base = {"title": "事件", "severity": IncidentSeverity.ORDINARY, "occurred_at": an_hour_ago(),
            "description": "经过"}
    for change, field in [({"title": "  "}, "title"), ({"severity": "9"}, "severity"),
                          ({"occurred_at": timezone.now() + dt.timedelta(days=1)}, "occurred_at"),
                          ({"description": "a\x00b"}, "description"), ({"department_ids": [999999]}, "departments")]:
        with pytest.raises(PortalError) as refused:
            security_incident_report(actor=security_admin, **{**base, **change})
        assert field in refused.value.errors, change
    with pytest.raises(PermissionDenied):
        security_incident_report(actor=reviewer, **base)
    assert not SecurityIncident.objects.exists()


def test_the_api_takes_an_incident_from_report_to_close(api_as, security_admin, reviewer, entry, dept):
    api = api_as(security_admin)
    response = api.post(API, {"title": "撞库攻击", "severity": "2", "occurred_at": "2026-11-20T22:15:00+08:00",
                              "description": "登录失败激增", "resources": [entry.resource_key],
                              "departments": [dept.pk]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "reported" and body["resources"] == [entry.resource_key]
    assert body["departments"] == [dept.pk] and body["severity_label"] == "重大（Ⅱ级）"
    pk = body["id"]
    assert api.post(f"{API}{pk}/close/", {"conclusion": "x"}, format="json").json()["code"] == "invalid_state"
    assert api.post(f"{API}{pk}/handle/", {"measures": "封禁来源地址"}, format="json").json()["state"] == "handling"
    assert api.post(f"{API}{pk}/close/", {"conclusion": "已处置"}, format="json").json()["state"] == "closed"
    assert actions(SecurityIncident.objects.get(pk=pk)) == [
        "security.incident.reported", "security.incident.handling", "security.incident.closed"]

    reader = api_as(reviewer)
    assert [r["id"] for r in reader.get(API + "?state=closed").json()["results"]] == [pk]
    assert reader.get(API + "?state=reported").json()["results"] == []
    assert reader.get(f"{API}?department={dept.pk}").json()["results"][0]["id"] == pk


def test_the_api_refuses_bad_bodies_and_parameters(api_as, security_admin):
    api = api_as(security_admin)
    full_width = api.post(API, {"title": "事件", "severity": "4", "occurred_at": "２０２６-11-20T22:15",
                                "description": "经过"}, format="json")
    assert full_width.status_code == 400 and full_width.json()["code"] == "invalid"
    unknown = api.post(API, {"title": "事件", "severity": "4", "occurred_at": "2026-11-20T22:15",
                             "description": "经过", "resources": ["303-NOPE"]}, format="json")
    assert unknown.status_code == 400 and "303/NOPE" in unknown.json()["detail"]
    for query in ("?state=open", "?severity=%00", "?sate=closed", "?department=１"):
        assert api.get(API + query).status_code == 400, query
    assert not SecurityIncident.objects.exists()


@pytest.fixture
def people(db, system_admin, security_admin, audit_admin, reviewer, staff, head, county_bureau_user, bureau):
    return {"anonymous": None, "system_admin": system_admin, "security_admin": security_admin,
            "audit_admin": audit_admin, "reviewer": reviewer, "staff": staff, "head": head,
            "county": county_bureau_user, "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor")}


def test_the_security_admin_keeps_the_register_and_the_reviewer_reads_it(people, incident):
    business = ("staff", "head", "county", "assessor")
    read = {"anonymous": LOGIN, "security_admin": 200, "reviewer": 200, "system_admin": 404, "audit_admin": 404,
            **dict.fromkeys(business, 404)}
    change = {"anonymous": LOGIN, "security_admin": 302, "reviewer": 403, "system_admin": 404, "audit_admin": 404,
              **dict.fromkeys(business, 404)}
    detail = reverse("security:incident-detail", args=[incident.pk])
    check_matrix(people, [
        Row("get", reverse("security:incident-list"), read),
        Row("get", detail, read),
        Row("get", reverse("security:incident-detail", args=[incident.pk + 1000]),
            {"security_admin": 404, "reviewer": 404}),
        Row("get", reverse("security:incident-report"), {**read, "reviewer": 403}),
        Row("post", reverse("security:incident-handle", args=[incident.pk]), change, {"measures": "措施"}),
    ], isolated=True)
    api_read = {"anonymous": 401, "security_admin": 200, "reviewer": 200, "system_admin": 404, "audit_admin": 404,
                **dict.fromkeys(business, 403)}
    api_change = {**api_read, "security_admin": 200, "reviewer": 403}
    check_matrix(people, [
        Row("get", API, api_read),
        Row("get", f"{API}{incident.pk}/", api_read),
        Row("post", f"{API}{incident.pk}/handle/", api_change, {"measures": "措施"}),
        Row("post", API, {**api_read, "security_admin": 201, "reviewer": 403},
            {"title": "事件", "severity": "4", "occurred_at": "2026-11-20T22:15", "description": "经过"}),
    ], api=True, isolated=True)
    incident.refresh_from_db()
    assert incident.state == IncidentState.REPORTED  # each cell was rolled back


def test_the_desk_links_the_register_and_the_schema_documents_it(web_as, security_admin, client):
    html = web_as(security_admin).get(reverse("security:index")).content.decode()
    assert f'href="{reverse("security:incident-list")}"' in html
    client.logout()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {API, f"{API}{{id}}/", f"{API}{{id}}/handle/", f"{API}{{id}}/close/"} <= set(schema["paths"])
    names = {p["name"] for p in schema["paths"][API]["get"]["parameters"]}
    assert {"state", "severity", "department"} <= names
