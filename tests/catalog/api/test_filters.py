"""The catalog's API list parameters (catalog.api.filters): valid ones filter as the pages do, bad ones are refused."""

import datetime as dt

import pytest

from catalog.services.update_cases import update_case_open
from tests.api_params import BAD_CHOICES, BAD_INTEGERS, BAD_TEXTS, assert_invalid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
ENTRIES = "/api/v1/catalog/entries/"
UPDATE_CASES = "/api/v1/catalog/update-cases/"


def test_entry_filters(api_as, approved_entry, make_entry, staff, other_staff):
    approved_entry(name="户籍人口基本信息", update_cycle="monthly")
    approved_entry(name="企业营业执照登记信息", share_type="2", share_condition="仅限执法")
    make_entry(name="草稿")
    client = api_as(staff)
    names = lambda **q: sorted(r["name"] for r in client.get(ENTRIES, q).json()["results"])  # noqa: E731
    assert names() == names(state="approved") == names(state="") == ["企业营业执照登记信息", "户籍人口基本信息"]
    assert names(state="draft") == ["草稿"]
    assert names(sharing_type="2") == ["企业营业执照登记信息"]
    assert names(update_cycle="monthly") == ["户籍人口基本信息"]
    assert names(provider=str(staff.department_id)) == names()
    assert names(provider=str(other_staff.department_id)) == []
    assert names(search="户籍", classification="303") == ["户籍人口基本信息"]


@pytest.mark.parametrize(("name", "values"), [
    ("provider", [*BAD_INTEGERS, "0", "-1"]),
    ("sharing_type", [*BAD_CHOICES, "4"]),
    ("update_cycle", BAD_CHOICES),
    ("state", BAD_CHOICES),
    ("search", BAD_TEXTS),
    ("classification", BAD_TEXTS),
])
def test_entry_list_refuses_bad_values(api_as, staff, name, values):
    client = api_as(staff)
    for value in values:
        assert_invalid(client.get(ENTRIES, {name: value}), name)


def test_update_case_state_filter(api_as, approved_entry, staff):
    entry = approved_entry()
    update_case_open(actor=staff, entry_id=entry.pk, trigger_kind="law_amended", trigger_date=dt.date(2026, 11, 20),
                     trigger_document="焦政〔2026〕1号")
    client = api_as(staff)
    states = lambda **q: [c["state"] for c in client.get(UPDATE_CASES, q).json()["results"]]  # noqa: E731
    assert states() == states(state="draft") == ["draft"]
    assert states(state="submitted") == []


@pytest.mark.parametrize("value", BAD_CHOICES)
def test_update_case_list_refuses_bad_values(api_as, staff, value):
    assert_invalid(api_as(staff).get(UPDATE_CASES, {"state": value}), "state")
