"""Catalog fixtures: ready-made entries in each workflow state, county actors, the permission matrices' people (valid
entry values: tests/catalog/helpers.py)."""

import pytest

from catalog import hooks
from catalog.services.entries import (
    catalog_entry_approve,
    catalog_entry_save,
    catalog_entry_sign_off,
    catalog_entry_submit,
)
from portal.choices import Role
from tests.catalog.helpers import entry_items, entry_values
from tests.factories import DepartmentFactory, make_user, region, user_fixture


@pytest.fixture
def data_arrivals(monkeypatch):
    """Stands in for the aggregation chapter's data-arrivals provider (catalog.hooks) during one test:
    data_arrivals(provider) registers `provider`, data_arrivals(None) leaves none registered; restored afterwards."""
    monkeypatch.setattr(hooks, "_providers", dict(hooks._providers))

    def _set(provider):
        if provider is None:
            hooks._providers.pop("data_arrivals", None)
        else:
            hooks.register_data_arrivals(provider)

    return _set


@pytest.fixture
def make_entry(staff):
    """make_entry(user=staff, items=None, **values) -> a saved draft of the user's department."""

    def _make(user=None, items=None, **values):
        user = user or staff
        return catalog_entry_save(
            actor=user,
            department=user.department,
            values=entry_values(**values),
            items=entry_items() if items is None else items,
        )

    return _make


@pytest.fixture
def bureau_review_entry(make_entry, staff, head, bureau):
    """A city department's entry waiting in bureau review (submitted and signed off)."""

    def _make(**values):
        entry = make_entry(**values)
        catalog_entry_submit(actor=staff, entry_id=entry.pk)
        return catalog_entry_sign_off(actor=head, entry_id=entry.pk)

    return _make


@pytest.fixture
def approved_entry(bureau_review_entry, reviewer):
    def _make(**values):
        entry = bureau_review_entry(**values)
        return catalog_entry_approve(actor=reviewer, entry_id=entry.pk)

    return _make


@pytest.fixture
def county_dept(db):
    """A department of 修武县 (410821): its filings go through the county bureau."""
    return DepartmentFactory(name="修武县公安局(测试)", short_name="修武公安", region=region("410821"))


county_staff = user_fixture(Role.DEPT_STAFF, "county_dept", "county_staff")
county_head = user_fixture(Role.DEPT_HEAD, "county_dept", "county_head")  # not made the department's head


@pytest.fixture
def other_county_bureau_user(db):
    """The county bureau of 沁阳市 (410882): another region."""
    from tests.factories import county_bureau_department

    return make_user(Role.COUNTY_BUREAU, department=county_bureau_department("410882"), username="qy_bureau")


assessor = user_fixture(Role.ASSESSOR, "bureau", "assessor")


@pytest.fixture
def matrix_people(staff, other_staff, county_bureau_user, other_county_bureau_user, reviewer):
    """The people of the catalog's permission matrices (tests.permissions.check_matrix): a city department's staff,
    another city department's staff, the county bureaus of 修武县 (county_own) and 沁阳市, the reviewer, anonymous."""
    return {
        "staff": staff,
        "other_staff": other_staff,
        "county_own": county_bureau_user,
        "county_other": other_county_bureau_user,
        "reviewer": reviewer,
        "anonymous": None,
    }
