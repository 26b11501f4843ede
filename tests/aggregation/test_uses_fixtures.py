"""Fixtures of the uses part's tests (no tests here): approved entries, datasets, records, URLs.

Imported by the other test_uses_* modules with `from tests.aggregation.test_uses_fixtures import *`.
Pages and API are reached through the project's URLconf (config/urls.py mounts aggregation.urls, which
includes aggregation.uses_urls; config/api_urls.py mounts aggregation.api.urls, which includes ours).
Entries are created directly in their approved state (the catalog's workflow has its own tests); datasets and
records go through the storage part's services (dataset_ensure, records_upsert), as in production.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from stdnum.cn import ric

from catalog.models import CatalogEntry, Classification, DataItem
from portal.choices import Role
from portal.demo import demo_credit_code
from tests.factories import make_user

_seq = itertools.count(1)


def id_number(n: int, born: str = "19900101", area: str = "410802") -> str:
    """A check-valid 18-digit ID number (GB 11643) for serial n."""
    first17 = f"{area}{born}{n % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def credit_code(n: int) -> str:
    return demo_credit_code("410800", 7000 + n)


PERSON_ITEMS = [
    ("身份证号码", "C", True, True),
    ("姓名", "C", False, True),
    ("性别", "C", False, True),
    ("户籍地址", "C", False, True),
    ("联系电话", "C", False, False),
]


def make_entry(department, *, name: str, items, classification: str = "101", share_type: str = "1",
               update_cycle: str = "daily") -> CatalogEntry:
    """An approved entry of `department`; items = [(name, data_type, is_subject_key, is_base_item)]."""
    n = next(_seq)
    entry = CatalogEntry.objects.create(
        code=f"{classification}/{department.credit_code}{n:04d}", classification=Classification.objects.get(
            code=classification), name=name, provider=department, provider_code=department.credit_code,
        summary=name, format_class="db", format_type="PostgreSQL", share_type=share_type,
        share_condition="依申请" if share_type == "2" else "", no_share_basis="依法" if share_type == "3" else "",
        exchange_methods=["api"], update_cycle=update_cycle, state="approved", version=1,
    )
    for position, (item, data_type, key, base) in enumerate(items, start=1):
        DataItem.objects.create(entry=entry, position=position, name=item, data_type=data_type, length=200,
                                is_subject_key=key, is_base_item=base)
    return entry


def make_dataset(department, **kwargs):
    from aggregation.services import dataset_ensure

    return dataset_ensure(entry=make_entry(department, **kwargs))


def load(dataset, rows, actor=None, reason="测试数据"):
    """Upsert rows through the storage service; returns {normalised key: Record}."""
    from aggregation.models import Record
    from aggregation.services import records_upsert

    with transaction.atomic():
        result = records_upsert(actor=actor, dataset=dataset, rows=rows, reason=reason)
    assert not result.rejected, result.rejected
    dataset.refresh_from_db()
    from security.crypto import blind_index

    keys = [row[dataset.key_item_name] for row in rows]
    return {key: Record.objects.get(dataset=dataset, key_hash=blind_index(key)) for key in keys}


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


__all__ = [
    "PERSON_ITEMS", "credit_code", "id_number", "load", "make_dataset", "make_entry", "other_head",
    "person_dataset", "person_record", "person_records",
]
