"""Each indicator on a constructed year with known answers (tests/supervision/assessment_builders.py), the scoring
rule, the registry, and recomputation giving the same figures."""

import datetime as dt
from decimal import Decimal

import pytest

from supervision import indicators
from supervision.choices import AssessmentState, Grade
from supervision.models import AssessmentScore
from supervision.services import assessments as services

from .assessment_builders import EXPECTED_DEPT, YEAR, build_year

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 7)


@pytest.fixture
def year_ids(dept, other_dept, security_admin, monkeypatch):
    return build_year(dept, other_dept, security_admin, monkeypatch)


def figures(key, dept_ids):
    return indicators.get(key).compute(indicators.Period.of(YEAR, TODAY), dept_ids)


def test_default_weights_total_100_and_cover_the_four_blocks():
    rows = indicators.default_set()
    assert sum(i.weight for i in rows) == 100
    assert {i.block for i in rows} == {"collection", "sharing", "application", "security"}


def test_catalog_completeness(year_ids, dept, other_dept):
    f = figures("catalog_completeness", [dept.pk, other_dept.pk])
    ids = year_ids
    assert f[dept.pk].counted == sorted([ids["e1"], ids["e2"], ids["e4"], ids["e6"], ids["e7"]])
    assert f[dept.pk].failed == sorted([ids["e2"], ids["e6"]])  # a draft; an entry whose line was retired
    assert other_dept.pk not in f


def test_catalog_accuracy(year_ids, dept):
    f = figures("catalog_accuracy", [dept.pk])[dept.pk]
    assert f.counted == sorted([year_ids["r1"], year_ids["r2"], year_ids["r3"]])
    assert f.failed == [year_ids["r2"]]
    assert (f.numerator, f.denominator) == (2, 3)


def test_data_timeliness_reads_loads_up_to_the_year_end(year_ids, dept):
    f = figures("data_timeliness", [dept.pk])[dept.pk]
    assert f.counted == sorted([year_ids["l1"], year_ids["l4"], year_ids["l7"]])
    assert f.failed == sorted([year_ids["l4"], year_ids["l7"]])


def test_data_timeliness_is_the_catalogs_rule():
    from catalog.timeliness import on_cycle

    assert on_cycle("monthly", dt.date(2025, 12, 1), dt.date(2026, 1, 1))
    assert not on_cycle("monthly", dt.date(2025, 11, 30), dt.date(2026, 1, 1))
    assert on_cycle("realtime", dt.date(2025, 12, 30), dt.date(2025, 12, 31))
    assert on_cycle("other", dt.date(2020, 1, 1), dt.date(2026, 1, 1))
    assert not on_cycle("other", None, dt.date(2026, 1, 1))


def test_data_quality(year_ids, dept):
    f = figures("data_quality", [dept.pk])[dept.pk]
    assert f.counted == sorted([year_ids["q1"], year_ids["q4"]])
    assert f.failed == [year_ids["q4"]]


def test_sharing_on_time(year_ids, dept):
    f = figures("sharing_on_time", [dept.pk])[dept.pk]
    assert f.counted == sorted([year_ids["s1"], year_ids["s2"], year_ids["s3"]])
    assert f.failed == sorted([year_ids["s2"], year_ids["s3"]])


def test_verification_on_time_counts_an_approved_extension(year_ids, dept, other_dept):
    f = figures("verification_on_time", [dept.pk, other_dept.pk])
    assert (f[dept.pk].counted, f[dept.pk].failed) == ([year_ids["v1"]], [])
    assert f[other_dept.pk].failed == [year_ids["v2"]]


def test_security_incidents_deduct_and_veto(year_ids, dept, other_dept):
    f = figures("security_incidents", [dept.pk, other_dept.pk])
    assert (f[dept.pk].counted, f[dept.pk].deduction, f[dept.pk].veto) == ([year_ids["i1"]], Decimal(2), False)
    assert (f[other_dept.pk].counted, f[other_dept.pk].veto) == ([year_ids["i2"]], True)


def test_points_rule():
    rate = indicators.get("sharing_on_time")
    assert indicators.points(rate, 15, indicators.Figure(numerator=Decimal(1), denominator=3)) == (
        Decimal("0.3333"), Decimal("5.00"))
    nothing = indicators.Figure(numerator=Decimal(0), denominator=0)
    assert indicators.points(rate, 15, nothing) == (None, Decimal("15.00"))
    ded = indicators.get("security_incidents")
    assert indicators.points(ded, 10, indicators.Figure(deduction=Decimal(12)))[1] == Decimal("0.00")


def compute(assessor, assessment, monkeypatch):
    monkeypatch.setattr("supervision.services.assessments.enqueue", lambda *a: None)
    run = services.assessment_compute(actor=assessor, assessment_id=assessment.pk)
    services.assessment_run_execute(run_id=run.pk, today=TODAY)
    assessment.refresh_from_db()
    return assessment


def snapshot(assessment):
    return sorted(AssessmentScore.objects.filter(assessment=assessment).values_list(
        "department_id", "indicator__key", "numerator", "denominator", "rate", "points", "counted_ids",
        "failed_ids", "veto"))


def test_compute_scores_results_and_recompute_gives_the_same_figures(year_ids, assessor, dept, other_dept,
                                                                      monkeypatch, audit_log):
    assessment = services.assessment_create(actor=assessor, year=YEAR)
    compute(assessor, assessment, monkeypatch)
    assert assessment.state == AssessmentState.COMPUTED
    scores = {s.indicator.key: s for s in AssessmentScore.objects.filter(assessment=assessment, department=dept)
              .select_related("indicator")}
    for key, (num, den, pts) in EXPECTED_DEPT.items():
        assert (scores[key].numerator, scores[key].denominator, scores[key].points) == (num, den, pts), key
    mine = assessment.results.get(department=dept)
    theirs = assessment.results.get(department=other_dept)
    assert mine.total == Decimal("63.67") and mine.grade == Grade.PASS and not mine.veto
    assert theirs.veto and theirs.grade == Grade.FAIL and theirs.rank > mine.rank  # vetoed: after the others
    first = snapshot(assessment)
    compute(assessor, assessment, monkeypatch)
    assert snapshot(assessment) == first
    assert len(audit_log("supervision.assessment.computed")) == 2


def test_the_drill_down_shows_the_cases_as_counted(year_ids, assessor, dept, monkeypatch, client):
    from django.urls import reverse

    from supervision.selectors.assessments import evidence
    from tests.support import sign_in

    assessment = compute(assessor, services.assessment_create(actor=assessor, year=YEAR), monkeypatch)
    score = AssessmentScore.objects.get(assessment=assessment, department=dept, indicator__key="sharing_on_time")
    rows = evidence(score)
    assert [(r.id, r.failed) for r in rows] == [(year_ids["s1"], False), (year_ids["s2"], True),
                                                (year_ids["s3"], True)]
    assert "案件2" in rows[1].label and "超期办结" in rows[1].label
    sign_in(client, assessor)
    for key in EXPECTED_DEPT:
        page = client.get(reverse("supervision:assessment-evidence", args=[assessment.pk, dept.pk, key]))
        assert page.status_code == 200, key
    page = client.get(reverse("supervision:assessment-evidence", args=[assessment.pk, dept.pk, "data_quality"]))
    assert "平均完整率 95.0%" in page.content.decode()


def test_projects_completed_with_resources_missing_from_the_catalog_count_against_their_department(
        staff, reviewer, dept, other_dept):
    from portal.services.workdays import local_today
    from supervision.choices import ProjectState
    from supervision.indicators.base import Period
    from supervision.indicators.supervision import project_catalog
    from tests.supervision.helpers import catalog_entry, make_project

    catalog_entry(dept, "企业信用信息")
    done = make_project(staff, reviewer, state=ProjectState.COMPLETED, name="信用平台", names=("企业信用信息",))
    flagged = make_project(staff, reviewer, state=ProjectState.COMPLETED, name="救助平台",
                           names=("困难群众动态监测信息",))
    make_project(staff, reviewer, state=ProjectState.UNDER_CONSTRUCTION, name="在建平台", names=("在建资源",))
    today = local_today()
    figures = project_catalog(Period.of(today.year, today), [dept.pk, other_dept.pk])
    mine = figures[dept.pk]
    assert (mine.numerator, mine.denominator) == (1, 2)
    assert mine.counted == sorted([done.pk, flagged.pk]) and mine.failed == [flagged.pk]
    assert other_dept.pk not in figures  # nothing completed: full weight by the scoring rule
