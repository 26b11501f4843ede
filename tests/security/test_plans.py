"""Emergency plans (R31): documents checked by the kernel's upload rule, with a review date; a plan past it is
flagged overdue; reviews move it on; pages, API, who may do what, audit events."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.choices import Role
from portal.errors import PermissionDenied, PortalError
from portal.models import AuditEvent
from security.models import EmergencyPlan
from security.services.plans import emergency_plan_file, emergency_plan_review
from tests.factories import make_user
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db

API = "/api/v1/security/emergency-plans/"
D = dt.date


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pdf(name="网络安全事件应急预案.pdf", body=b"%PDF-1.7\nplan"):
    return SimpleUploadedFile(name, body, content_type="application/pdf")


@pytest.fixture
def plan(freeze_today, security_admin):
    freeze_today(D(2026, 11, 2))
    return emergency_plan_file(actor=security_admin, title="数据泄露应急预案", summary="平台数据泄露",
                               document=pdf(), review_date=D(2026, 12, 31))


def test_a_plan_is_filed_flagged_when_its_review_is_overdue_and_reviewed(web_as, api_as, freeze_today,
                                                                          security_admin, reviewer):
    freeze_today(D(2026, 11, 2))
    client = web_as(security_admin)
    response = client.post(reverse("security:plan-list"), {
        "title": "网络安全事件应急预案", "summary": "适用于平台", "document": pdf(), "review_date": "2026-12-31"})
    plan = EmergencyPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == plan.get_absolute_url()
    assert plan.original_name == "网络安全事件应急预案.pdf" and plan.content_type == "application/pdf"
    assert len(plan.sha256) == 64 and not plan.review_overdue
    filed = AuditEvent.objects.get(action="security.emergency_plan.filed")
    assert filed.actor == security_admin and filed.data["document"]["sha256"] == plan.sha256

    download = api_as(reviewer).get(reverse("security:plan-document", args=[plan.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="security.emergency_plan.downloaded", actor=reviewer).exists()

    freeze_today(D(2026, 12, 31))  # due today: not yet overdue
    assert 'data-testid="overdue"' not in client.get(reverse("security:plan-list")).content.decode()
    freeze_today(D(2027, 1, 1))
    assert 'data-testid="overdue"' in client.get(reverse("security:plan-list")).content.decode()
    assert [p["id"] for p in client.get(API + "?overdue=true").json()["results"]] == [plan.pk]
    assert client.get(API + "?overdue=false").json()["results"] == []

    client.post(plan.get_absolute_url(), {"note": "已按新架构修订", "next_review_date": "2027-12-31",
                                          "document": pdf("修订版.pdf", b"%PDF-1.7\nrevised")})
    plan.refresh_from_db()
    assert plan.review_date == D(2027, 12, 31) and plan.last_reviewed_on == D(2027, 1, 1)
    assert plan.original_name == "修订版.pdf" and not plan.review_overdue
    reviewed = AuditEvent.objects.get(action="security.emergency_plan.reviewed")
    assert reviewed.data["was_overdue"] is True and reviewed.data["review_date"] == {"old": "2026-12-31",
                                                                                     "new": "2027-12-31"}


def test_the_document_is_checked_by_the_kernel_upload_rule(web_as, freeze_today, security_admin):
    freeze_today(D(2026, 11, 2))
    client = web_as(security_admin)
    for document, problem in [(pdf("预案.exe"), "类型不允许"), (pdf("预案.pdf", b"MZ\x90\x00"), "内容与扩展名不符"),
                              (pdf("预案.pdf", b""), "空文件"),
                              (pdf("预案.pdf", b"%PDF" + bytes(10 * 2**20)), "超过 10 MB")]:
        response = client.post(reverse("security:plan-list"), {"title": "预案", "document": document,
                                                               "review_date": "2026-12-31"})
        assert response.status_code == 200 and problem in response.content.decode(), problem
    assert not EmergencyPlan.objects.exists()


def test_the_service_refuses_what_it_should(plan, security_admin, reviewer):
    with pytest.raises(PermissionDenied):
        emergency_plan_file(actor=reviewer, title="预案", document=pdf(), review_date=D(2026, 12, 31))
    with pytest.raises(PortalError) as past:
        emergency_plan_file(actor=security_admin, title="预案", document=pdf(), review_date=D(2026, 11, 2))
    assert "review_date" in past.value.errors
    with pytest.raises(PermissionDenied):
        emergency_plan_review(actor=reviewer, plan_id=plan.pk, note="意见", next_review_date=D(2027, 6, 1))
    with pytest.raises(PortalError) as empty:
        emergency_plan_review(actor=security_admin, plan_id=plan.pk, note=" ", next_review_date=D(2027, 6, 1))
    assert "note" in empty.value.errors
    assert EmergencyPlan.objects.count() == 1


@pytest.fixture
def people(db, system_admin, security_admin, audit_admin, reviewer, staff, head, county_bureau_user, bureau):
    return {"anonymous": None, "system_admin": system_admin, "security_admin": security_admin,
            "audit_admin": audit_admin, "reviewer": reviewer, "staff": staff, "head": head,
            "county": county_bureau_user, "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor")}


def test_the_security_admin_keeps_the_plans_and_the_reviewer_reads_them(people, plan):
    business = ("staff", "head", "county", "assessor")
    others = {"system_admin": 404, "audit_admin": 404, **dict.fromkeys(business, 404)}
    read = {"anonymous": LOGIN, "security_admin": 200, "reviewer": 200, **others}
    check_matrix(people, [
        Row("get", reverse("security:plan-list"), read),
        Row("get", plan.get_absolute_url(), read),
        Row("get", reverse("security:plan-document", args=[plan.pk]), read),
        Row("post", plan.get_absolute_url(), {"anonymous": LOGIN, "security_admin": 302, "reviewer": 403, **others},
            {"note": "意见", "next_review_date": "2027-06-01"}),
        Row("get", reverse("security:plan-detail", args=[plan.pk + 1000]), {"security_admin": 404, "reviewer": 404}),
    ], isolated=True)
    check_matrix(people, [
        Row("get", API, {"anonymous": 401, "security_admin": 200, "reviewer": 200, "system_admin": 404,
                         "audit_admin": 404, **dict.fromkeys(business, 403)}),
        Row("get", f"{API}{plan.pk}/", {"security_admin": 200, "reviewer": 200, "staff": 403}),
        Row("get", API + "?overdue=yes", {"security_admin": 400}),
    ], api=True, isolated=True)


def test_the_desk_links_the_plans(web_as, security_admin):
    html = web_as(security_admin).get(reverse("security:index")).content.decode()
    assert f'href="{reverse("security:plan-list")}"' in html
