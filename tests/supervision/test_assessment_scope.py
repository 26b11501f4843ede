"""One assessment per year and scope (R33): the city (no region) or one county region — a second one of the same year
and scope is refused (assessment_exists, naming the first) by the service, the page and the API; the database holds
the same rule when two creates race."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.urls import reverse

from portal.errors import InvalidTransition
from supervision.models import Assessment, AssessmentIndicator
from supervision.services import assessments as services
from tests.factories import city, region

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _today(freeze_today):
    freeze_today(TODAY)


def test_a_second_city_assessment_of_the_year_is_refused_and_nothing_is_written(assessor, audit_log):
    first = services.assessment_create(actor=assessor, year=2026)
    indicators = AssessmentIndicator.objects.count()
    for region_id in (None, city().pk):  # the city's own region is the city-wide scope too
        with pytest.raises(InvalidTransition) as exc:
            services.assessment_create(actor=assessor, year=2026, title="另一个考核", region_id=region_id)
        assert exc.value.code == "assessment_exists" and exc.value.status == 409
        assert str(exc.value.detail) == f"2026 年度全市考核已存在（#{first.pk}），请在原考核中继续"
        assert exc.value.errors == {"year": [exc.value.detail]}
    assert list(Assessment.objects.values_list("pk", flat=True)) == [first.pk]
    assert AssessmentIndicator.objects.count() == indicators
    assert len(audit_log("supervision.assessment.created")) == 1


def test_a_second_county_assessment_is_refused_whoever_opens_it(assessor, county_bureau_user):
    xiuwu = region("410821")
    first = services.assessment_create(actor=assessor, year=2026, region_id=xiuwu.pk)
    with pytest.raises(InvalidTransition) as exc:  # the county bureau opens its own region's: the same scope
        services.assessment_create(actor=county_bureau_user, year=2026)
    assert exc.value.code == "assessment_exists"
    assert str(exc.value.detail) == f"2026 年度修武县考核已存在（#{first.pk}），请在原考核中继续"
    assert Assessment.objects.count() == 1


def test_city_and_county_assessments_of_a_year_coexist_and_so_do_two_counties_and_two_years(
    assessor, county_bureau_user
):
    city_wide = services.assessment_create(actor=assessor, year=2026)
    xiuwu = services.assessment_create(actor=county_bureau_user, year=2026)
    boai = services.assessment_create(actor=assessor, year=2026, region_id=region("410822").pk)
    last_year = services.assessment_create(actor=assessor, year=2025)
    xiuwu_last_year = services.assessment_create(actor=county_bureau_user, year=2025)
    scopes = {
        (a.year, a.region.code if a.region else None) for a in (city_wide, xiuwu, boai, last_year, xiuwu_last_year)
    }
    assert scopes == {(2026, None), (2026, "410821"), (2026, "410822"), (2025, None), (2025, "410821")}
    assert Assessment.objects.count() == 5


def test_the_database_holds_the_rule_when_the_check_is_passed_by(assessor, monkeypatch, audit_log):
    """A create that passed the check while another committed meets the unique constraint: the same refusal, the
    transaction still usable, nothing written."""
    first = services.assessment_create(actor=assessor, year=2026)
    real = services._refuse_existing
    calls = []

    def late(year, region):  # the first check sees nothing yet (as in a race); the one after the constraint sees all
        calls.append(year)
        if len(calls) > 1:
            real(year, region)

    monkeypatch.setattr(services, "_refuse_existing", late)
    with pytest.raises(InvalidTransition) as exc:
        services.assessment_create(actor=assessor, year=2026)
    assert exc.value.code == "assessment_exists" and f"#{first.pk}" in str(exc.value.detail)
    assert len(calls) == 2
    assert Assessment.objects.count() == 1 and len(audit_log("supervision.assessment.created")) == 1


def test_the_page_shows_the_refusal_on_the_form(assessor, web_as):
    first = services.assessment_create(actor=assessor, year=2026)
    client = web_as(assessor)
    response = client.post(reverse("supervision:assessment-list"), {"year": 2026, "title": "重复"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"year": [f"2026 年度全市考核已存在（#{first.pk}），请在原考核中继续"]}
    assert f"2026 年度全市考核已存在（#{first.pk}）" in response.content.decode()
    assert Assessment.objects.count() == 1
    county = client.post(reverse("supervision:assessment-list"), {"year": 2026, "region": region("410821").pk})
    assert county.status_code == 302 and Assessment.objects.count() == 2  # another scope: opened


def test_the_api_answers_409_with_the_code(assessor, api_as):
    api = api_as(assessor)
    created = api.post(reverse("supervision-assessment-list"), {"year": 2026}, format="json")
    assert created.status_code == 201, created.content
    again = api.post(reverse("supervision-assessment-list"), {"year": 2026, "title": "重复"}, format="json")
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "assessment_exists"
    assert body["detail"] == f"2026 年度全市考核已存在（#{created.json()['id']}），请在原考核中继续"
    assert Assessment.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # each thread commits in its own session
def test_two_concurrent_creates_leave_exactly_one(assessor):
    barrier, created, refused, errors = threading.Barrier(2), [], [], []

    def run():
        try:
            barrier.wait(timeout=10)
            created.append(services.assessment_create(actor=assessor, year=2026).pk)
        except InvalidTransition as exc:
            refused.append(exc.code)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(created) == 1 and refused == ["assessment_exists"]
    assert list(Assessment.objects.values_list("pk", flat=True)) == created
