"""The assessment's rules and transitions (R33): weights, compute, adjust, objections, publish — through the services,
the pages and the API (the same transitions), and who may do what."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from supervision import indicators
from supervision.choices import AssessmentState, Grade, ObjectionState
from supervision.models import Assessment, AssessmentAdjustment, AssessmentObjection, AssessmentScore
from supervision.services import assessments as services
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _today(freeze_today):
    freeze_today(TODAY)


@pytest.fixture
def run_now(monkeypatch):
    """The compute job runs when the service enqueues it (as the worker would, after commit)."""
    calls = []
    monkeypatch.setattr("supervision.services.assessments.enqueue", lambda name, run_id: calls.append(run_id))

    def drain():
        while calls:
            services.assessment_run_execute(run_id=calls.pop(0))
    return drain


@pytest.fixture
def computed(assessor, dept, other_dept, run_now):
    assessment = services.assessment_create(actor=assessor, year=2025)
    services.assessment_compute(actor=assessor, assessment_id=assessment.pk)
    run_now()
    assessment.refresh_from_db()
    return assessment


def test_weights_not_totalling_100_are_refused_and_nothing_is_written(assessor, audit_log):
    assessment = services.assessment_create(actor=assessor, year=2025)
    before = dict(assessment.indicators.values_list("key", "weight"))
    rows = [{"key": k, "weight": w} for k, w in before.items()]
    rows[0]["weight"] += 1
    with pytest.raises(PortalError) as exc:
        services.assessment_indicators_set(actor=assessor, assessment_id=assessment.pk, rows=rows)
    assert exc.value.code == "weights_not_100" and "101" in str(exc.value.detail)
    assert dict(assessment.indicators.values_list("key", "weight")) == before
    assert not audit_log("supervision.assessment.indicators_set")
    rows[0]["weight"] -= 11
    rows[1]["weight"] += 10
    services.assessment_indicators_set(actor=assessor, assessment_id=assessment.pk, rows=rows[:6] + rows[6:])
    assert sum(assessment.indicators.values_list("weight", flat=True)) == 100
    assert len(audit_log("supervision.assessment.indicators_set")) == 1


def test_unknown_indicator_refused(assessor):
    assessment = services.assessment_create(actor=assessor, year=2025)
    with pytest.raises(PortalError) as exc:
        services.assessment_indicators_set(actor=assessor, assessment_id=assessment.pk,
                                           rows=[{"key": "nope", "weight": 100}])
    assert exc.value.code == "unknown_indicator"


def test_indicator_set_is_frozen_after_draft(computed, assessor):
    rows = [{"key": i.key, "weight": i.weight} for i in computed.indicators.all()]
    with pytest.raises(InvalidTransition):
        services.assessment_indicators_set(actor=assessor, assessment_id=computed.pk, rows=rows)


def test_adjust_without_reason_refused(computed, assessor, dept, audit_log):
    with pytest.raises(PortalError) as exc:
        services.assessment_adjust(actor=assessor, assessment_id=computed.pk, department_id=dept.pk, delta="-3",
                                   reason="  ")
    assert exc.value.code == "reason_required"
    assert not AssessmentAdjustment.objects.exists() and not audit_log("supervision.assessment.adjusted")
    services.assessment_adjust(actor=assessor, assessment_id=computed.pk, department_id=dept.pk, delta="-3",
                               reason="目录数据经核实存在虚报", indicator_key="catalog_completeness")
    result = computed.results.get(department=dept)
    assert (result.adjustment_points, result.total, result.grade) == (Decimal(-3), Decimal(97), Grade.EXCELLENT)
    event = audit_log("supervision.assessment.adjusted")[0]
    assert event.data["reason"] == "目录数据经核实存在虚报" and event.data["delta"] == "-3.00"


def test_objection_flow_and_after_the_period_refused(computed, assessor, staff, other_staff, dept, freeze_today,
                                                     audit_log):
    with pytest.raises(NotFound):  # not yet in its objection period: departments do not see it yet
        services.assessment_object(actor=staff, assessment_id=computed.pk, reason="早了")
    services.assessment_objections_open(actor=assessor, assessment_id=computed.pk, until=TODAY + dt.timedelta(days=5))
    from portal.models import Notification
    assert Notification.objects.filter(recipient=staff, title__contains="异议期至").count() == 1
    objection = services.assessment_object(actor=staff, assessment_id=computed.pk, reason="共享申请系对方撤回",
                                           indicator_key="sharing_on_time")
    with pytest.raises(PortalError) as exc:
        services.assessment_publish(actor=assessor, assessment_id=computed.pk)
    assert exc.value.code == "objection_period_running"
    freeze_today(TODAY + dt.timedelta(days=6))
    with pytest.raises(PortalError) as exc:
        services.assessment_object(actor=other_staff, assessment_id=computed.pk, reason="晚了")
    assert exc.value.code == "objection_period_over"
    assert AssessmentObjection.objects.count() == 1
    with pytest.raises(PortalError) as exc:
        services.assessment_publish(actor=assessor, assessment_id=computed.pk)
    assert exc.value.code == "objections_unanswered"
    services.assessment_objection_answer(actor=assessor, objection_id=objection.pk, answer="经核实，扣除该案件",
                                         delta="-1.5")
    objection.refresh_from_db()
    assert objection.state == ObjectionState.ANSWERED and objection.adjustment.delta == Decimal("-1.5")
    services.assessment_publish(actor=assessor, assessment_id=computed.pk)
    computed.refresh_from_db()
    assert computed.state == AssessmentState.PUBLISHED
    assert computed.results.get(department=dept).total == Decimal("98.50")
    with pytest.raises(PortalError) as exc:
        services.assessment_object(actor=staff, assessment_id=computed.pk, reason="发布后")
    assert exc.value.code == "objection_period_over"
    with pytest.raises(InvalidTransition):
        services.assessment_compute(actor=assessor, assessment_id=computed.pk)
    assert audit_log("supervision.assessment.published")


def test_staff_cannot_run_and_other_regions_do_not_see(computed, staff, county_bureau_user, assessor):
    with pytest.raises(NotFound):  # draft/computed: not yet shown to departments
        services.assessment_compute(actor=staff, assessment_id=computed.pk)
    services.assessment_objections_open(actor=assessor, assessment_id=computed.pk, until=TODAY)
    with pytest.raises(PermissionDenied):
        services.assessment_adjust(actor=staff, assessment_id=computed.pk, department_id=staff.department_id,
                                   delta="5", reason="自评")
    with pytest.raises(NotFound):  # a county bureau runs its own region's assessments, not the city's
        services.assessment_publish(actor=county_bureau_user, assessment_id=computed.pk)


def test_county_bureau_assesses_its_region(county_bureau_user, county_dept, dept, run_now, assessor):
    assessment = services.assessment_create(actor=county_bureau_user, year=2025, region_id=None)
    assert assessment.region_id == county_dept.region_id  # a county bureau opens its own region's
    services.assessment_compute(actor=county_bureau_user, assessment_id=assessment.pk)
    run_now()
    assert set(assessment.results.values_list("department_id", flat=True)) == {county_dept.pk}
    assert Assessment.objects.restrict(assessor, "manage").filter(pk=assessment.pk).exists()  # the city sees all


def test_recompute_keeps_adjustments(computed, assessor, dept, run_now):
    services.assessment_adjust(actor=assessor, assessment_id=computed.pk, department_id=dept.pk, delta="-2",
                               reason="理由")
    services.assessment_compute(actor=assessor, assessment_id=computed.pk)
    run_now()
    assert computed.results.get(department=dept).total == Decimal(98)
    assert AssessmentScore.objects.filter(assessment=computed, department=dept).count() == len(indicators.REGISTRY)


def test_permission_matrix(computed, assessor, reviewer, staff, head, other_staff, county_bureau_user, system_admin,
                           security_admin, audit_admin, dept, other_dept):
    services.assessment_objections_open(actor=assessor, assessment_id=computed.pk, until=TODAY)
    people = {"anonymous": None, "assessor": assessor, "reviewer": reviewer, "staff": staff, "head": head,
              "other_staff": other_staff, "county": county_bureau_user, "sysadmin": system_admin,
              "secadmin": security_admin, "auditadm": audit_admin}
    nobody = {"reviewer": 404, "county": 404, "sysadmin": 404, "secadmin": 404, "auditadm": 404}
    a = computed.pk
    check_matrix(people, [
        Row("get", reverse("supervision:assessment-list"), {"anonymous": LOGIN, "assessor": 200, "staff": 200,
                                                            "head": 200, "county": 200, **{k: 404 for k in nobody
                                                                                          if k != "county"}}),
        Row("get", reverse("supervision:assessment-detail", args=[a]),
            {"anonymous": LOGIN, "assessor": 200, "staff": 200, "head": 200, "other_staff": 200, **nobody}),
        Row("get", reverse("supervision:assessment-scorecard", args=[a, dept.pk]),
            {"assessor": 200, "staff": 200, "head": 200, "other_staff": 404, **nobody}),
        Row("get", reverse("supervision:assessment-evidence", args=[a, dept.pk, "sharing_on_time"]),
            {"assessor": 200, "staff": 200, "other_staff": 404, **nobody}),
        Row("get", reverse("supervision:assessment-report-pdf", args=[a, dept.pk]),
            {"assessor": 200, "head": 200, "other_staff": 404, **nobody}),
        Row("post", reverse("supervision:assessment-adjust", args=[a]),
            {"staff": 404, "head": 404, **nobody}, body={"department": dept.pk, "delta": "1", "reason": "x"}),
        Row("post", reverse("supervision:assessment-publish", args=[a]), {"staff": 404, **nobody}),
    ], isolated=True)
    check_matrix(people, [
        Row("get", reverse("supervision-assessment-detail", args=[a]),
            {"anonymous": 401, "assessor": 200, "staff": 200, "other_staff": 200, "reviewer": 404, "county": 404,
             "sysadmin": 404, "secadmin": 404, "auditadm": 404}),
        Row("get", reverse("supervision-assessment-scores", args=[a]) + f"?department={other_dept.pk}",
            {"assessor": 200, "staff": 200},
            also=lambda who, r: None if who == "assessor" else _assert_empty(r)),
        Row("post", reverse("supervision-assessment-adjust", args=[a]),
            {"staff": 403, "head": 403, "county": 404},
            body={"department": dept.pk, "delta": "1", "reason": "x"}),
    ], api=True, isolated=True)


def _assert_empty(response):
    assert response.json() == [], "a department sees another's scores"


def test_pdf_is_a_pdf_with_the_chinese_font(computed, assessor, dept, client):
    from tests.support import sign_in

    sign_in(client, assessor)
    response = client.get(reverse("supervision:assessment-report-pdf", args=[computed.pk, dept.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert b"WenQuanYiMicroHei" in response.content


def test_api_and_pages_make_the_same_transitions(assessor, staff, dept, other_dept, run_now, api_as, client,
                                                 freeze_today):
    """The same story through the API and through the pages ends in the same rows."""
    from tests.support import sign_in

    api = api_as(assessor)
    created = api.post(reverse("supervision-assessment-list"), {"year": 2025}, format="json")
    assert created.status_code == 201, created.content
    a_api = created.json()["id"]
    sign_in(client, assessor)
    client.post(reverse("supervision:assessment-list"), {"year": 2024})  # one assessment per year and scope
    a_page = Assessment.objects.exclude(pk=a_api).get().pk
    bad = api.post(reverse("supervision-assessment-indicators", args=[a_api]),
                   {"indicators": [{"key": "sharing_on_time", "weight": 50}]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "weights_not_100"
    assert api.post(reverse("supervision-assessment-compute", args=[a_api])).status_code == 202
    client.post(reverse("supervision:assessment-compute", args=[a_page]))
    run_now()
    no_reason = api.post(reverse("supervision-assessment-adjust", args=[a_api]),
                         {"department": dept.pk, "delta": "-4", "reason": ""}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"
    api.post(reverse("supervision-assessment-adjust", args=[a_api]),
             {"department": dept.pk, "delta": "-4", "reason": "核减"}, format="json")
    client.post(reverse("supervision:assessment-adjust", args=[a_page]),
                {"department": dept.pk, "delta": "-4", "reason": "核减"})
    until = TODAY.isoformat()
    api.post(reverse("supervision-assessment-open-objections", args=[a_api]), {"until": until}, format="json")
    client.post(reverse("supervision:assessment-open-objections", args=[a_page]), {"until": until})
    staff_api = api_as(staff)
    assert staff_api.post(reverse("supervision-assessment-object", args=[a_api]), {"reason": "异议"},
                          format="json").status_code == 201
    from django.test import Client
    staff_web = Client()
    sign_in(staff_web, staff)
    staff_web.post(reverse("supervision:assessment-object", args=[a_page]), {"reason": "异议"})
    for a in (a_api, a_page):
        objection = AssessmentObjection.objects.get(assessment_id=a)
        if a == a_api:
            api.post(reverse("supervision-assessment-answer", args=[a]),
                     {"objection": objection.pk, "answer": "维持", "delta": "1"}, format="json")
        else:
            client.post(reverse("supervision:assessment-answer", args=[a, objection.pk]),
                        {"answer": "维持", "delta": "1"})
    freeze_today(TODAY + dt.timedelta(days=1))
    late = staff_api.post(reverse("supervision-assessment-object", args=[a_api]), {"reason": "再议"}, format="json")
    assert late.status_code == 400 and late.json()["code"] == "objection_period_over"
    assert api.post(reverse("supervision-assessment-publish", args=[a_api])).status_code == 200
    client.post(reverse("supervision:assessment-publish", args=[a_page]))

    def story(a):
        assessment = Assessment.objects.get(pk=a)
        return (assessment.state, sorted(assessment.results.values_list("department__name", "total", "rank", "grade")),
                sorted(assessment.adjustments.values_list("department_id", "delta", "reason")),
                sorted(assessment.objections.values_list("state", "answer")))
    assert story(a_api) == story(a_page)
    assert story(a_api)[0] == AssessmentState.PUBLISHED
    ranking = staff_api.get(reverse("supervision-assessment-results", args=[a_api])).json()
    assert {r["department"] for r in ranking} >= {dept.pk, other_dept.pk}  # published: the ranking is shown


def test_the_compute_button_enqueues_the_celery_task_by_name(assessor, dept, client, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    """The page's button → the service → after commit, the task registered as supervision.tasks.
    assessment_compute_run with the run's id; the task computes; the status partial shows it done."""
    from supervision import tasks
    from tests.support import sign_in

    sent = []
    monkeypatch.setattr(tasks.assessment_compute_run, "delay", lambda run_id: sent.append(run_id))
    assessment = services.assessment_create(actor=assessor, year=2025)
    sign_in(client, assessor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("supervision:assessment-compute", args=[assessment.pk]))
    assert response.status_code == 302
    run = assessment.runs.get()
    assert sent == [run.pk]
    page = client.get(reverse("supervision:assessment-run", args=[assessment.pk])).content.decode()
    assert "计算中" in page and 'hx-trigger="every 2s"' in page  # polled while computing
    tasks.assessment_compute_run(run.pk)
    run.refresh_from_db()
    assessment.refresh_from_db()
    assert (run.status, run.progress, assessment.state) == ("succeeded", 100, AssessmentState.COMPUTED)
    page = client.get(reverse("supervision:assessment-run", args=[assessment.pk])).content.decode()
    assert "hx-trigger" not in page and "已计算" in page


def test_a_failed_or_reaped_run_puts_the_assessment_back(computed, assessor, monkeypatch, audit_log):
    import datetime as dt_

    from django.utils import timezone

    from portal.services.jobs import reap_stale_jobs
    from supervision.indicators import REGISTRY

    monkeypatch.setattr("supervision.services.assessments.enqueue", lambda *a: None)
    # A computation that fails: the assessment keeps its previous figures (computed), the run is failed.
    run = services.assessment_compute(actor=assessor, assessment_id=computed.pk)
    broken = REGISTRY["sharing_on_time"]
    monkeypatch.setitem(REGISTRY, "sharing_on_time", broken.__class__(**{
        **broken.__dict__, "compute": lambda period, deps: 1 / 0}))
    with pytest.raises(ZeroDivisionError):
        services.assessment_run_execute(run_id=run.pk)
    computed.refresh_from_db()
    run.refresh_from_db()
    assert computed.state == AssessmentState.COMPUTED and run.status == "failed"
    scores = AssessmentScore.objects.filter(assessment=computed).count()
    assert scores == len(indicators.REGISTRY) * computed.results.count()
    # A worker that died: the kernel's reaper fails the run and puts the assessment back.
    run = services.assessment_compute(actor=assessor, assessment_id=computed.pk)
    run.status, run.started_at = "running", timezone.now() - dt_.timedelta(hours=1)
    run.save(update_fields=["status", "started_at"])
    reap_stale_jobs(now=timezone.now())
    computed.refresh_from_db()
    assert computed.state == AssessmentState.COMPUTED


def test_the_results_table_shows_each_indicator_to_the_assessor_only(computed, assessor, staff, dept, client):
    from tests.support import sign_in

    services.assessment_objections_open(actor=assessor, assessment_id=computed.pk, until=TODAY)
    services.assessment_adjust(actor=assessor, assessment_id=computed.pk, department_id=dept.pk, delta="-5",
                               reason="理由", indicator_key="data_quality")
    url = reverse("supervision:assessment-detail", args=[computed.pk])
    sign_in(client, assessor)
    page = client.get(url).content.decode()
    assert "数据质量达标率" in page and "-5.00" in page
    client.logout()
    sign_in(client, staff)
    page = client.get(url).content.decode()
    assert "数据质量达标率" not in page  # the department: its own row's total and grade, its scorecard behind it
    assert f'data-department="{dept.pk}"' in page and page.count("data-department=") == 1
