"""Fixtures of the aggregation tests: approved entries, datasets with records, a second department's head.

Pages and API are reached through the project's URLconf (portal/urls.py mounts aggregation.urls,
config/api_urls.py aggregation.api.urls). The plain builders these use are in tests/aggregation/builders.py.
"""

from __future__ import annotations

import pytest

from portal.choices import Role
from tests.aggregation.builders import FIRM_ITEMS, PEOPLE_ITEMS, PERSON_ITEMS, id_number, load, make_dataset, make_entry
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def people_entry(dept):
    return make_entry(dept, "户籍人口信息", PEOPLE_ITEMS)


@pytest.fixture
def firm_entry(other_dept):
    return make_entry(other_dept, "企业登记信息", FIRM_ITEMS, cls="102")


@pytest.fixture
def other_head(other_dept):
    user = make_user(Role.DEPT_HEAD, department=other_dept, username="other_head")
    other_dept.head = user
    other_dept.save(update_fields=["head"])
    return user


@pytest.fixture
def person_dataset(dept):
    """市公安局's population resource (unconditional, base items), keyed by ID number."""
    return make_dataset(dept, name="户籍人口基本信息", items=PERSON_ITEMS)


@pytest.fixture
def person_records(person_dataset, staff):
    rows = [
        {"身份证号码": id_number(1), "姓名": "张三", "性别": "男", "户籍地址": "焦作市解放区民主路12号",
         "联系电话": "13800001111"},
        {"身份证号码": id_number(2), "姓名": "李小明", "性别": "男", "户籍地址": "焦作市山阳区人民路3号",
         "联系电话": ""},
    ]
    return load(person_dataset, rows, actor=staff)


@pytest.fixture
def person_record(person_records):
    return person_records[id_number(1)]
