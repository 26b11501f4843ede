"""Fixtures of the storage part's tests (no tests here): approved entries, uploads, running jobs.

Imported by test_storage_*, test_ingest_*, test_push_*, test_one_source_*, test_pool_pages_* with
`from tests.aggregation.test_storage_fixtures import *`.
"""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aggregation import services
from aggregation.demo import credit_code as gen_credit_code
from aggregation.demo import id_number as gen_id_number
from aggregation.models import IngestJob
from catalog.models import CatalogEntry, Classification, DataItem

_seq = itertools.count(1)

PEOPLE_ITEMS = [
    ("公民身份号码", "C", 18, True, True),
    ("姓名", "C", 50, False, True),
    ("性别", "C", 2, False, False),
    ("出生日期", "D", 8, False, False),
    ("户籍地址", "C", 200, False, False),
    ("联系电话", "C", 20, False, False),
    ("家庭人口", "I", 3, False, False),
]
FIRM_ITEMS = [
    ("统一社会信用代码", "C", 18, True, True),
    ("企业名称", "C", 200, False, True),
    ("注册资本", "Y", 18, False, False),
    ("成立日期", "D", 8, False, False),
    ("住所", "C", 200, False, False),
]


def make_entry(dept, name: str, items, *, cls: str = "101", state: str = "approved") -> CatalogEntry:
    n = next(_seq)
    entry = CatalogEntry.objects.create(
        code=f"{cls}/T{n:05d}" if state == "approved" else None, classification=Classification.objects.get(code=cls),
        name=name, provider=dept, provider_code=dept.credit_code, summary="测试", format_class="db",
        format_type="PostgreSQL", share_type="1", exchange_methods=["api"], update_cycle="daily", state=state,
        version=1 if state == "approved" else 0,
        publish_date=__import__("datetime").date(2026, 1, n % 28 + 1) if state == "approved" else None,
    )
    for pos, (item, data_type, length, key, base) in enumerate(items, start=1):
        DataItem.objects.create(entry=entry, position=pos, name=item, data_type=data_type, length=length,
                                is_subject_key=key, is_base_item=base)
    return entry


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def people_entry(dept):
    return make_entry(dept, "户籍人口信息", PEOPLE_ITEMS)


@pytest.fixture
def firm_entry(other_dept):
    return make_entry(other_dept, "企业登记信息", FIRM_ITEMS, cls="102")


def ids(n: int, *, start: int = 0) -> list[str]:
    import random

    rng = random.Random(1000 + start)
    out: list[str] = []
    while len(out) < n:
        number = gen_id_number(rng, area="410802")
        if number not in out:
            out.append(number)
    return out


def codes(n: int) -> list[str]:
    import random

    rng = random.Random(77)
    return [gen_credit_code(rng) for _ in range(n)]


def csv_bytes(rows: list[list[str]], *, header=None, encoding="utf-8", newline="\n", bom=False) -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header or [i[0] for i in PEOPLE_ITEMS])
    writer.writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def person(number: str, name: str = "张三", **extra) -> list[str]:
    row = [number, name, "男", "1990-03-07", "河南省焦作市解放区民主路12号", "13812345678", "3"]
    for i, (item, *_rest) in enumerate(PEOPLE_ITEMS):
        if item in extra:
            row[i] = extra[item]
    return row


def upload(content: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def submit(staff, entry, content: bytes, name: str = "people.csv", **kwargs) -> IngestJob:
    """Upload as `staff` and run the job in this process (the Celery task only calls ingest_job_run)."""
    job = services.ingest_job_create(actor=staff, entry=entry, upload=upload(content, name), **kwargs)
    if job.status == "pending" and job.mapping:
        return services.ingest_job_run(job_id=job.pk)
    return job
