"""Fixtures of the aggregation tests: approved entries, a second department's head (the population dataset with its
records, which the browser tests use too: tests/conftest.py).

Pages and API are reached through the project's URLconf (portal/urls.py mounts aggregation.urls,
config/api_urls.py aggregation.api.urls). The plain builders these use are in tests/aggregation/builders.py.
"""

from __future__ import annotations

import pytest

from portal.choices import Role
from tests.aggregation.builders import FIRM_ITEMS, PEOPLE_ITEMS, make_entry
from tests.factories import user_fixture


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def people_entry(dept):
    return make_entry(dept, "户籍人口信息", PEOPLE_ITEMS)


@pytest.fixture
def firm_entry(other_dept):
    return make_entry(other_dept, "企业登记信息", FIRM_ITEMS, cls="102")


other_head = user_fixture(Role.DEPT_HEAD, "other_dept", "other_head", heads=True)
