"""Chapter 3's API list parameters (aggregation.api.filters) and the query parameters of the theme rows and the push:
valid ones filter as before, bad ones are refused."""

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aggregation.models import QualityReport
from aggregation.services import quality, themes, verification
from tests.aggregation.builders import ids
from tests.api_params import BAD_CHOICES, BAD_INTEGERS, assert_invalid
from tests.support import stored_count

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
CASES = "/api/v1/aggregation/verification-cases/"


@pytest.fixture
def case(person_record, person_dataset, other_staff, staff):
    return verification.verification_case_file(
        actor=other_staff, record_id=person_record.id, dataset_id=person_dataset.pk, fields=["姓名"],
        description="姓名与户籍证明不一致",
        evidence=[SimpleUploadedFile("证明.pdf", b"%PDF-1.4\nevidence", content_type="application/pdf")],
    )


def test_verification_case_filters(case, api_as, staff, other_staff):
    def ids_of(user, **q):
        return [c["id"] for c in api_as(user).get(CASES, q).json()["results"]]

    assert ids_of(other_staff, side="filed") == ids_of(other_staff, state="open") == [case.pk]
    assert ids_of(other_staff, side="received") == ids_of(other_staff, state="confirmed") == []
    assert ids_of(staff, side="received", state="open") == ids_of(staff) == [case.pk]
    assert ids_of(staff, side="filed") == []


@pytest.mark.parametrize("name", ["state", "side"])
@pytest.mark.parametrize("value", BAD_CHOICES)
def test_verification_case_list_refuses_bad_values(api_as, staff, name, value):
    assert_invalid(api_as(staff).get(CASES, {name: value}), name)


def test_quality_department_filter(person_dataset, person_records, reviewer, staff, other_staff, api_as):
    quality.quality_compute(dataset=person_dataset, day=dt.date(2026, 11, 25))
    assert QualityReport.objects.count() == 1
    listed = lambda **q: [r["dataset_name"] for r in api_as(reviewer).get(  # noqa: E731
        reverse("aggregation-quality-list"), q).json()]
    assert listed(department=str(staff.department_id)) == listed() == ["户籍人口基本信息"]
    assert listed(department=str(other_staff.department_id)) == []


@pytest.mark.parametrize("value", [*BAD_INTEGERS, "0"])
def test_quality_list_refuses_bad_values(api_as, reviewer, value):
    assert_invalid(api_as(reviewer).get(reverse("aggregation-quality-list"), {"department": value}), "department")


@pytest.fixture
def built_theme(person_dataset, person_records, staff, django_capture_on_commit_callbacks):
    t = themes.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    with django_capture_on_commit_callbacks(execute=False):
        job = themes.theme_rebuild_request(actor=staff, theme_id=t.pk)
    themes.theme_build(job_id=job.pk)
    return t


def test_theme_rows_after_and_limit(built_theme, api_as, staff):
    url = reverse("aggregation-theme-rows", args=[built_theme.pk])
    client = api_as(staff)
    first = client.get(url, {"limit": "1"}).json()
    assert len(first["results"]) == 1 and first["next"]
    rest = client.get(url, {"after": str(first["next"]), "limit": "0"}).json()  # 0: the default page size
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert len(client.get(url, {"after": "", "limit": "100000"}).json()["results"]) == 2


@pytest.mark.parametrize("name", ["after", "limit"])
@pytest.mark.parametrize("value", BAD_INTEGERS)
def test_theme_rows_refuse_bad_values(built_theme, api_as, staff, name, value):
    url = reverse("aggregation-theme-rows", args=[built_theme.pk])
    assert_invalid(api_as(staff).get(url, {name: value}), name)


@pytest.mark.parametrize("value", BAD_CHOICES)
def test_push_refuses_a_bad_mode_and_writes_nothing(people_entry, api_as, staff, value):
    query = urlencode({"mode": value})
    response = api_as(staff).post(f"/api/v1/data/{people_entry.resource_key}/records/?{query}",
                                  [{"公民身份号码": ids(1)[0]}], format="json")
    assert_invalid(response, "mode")
    assert stored_count() == 0
