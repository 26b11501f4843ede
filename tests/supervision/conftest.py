"""Fixtures of the supervision tests: the assessor (city), a county department's staff."""

import pytest

from portal.choices import Role
from tests.factories import DepartmentFactory, make_user, region, user_fixture

assessor = user_fixture(Role.ASSESSOR, "bureau", "assessor")


@pytest.fixture
def county_dept(db):
    return DepartmentFactory(name="修武县公安局(测试)", short_name="修武公安", region=region("410821"))


county_staff = user_fixture(Role.DEPT_STAFF, "county_dept", "county_staff")


@pytest.fixture
def other_county_bureau_user(db):
    from tests.factories import county_bureau_department

    return make_user(Role.COUNTY_BUREAU, department=county_bureau_department("410822"), username="county2")
