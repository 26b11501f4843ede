"""One data, one source (R12.1): a base data item has exactly one authoritative provider."""

import pytest

from aggregation.services import ingest as services
from catalog.one_source import base_item_claimant
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, ids, make_entry, person, upload

pytestmark = pytest.mark.django_db


def test_claimant_is_the_senior_approved_source(dept, other_dept, people_entry):
    assert base_item_claimant("姓名", people_entry.pk) is None  # the source itself
    rival = make_entry(other_dept, "另一份人口信息", PEOPLE_ITEMS)  # approved later (higher id, later date)
    rival.publish_date = people_entry.publish_date.replace(day=28)
    rival.save()
    department, entry = base_item_claimant(" 姓名 ", rival.pk)
    assert (department, entry) == (dept, people_entry)
    assert base_item_claimant("姓名", people_entry.pk) is None  # the senior source is not refused
    assert base_item_claimant("性别", rival.pk) is None  # not a base item
    draft = make_entry(other_dept, "草稿", PEOPLE_ITEMS, state="draft")
    assert base_item_claimant("姓名", draft.pk)[1] == people_entry  # what submission and approval check
    # The subject key is how every dataset about a person refers to them, not a claim to provide it.
    assert base_item_claimant("公民身份号码", draft.pk) is None
    assert base_item_claimant("姓名", None)[1] == people_entry


def test_ingestion_and_push_refuse_a_second_claimant(other_staff, other_dept, people_entry, api_as):
    rival = make_entry(other_dept, "另一份人口信息", PEOPLE_ITEMS)
    rival.publish_date = people_entry.publish_date.replace(day=28)
    rival.save()
    with pytest.raises(services.PortalError) as exc:
        services.ingest_job_create(actor=other_staff, entry=rival, upload=upload(csv_bytes([person(ids(1)[0])])))
    assert exc.value.code == "one_source"
    assert "市公安局" in str(exc.value.detail) and "户籍人口信息" in str(exc.value.detail)
    response = api_as(other_staff).post(f"/api/v1/data/{rival.resource_key}/records/",
                                        [{"公民身份号码": ids(1)[0]}], format="json")
    assert response.status_code == 400 and response.json()["code"] == "one_source"
