"""Fixtures of the supervision tests: the assessor (city), a county department."""

import pytest

from portal.choices import Role
from tests.factories import DepartmentFactory, region, user_fixture

assessor = user_fixture(Role.ASSESSOR, "bureau", "assessor")


@pytest.fixture
def county_dept(db):
    return DepartmentFactory(name="修武县公安局(测试)", short_name="修武公安", region=region("410821"))
