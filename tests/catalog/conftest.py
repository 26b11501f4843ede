"""Catalog fixtures: valid entry values, ready-made entries in each workflow state, county actors."""

import pytest

from catalog import hooks
from catalog.choices import ShareType
from catalog.models import Classification
from catalog.services.entries import (
    catalog_entry_approve,
    catalog_entry_save,
    catalog_entry_sign_off,
    catalog_entry_submit,
)
from portal.choices import Role
from tests.factories import DepartmentFactory, make_user, region


def entry_values(**overrides):
    """Valid values for catalog_entry_save (a 政府-部门 resource, unconditional, database format)."""
    values = {
        "classification": Classification.objects.get(code="303"),
        "name": "企业营业执照登记信息",
        "summary": "市场主体登记注册的营业执照信息，包括名称、统一社会信用代码、法定代表人等",
        "format_class": "db",
        "format_type": "PostgreSQL",
        "share_type": ShareType.UNCONDITIONAL,
        "share_condition": "",
        "no_share_basis": "",
        "exchange_methods": ["api", "query"],
        "open_type": "closed",
        "open_condition": "",
        "update_cycle": "daily",
        "related_codes": [],
        "is_secret": False,
    }
    values.update(overrides)
    return values


def entry_items(*names, key="统一社会信用代码"):
    items = [
        {
            "name": key,
            "data_type": "C",
            "length": 18,
            "is_subject_key": True,
            "is_base_item": True,
            "description": "主体标识",
        }
    ]
    for name in names or ("企业名称", "法定代表人"):
        items.append(
            {
                "name": name,
                "data_type": "C",
                "length": 100,
                "is_subject_key": False,
                "is_base_item": False,
                "description": "",
            }
        )
    return items


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


@pytest.fixture
def county_staff(county_dept):
    return make_user(Role.DEPT_STAFF, department=county_dept, username="county_staff")


@pytest.fixture
def county_head(county_dept):
    return make_user(Role.DEPT_HEAD, department=county_dept, username="county_head")


@pytest.fixture
def other_county_bureau_user(db):
    """The county bureau of 沁阳市 (410882): another region."""
    from tests.factories import county_bureau_department

    return make_user(Role.COUNTY_BUREAU, department=county_bureau_department("410882"), username="qy_bureau")


@pytest.fixture
def assessor(bureau):
    return make_user(Role.ASSESSOR, department=bureau, username="assessor")
