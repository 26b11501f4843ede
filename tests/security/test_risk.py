"""Risk assessments (R32): each department on a cycle; the due date runs as a kernel deadline (reminder, overdue);
completing one schedules the next a cycle on; pages, API, who may do what, audit events."""

import datetime as dt

import pytest
from django.urls import reverse

from portal.choices import Clock, DeadlineState, Role
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import AuditEvent, Deadline, Notification
from portal.services.deadlines import deadline_sweep
from security.choices import RiskAssessmentState
from security.models import RiskAssessment
from security.services.risk import add_months, risk_assessment_complete, risk_assessment_schedule
from tests.factories import make_user
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db

API = "/api/v1/security/risk-assessments/"
D = dt.date


def clock_of(assessment):
    return Deadline.objects.for_case(assessment).get(clock=Clock.RISK_ASSESSMENT)


def test_a_department_is_assessed_on_its_cycle(web_as, freeze_today, security_admin, staff, dept):
    freeze_today(D(2026, 11, 2))
    client = web_as(security_admin)
    response = client.post(reverse("security:risk-list"), {"department": dept.pk, "cycle": "12",
                                                           "due_date": "2026-11-30"})
    assessment = RiskAssessment.objects.get()
    assert response.status_code == 302 and response["Location"] == assessment.get_absolute_url()
    clock = clock_of(assessment)
    assert clock.due_on == D(2026, 11, 30) and clock.department == dept and clock.state == DeadlineState.OPEN
    scheduled = AuditEvent.objects.get(action="security.risk_assessment.scheduled")
    assert scheduled.actor == security_admin and scheduled.data["due_date"] == "2026-11-30"

    # The kernel's sweep reminds the department before the due date and marks the clock overdue after it.
    deadline_sweep(today=freeze_today(D(2026, 11, 27)))
    assert Notification.objects.filter(recipient=staff, deadline=clock, kind="reminder").exists()
    deadline_sweep(today=freeze_today(D(2026, 12, 2)))
    clock.refresh_from_db()
    assert clock.state == DeadlineState.OVERDUE
    assert 'data-testid="overdue"' in client.get(reverse("security:risk-list")).content.decode()
    assert client.get(API, format="json").json()["results"][0]["overdue"] is True

    client.post(reverse("security:risk-complete", args=[assessment.pk]),
                {"level": "medium", "findings": "口令策略需加强；两处接口未做访问控制"})
    assessment.refresh_from_db()
    clock.refresh_from_db()
    assert assessment.state == RiskAssessmentState.COMPLETED and assessment.completed_on == D(2026, 12, 2)
    assert clock.state == DeadlineState.CLOSED and clock.closed_late
    following = RiskAssessment.objects.get(previous=assessment)
    assert following.due_date == D(2027, 11, 30) and following.state == RiskAssessmentState.SCHEDULED
    assert clock_of(following).due_on == D(2027, 11, 30) and clock_of(following).state == DeadlineState.OPEN
    completed = AuditEvent.objects.get(action="security.risk_assessment.completed")
    assert completed.data["late"] is True and completed.data["next"] == following.pk
    assert completed.data["level"] == "medium"


def test_the_cycle_adds_months_to_the_due_date():
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert add_months(D(2027, 8, 31), 6) == D(2028, 2, 29)
    assert add_months(D(2026, 11, 30), 12) == D(2027, 11, 30)


def test_long_overdue_work_schedules_the_next_date_still_ahead(freeze_today, security_admin, dept):
    freeze_today(D(2026, 1, 5))
    assessment = risk_assessment_schedule(actor=security_admin, department_id=dept.pk, cycle="6",
                                          due_date=D(2026, 2, 27))
    freeze_today(D(2026, 9, 1))
    risk_assessment_complete(actor=security_admin, assessment_id=assessment.pk, level="low", findings="无")
    assert RiskAssessment.objects.get(previous=assessment).due_date == D(2027, 2, 27)


def test_the_service_refuses_what_it_should(freeze_today, security_admin, reviewer, dept):
    freeze_today(D(2026, 11, 2))
    with pytest.raises(PermissionDenied):
        risk_assessment_schedule(actor=reviewer, department_id=dept.pk, cycle="12", due_date=D(2026, 12, 1))
    for values, field in [({"due_date": D(2026, 11, 2)}, "due_date"), ({"cycle": "7"}, "cycle"),
                          ({"department_id": 999999}, "department")]:
        with pytest.raises(PortalError) as refused:
            risk_assessment_schedule(actor=security_admin, **{"department_id": dept.pk, "cycle": "12",
                                                              "due_date": D(2026, 12, 1), **values})
        assert field in refused.value.errors
    assessment = risk_assessment_schedule(actor=security_admin, department_id=dept.pk, cycle="12",
                                          due_date=D(2026, 12, 1))
    with pytest.raises(InvalidTransition) as twice:
        risk_assessment_schedule(actor=security_admin, department_id=dept.pk, cycle="6", due_date=D(2026, 12, 9))
    assert twice.value.code == "already_scheduled"
    with pytest.raises(PermissionDenied):
        risk_assessment_complete(actor=reviewer, assessment_id=assessment.pk, level="low", findings="无")
    with pytest.raises(PortalError):
        risk_assessment_complete(actor=security_admin, assessment_id=assessment.pk, level="low", findings=" ")
    risk_assessment_complete(actor=security_admin, assessment_id=assessment.pk, level="low", findings="无")
    with pytest.raises(InvalidTransition):
        risk_assessment_complete(actor=security_admin, assessment_id=assessment.pk, level="low", findings="再次")
    assert RiskAssessment.objects.count() == 2


def test_the_api_schedules_and_completes(api_as, freeze_today, security_admin, reviewer, dept):
    freeze_today(D(2026, 11, 2))
    api = api_as(security_admin)
    created = api.post(API, {"department": dept.pk, "cycle": "6", "due_date": "2026-12-15"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["overdue"] is False and body["remaining_working_days"] > 0 and body["cycle_label"] == "每半年"
    assert api.post(API, {"department": dept.pk, "cycle": "6", "due_date": "２０２６-12-15"},
                    format="json").status_code == 400
    done = api.post(f"{API}{body['id']}/complete/", {"level": "high", "findings": "需整改"}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "completed"
    reader = api_as(reviewer)
    scheduled = reader.get(f"{API}?state=scheduled&department={dept.pk}").json()["results"]
    assert [r["due_date"] for r in scheduled] == ["2027-06-15"]
    assert reader.get(API + "?state=late").status_code == 400


@pytest.fixture
def people(db, system_admin, security_admin, audit_admin, reviewer, staff, head, county_bureau_user, bureau):
    return {"anonymous": None, "system_admin": system_admin, "security_admin": security_admin,
            "audit_admin": audit_admin, "reviewer": reviewer, "staff": staff, "head": head,
            "county": county_bureau_user, "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor")}


def test_the_security_admin_keeps_the_register_and_the_reviewer_reads_it(people, security_admin, dept,
                                                                           freeze_today):
    freeze_today(D(2026, 11, 2))
    assessment = risk_assessment_schedule(actor=security_admin, department_id=dept.pk, cycle="12",
                                          due_date=D(2026, 12, 1))
    business = ("staff", "head", "county", "assessor")
    others = {"system_admin": 404, "audit_admin": 404, **dict.fromkeys(business, 404)}
    check_matrix(people, [
        Row("get", reverse("security:risk-list"), {"anonymous": LOGIN, "security_admin": 200, "reviewer": 200,
                                                   **others}),
        Row("get", assessment.get_absolute_url(), {"anonymous": LOGIN, "security_admin": 200, "reviewer": 200,
                                                   **others}),
        Row("post", reverse("security:risk-complete", args=[assessment.pk]),
            {"anonymous": LOGIN, "security_admin": 302, "reviewer": 403, **others},
            {"level": "low", "findings": "无"}),
        Row("post", reverse("security:risk-list"), {"security_admin": 302, "reviewer": 403},
            {"department": people["security_admin"].department_id, "cycle": "12", "due_date": "2027-01-05"}),
    ], isolated=True)
    api_others = {"system_admin": 404, "audit_admin": 404, **dict.fromkeys(business, 403)}
    check_matrix(people, [
        Row("get", API, {"anonymous": 401, "security_admin": 200, "reviewer": 200, **api_others}),
        Row("post", f"{API}{assessment.pk}/complete/", {"anonymous": 401, "security_admin": 200, "reviewer": 403,
                                                        **api_others}, {"level": "low", "findings": "无"}),
        Row("get", f"{API}{assessment.pk + 1000}/", {"security_admin": 404, "reviewer": 404}),
    ], api=True, isolated=True)
    assessment.refresh_from_db()
    assert assessment.state == RiskAssessmentState.SCHEDULED  # each cell was rolled back


def test_the_desk_links_the_register(web_as, security_admin):
    html = web_as(security_admin).get(reverse("security:index")).content.decode()
    assert f'href="{reverse("security:risk-list")}"' in html
