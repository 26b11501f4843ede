"""Builders of the aggregation tests (plain functions, imported by name): catalog entries and datasets, subject
keys, CSV files and uploads, a file loaded through a job, rows upserted through the pool's service.

The fixtures built on them (approved entries, datasets with records) are in tests/aggregation/conftest.py.
Entries are created directly in their approved state (the catalog's workflow has its own tests); datasets and
records go through the aggregation services (dataset_ensure, records_upsert, ingest jobs), as in production.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, fields

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from stdnum.cn import ric

from aggregation.demo import credit_code as gen_credit_code
from aggregation.demo import id_number as gen_id_number
from aggregation.models import IngestJob
from aggregation.selectors.ingest import report_csv
from aggregation.services.ingest import ingest_job_create, ingest_job_run
from aggregation.storage import reading
from aggregation.storage.reading import Row
from catalog.models import CatalogEntry, Classification, DataItem
from portal.demo import demo_credit_code
from tests.factories import grant_resource_defaults

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
    grant_resource_defaults(entry_ids=[entry.pk])
    return entry


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
    job = ingest_job_create(actor=staff, entry=entry, upload=upload(content, name), **kwargs)
    if job.status == "pending" and job.mapping:
        return ingest_job_run(job_id=job.pk)
    return job


_catalog_seq = itertools.count(1)


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


def _catalog_entry(department, *, name: str, items, classification: str = "101", share_type: str = "1",
               update_cycle: str = "daily") -> CatalogEntry:
    """An approved entry of `department`; items = [(name, data_type, is_subject_key, is_base_item)]."""
    n = next(_catalog_seq)
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
    grant_resource_defaults(entry_ids=[entry.pk])
    return entry


def make_dataset(department, **kwargs):
    from aggregation.services.pools import dataset_ensure

    return dataset_ensure(entry=_catalog_entry(department, **kwargs))


@dataclass(slots=True)
class LoadedRow(Row):
    """A reading.Row as `load` gives it. `pk`: its id, for the tests still written against Record (transitional:
    tests/conftest.py's person_record, whose callers other files hold; new code says `.id`)."""

    @property
    def pk(self) -> int:
        return self.id


def load(dataset, rows, actor=None, reason="测试数据"):
    """Upsert rows through the storage service; returns {key as given: its table row} (aggregation.storage.reading.Row
    read by key, deleted included: what the product wrote, whichever path wrote it)."""
    from aggregation.services.pools import records_upsert

    with transaction.atomic():
        result = records_upsert(actor=actor, dataset=dataset, rows=rows, reason=reason)
    assert not result.rejected, result.rejected
    dataset.refresh_from_db()
    keys = [row[dataset.key_item_name] for row in rows]
    return {key: _loaded(reading.by_key(dataset, key, include_deleted=True)) for key in keys}


def _loaded(row) -> LoadedRow:
    assert row is not None, "a loaded row is not in its table"
    return LoadedRow(**{f.name: getattr(row, f.name) for f in fields(row)})


def report_rows(job, *, full: bool = False) -> list[list[str]]:
    """A job's rejected-rows report as downloaded (header first): values as uploaded with `full` (the loader), else
    masked (any other reader)."""
    text = b"".join(report_csv(job, full=full)).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def table_rows(dataset=None, *, include_deleted: bool = True) -> int:
    """Rows of the resource table of `dataset` (default: of every dataset that has one): what both write paths leave
    there (AGGREGATION["WRITE_RECORDS"] on: mirrored from aggregation_record; off: written directly)."""
    from aggregation.models import Dataset

    datasets = [dataset] if dataset is not None else Dataset.objects.order_by("pk")
    return sum(reading.count(d, include_deleted=include_deleted) for d in datasets if d.columns)
